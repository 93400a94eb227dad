"""Editing a membership's balance or validity by hand, where its type allows it; every edit is kept in
the history with who, when and why."""

from datetime import datetime
from typing import Any

from services.memberships import domain
from services.memberships.repository import Repository
from services.memberships.schemas import EditRequest, MembershipOut
from services.memberships.usecases.freeze import load_membership
from shared.errors import Conflict
from shared.uow import UnitOfWork

WHY = {
    domain.EditError.NOT_ALLOWED: "this membership's type does not allow editing",
    domain.EditError.WRONG_LOCATION: "this membership's type allows editing only at the selling location "
    "(send X-Location-Id)",
    domain.EditError.UNKNOWN_BALANCE_KEY: "the balance names a service this membership does not hold",
}


async def edit(
    uow: UnitOfWork, chain_id: str, code_or_id: str, body: EditRequest, location_id: str | None, now: datetime, who: str
) -> MembershipOut:
    repo = Repository(uow.conn, chain_id)
    m, t = await load_membership(repo, code_or_id)
    after = domain.edit(m, t, balance=body.balance, valid_until=body.valid_until, location_id=location_id, at=now)
    if isinstance(after, domain.EditError):
        raise Conflict(after.value, WHY[after])
    changes: dict[str, Any] = {"who": who, "reason": body.reason, "location_id": location_id}
    if body.balance is not None:
        changes["balance_before"] = m.balance
    if body.valid_until is not None:
        changes["valid_until_before"] = m.valid_until.isoformat() if m.valid_until else None
        changes["valid_until"] = body.valid_until.isoformat()
    await repo.save(after, "edit", now, detail=changes)
    return MembershipOut.of(after, await repo.history(after.id))
