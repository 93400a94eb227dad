"""Freezing a membership (within the type's limit; the frozen days extend its validity) and ending a
freeze early."""

from datetime import date, datetime

from services.memberships import domain
from services.memberships.repository import Repository
from services.memberships.schemas import MembershipOut
from services.memberships.usecases.publishing import state
from shared import topics
from shared.errors import Conflict, NotFound
from shared.events import MembershipFrozen, MembershipUnfrozen
from shared.uow import UnitOfWork


async def load_membership(repo: Repository, code_or_id: str) -> tuple[domain.Membership, domain.MembershipType]:
    m = await repo.get(code_or_id, lock=True)
    t = await repo.get_type(m.type_id) if m else None
    if m is None or t is None:
        raise NotFound("membership_not_found", f"no membership {code_or_id}")
    return m, t


async def freeze(
    uow: UnitOfWork, chain_id: str, code_or_id: str, start: date, days: int, now: datetime, who: str, reason: str | None
) -> MembershipOut:
    repo = Repository(uow.conn, chain_id)
    m, t = await load_membership(repo, code_or_id)
    after = domain.freeze(m, t, start, days, now.date())
    if isinstance(after, domain.FreezeError):
        raise Conflict(
            after.value,
            f"cannot freeze: {after.value.replace('_', ' ')} "
            f"(allowed: {t.freeze_allowed}, max {t.freeze_max_days} days, "
            f"{m.freeze_days_used} used)",
        )
    await repo.save(
        after, "freeze", now, detail={"from": start.isoformat(), "days": days, "who": who, "reason": reason}
    )
    assert after.frozen_from and after.frozen_until
    uow.publish(
        topics.MEMBERSHIP_FROZEN,
        after.client_id,
        MembershipFrozen(**state(after, t), frozen_from=after.frozen_from, frozen_until=after.frozen_until, days=days),
    )
    return MembershipOut.of(after, await repo.history(after.id))


async def unfreeze(
    uow: UnitOfWork, chain_id: str, code_or_id: str, now: datetime, who: str, reason: str | None
) -> MembershipOut:
    repo = Repository(uow.conn, chain_id)
    m, t = await load_membership(repo, code_or_id)
    after = domain.unfreeze(m, now.date())
    if isinstance(after, domain.FreezeError):
        raise Conflict("not_frozen", "this membership has no freeze running or planned")
    await repo.save(after, "unfreeze", now, detail={"who": who, "reason": reason})
    uow.publish(topics.MEMBERSHIP_UNFROZEN, after.client_id, MembershipUnfrozen(**state(after, t), unfrozen_at=now))
    return MembershipOut.of(after, await repo.history(after.id))
