"""Time-driven work of the memberships service. Each job runs per chain, in a transaction of its own (the
scheduler's run takes every chain that has work; shared/jobs.py), is idempotent for the same `as_of`, and
answers what it changed."""

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg

from services.memberships import domain
from services.memberships.domain import Status
from services.memberships.repository import Repository, chains_with_work
from services.memberships.usecases.publishing import state
from shared import phones, topics
from shared.events import MembershipActivated, MembershipExpired, MembershipExpiring, MembershipUnfrozen
from shared.jobs import PerChain
from shared.uow import UnitOfWork

ChainJob = Callable[[UnitOfWork, Repository, datetime], Awaitable[list[str]]]


def per_chain(name: str, job: ChainJob) -> PerChain:
    async def chains(conn: asyncpg.Connection, as_of: datetime) -> list[str]:
        return await chains_with_work(conn, name, as_of)

    async def run(uow: UnitOfWork, chain_id: str, as_of: datetime) -> dict[str, Any]:
        changed = await job(uow, Repository(uow.conn, chain_id), as_of)
        return {"count": len(changed), "memberships": changed}

    return PerChain(chains, run)


Candidates = list[tuple[domain.Membership, domain.MembershipType]]


async def _pages(repo: Repository, job: str, as_of: datetime) -> AsyncIterator[Candidates]:
    """Every candidate of the job, a page at a time (by id: however many there are, each is read once)."""
    after: str | None = None
    while found := await repo.due(job, as_of, after):
        types = await repo.types_by_id({m.type_id for m in found})
        yield [(m, types[m.type_id]) for m in found]
        after = found[-1].id


async def _candidates(
    repo: Repository, job: str, as_of: datetime
) -> AsyncIterator[tuple[domain.Membership, domain.MembershipType]]:
    async for page in _pages(repo, job, as_of):
        for candidate in page:
            yield candidate


async def auto_activate(uow: UnitOfWork, repo: Repository, as_of: datetime) -> list[str]:
    changed = []
    async for m, t in _candidates(repo, "auto_activation", as_of):
        if domain.auto_activation_due(m, t, as_of):
            after = domain.auto_activate(m, t)
            await repo.save(after, "activation", after.activated_at or as_of, detail={"cause": "auto_activation"})
            uow.publish(
                topics.MEMBERSHIP_ACTIVATED,
                after.client_id,
                MembershipActivated(
                    **state(after, t), activated_at=after.activated_at or as_of, cause="auto_activation"
                ),
            )
            changed.append(after.code or after.id)
    return changed


async def expire(uow: UnitOfWork, repo: Repository, as_of: datetime) -> list[str]:
    changed = []
    async for m, t in _candidates(repo, "expiry", as_of):
        if domain.expiry_due(m, as_of):
            after = domain.expire(m)
            await repo.save(after, "expiry", as_of)
            uow.publish(topics.MEMBERSHIP_EXPIRED, after.client_id, MembershipExpired(**state(after, t)))
            changed.append(after.code or after.id)
    return changed


def expiring_mark(m: domain.Membership, soon: domain.ExpiringSoon) -> str:
    """The mark of a state told (Repository.DUE["expiring_notices"] skips the states marked, writing it in
    SQL the same way). Once per state: a freeze or an edit that moves valid_until (or a top-up) earns a new
    notice."""
    key = m.valid_until.isoformat() if soon.reason == "valid_until" and m.valid_until else str(m.visits_left)
    return f"expiring:{soon.reason}:{key}"


async def notify_expiring(uow: UnitOfWork, repo: Repository, as_of: datetime) -> list[str]:
    changed = []
    async for page in _pages(repo, "expiring_notices", as_of):
        due = [(m, t, soon) for m, t in page if (soon := domain.expiring_soon(m, t, as_of)) is not None]
        told = await repo.mark_all([(m.id, expiring_mark(m, soon)) for m, _, soon in due]) if due else set()
        for m, t, soon in due:
            if (m.id, expiring_mark(m, soon)) in told:
                uow.publish(
                    topics.MEMBERSHIP_EXPIRING,
                    m.client_id,
                    MembershipExpiring(**state(m, t), reason=soon.reason, days_left=soon.days_left),  # type: ignore[arg-type]
                )
                changed.append(m.code or m.id)
    return changed


async def freezes(uow: UnitOfWork, repo: Repository, as_of: datetime) -> list[str]:
    """Starts freezes whose first day has come, and ends those whose last day has passed."""
    changed = []
    today = as_of.date()
    async for m, t in _candidates(repo, "freezes", as_of):
        if domain.freeze_ended(m, today):
            after = domain.end_freeze(m)
            await repo.save(after, "unfreeze", as_of, detail={"who": "job", "reason": "freeze ended"})
            uow.publish(
                topics.MEMBERSHIP_UNFROZEN, after.client_id, MembershipUnfrozen(**state(after, t), unfrozen_at=as_of)
            )
            changed.append(after.code or after.id)
        elif m.status != Status.FROZEN and m.frozen_on(today):
            after = domain.begin_freeze(m, today)
            await repo.save(after)
            changed.append(after.code or after.id)
    return changed


async def normalize_phones(uow: UnitOfWork, repo: Repository, as_of: datetime) -> list[str]:
    """Phones stored before phones were stored in E.164: each rewritten in E.164, read in the region of its
    membership's location; one that is no number is left as it is, marked, and not read again."""
    changed: list[str] = []
    after: str | None = None
    while found := await repo.due("phones", as_of, after):
        numbers = {m.id: phones.e164_at(m.phone, m.chain_id, m.location_id) for m in found}
        if fixed := [(i, n) for i, n in numbers.items() if n is not None]:
            await repo.set_phones(fixed)
        if unusable := [(i, "phone:not_a_number") for i, n in numbers.items() if n is None]:
            await repo.mark_all(unusable)
        changed += [m.code or m.id for m in found if numbers[m.id] is not None]
        after = found[-1].id
    return changed


JOBS = {
    "auto_activation": (
        per_chain("auto_activation", auto_activate),
        "Unused memberships activate by themselves auto_activation_days after the sale",
    ),
    "expiry": (per_chain("expiry", expire), "Memberships past valid_until expire"),
    "expiring_notices": (
        per_chain("expiring_notices", notify_expiring),
        "membership.expiring: N days before valid_until, or N visits left (per type)",
    ),
    "freezes": (per_chain("freezes", freezes), "Planned freezes start, finished ones end"),
    "phones": (
        per_chain("phones", normalize_phones),
        "Phones stored before they were stored in E.164 are rewritten in E.164 (after the upgrade)",
    ),
}
