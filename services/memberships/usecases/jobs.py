"""Time-driven work of the memberships service. Each job runs per chain (for every chain that has work
when run by the scheduler), is idempotent for the same `as_of`, and answers what it changed."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from services.memberships import domain
from services.memberships.domain import Status
from services.memberships.repository import Repository, chains_with_work
from services.memberships.usecases.publishing import state
from shared import topics
from shared.events import MembershipActivated, MembershipExpired, MembershipExpiring, MembershipUnfrozen
from shared.uow import UnitOfWork

ChainJob = Callable[[UnitOfWork, Repository, datetime], Awaitable[list[str]]]


def per_chain(name: str, job: ChainJob) -> Callable[[UnitOfWork, str | None, datetime], Awaitable[dict[str, Any]]]:
    async def run(uow: UnitOfWork, chain_id: str | None, as_of: datetime) -> dict[str, Any]:
        chains = [chain_id] if chain_id else await chains_with_work(uow.conn, name, as_of)
        changed: list[str] = []
        for chain in chains:
            changed += await job(uow, Repository(uow.conn, chain), as_of)
        return {"count": len(changed), "memberships": changed}

    return run


Candidates = list[tuple[domain.Membership, domain.MembershipType]]


async def _candidates(repo: Repository, job: str, as_of: datetime) -> Candidates:
    found = await repo.due(job, as_of)
    types = await repo.types_by_id({m.type_id for m in found}) if found else {}
    return [(m, types[m.type_id]) for m in found]


async def auto_activate(uow: UnitOfWork, repo: Repository, as_of: datetime) -> list[str]:
    changed = []
    for m, t in await _candidates(repo, "auto_activation", as_of):
        if domain.auto_activation_due(m, t, as_of):
            after = domain.auto_activate(m, t)
            await repo.save(after, "activation", after.activated_at or as_of, detail={"cause": "auto_activation"})
            uow.publish(topics.MEMBERSHIP_ACTIVATED, after.client_id, MembershipActivated(
                **state(after, t), activated_at=after.activated_at or as_of, cause="auto_activation"))
            changed.append(after.code or after.id)
    return changed


async def expire(uow: UnitOfWork, repo: Repository, as_of: datetime) -> list[str]:
    changed = []
    for m, t in await _candidates(repo, "expiry", as_of):
        if domain.expiry_due(m, as_of):
            after = domain.expire(m)
            await repo.save(after, "expiry", as_of)
            uow.publish(topics.MEMBERSHIP_EXPIRED, after.client_id, MembershipExpired(**state(after, t)))
            changed.append(after.code or after.id)
    return changed


async def notify_expiring(uow: UnitOfWork, repo: Repository, as_of: datetime) -> list[str]:
    changed = []
    for m, t in await _candidates(repo, "expiring_notices", as_of):
        soon = domain.expiring_soon(m, t, as_of)
        if soon is None:
            continue
        # Once per state: a freeze or an edit that moves valid_until (or a top-up) earns a new notice.
        key = m.valid_until.isoformat() if soon.reason == "valid_until" and m.valid_until else str(m.visits_left)
        if await repo.mark(m.id, f"expiring:{soon.reason}:{key}"):
            uow.publish(topics.MEMBERSHIP_EXPIRING, m.client_id, MembershipExpiring(
                **state(m, t), reason=soon.reason, days_left=soon.days_left))  # type: ignore[arg-type]
            changed.append(m.code or m.id)
    return changed


async def freezes(uow: UnitOfWork, repo: Repository, as_of: datetime) -> list[str]:
    """Starts freezes whose first day has come, and ends those whose last day has passed."""
    changed = []
    today = as_of.date()
    for m, t in await _candidates(repo, "freezes", as_of):
        if domain.freeze_ended(m, today):
            after = domain.end_freeze(m)
            await repo.save(after, "unfreeze", as_of, detail={"who": "job", "reason": "freeze ended"})
            uow.publish(topics.MEMBERSHIP_UNFROZEN, after.client_id, MembershipUnfrozen(
                **state(after, t), unfrozen_at=as_of))
            changed.append(after.code or after.id)
        elif m.status != Status.FROZEN and m.frozen_on(today):
            after = domain.begin_freeze(m, today)
            await repo.save(after)
            changed.append(after.code or after.id)
    return changed


JOBS = {
    "auto_activation": (per_chain("auto_activation", auto_activate),
                        "Unused memberships activate by themselves auto_activation_days after the sale"),
    "expiry": (per_chain("expiry", expire), "Memberships past valid_until expire"),
    "expiring_notices": (per_chain("expiring_notices", notify_expiring),
                         "membership.expiring: N days before valid_until, or N visits left (per type)"),
    "freezes": (per_chain("freezes", freezes), "Planned freezes start, finished ones end"),
}
