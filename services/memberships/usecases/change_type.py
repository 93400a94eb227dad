"""Changing a membership type: PATCH (with the post-sale rules), duplicate, archive and restore.
Each change publishes `membership_type.changed` (inventory keeps its product in step)."""

import uuid

from services.memberships import domain
from services.memberships.repository import Repository
from services.memberships.schemas import MembershipTypeIn, MembershipTypeOut, MembershipTypePatch
from services.memberships.usecases.create_type import type_event
from shared import topics
from shared.errors import Conflict, NotFound
from shared.uow import UnitOfWork

WAY_OUT = {
    domain.TypeChangeError.PRICE_FIXED: "the price of a type that has been sold is fixed; duplicate the type "
    "(POST /membership-types/{id}/duplicate) and sell the copy at the new price",
    domain.TypeChangeError.SERVICE_REMOVED: "services are not removed from a type once it has been sold; archive it "
    "and create another",
    domain.TypeChangeError.SERVICE_ADDED_TO_SPLIT: "a sold split type keeps its services; only an overall type "
    "may gain services after its first sale",
    domain.TypeChangeError.VISITS_CHANGED: "sold memberships hold these visits; duplicate the type instead",
    domain.TypeChangeError.BALANCE_CHANGED: "sold memberships hold this balance kind; duplicate the type instead",
}


async def _locked(repo: Repository, type_id: str) -> tuple[domain.MembershipType, bool]:
    found = await repo.lock_type(type_id)
    if found is None:
        raise NotFound("membership_type_not_found", f"no membership type {type_id}")
    return found


async def _save(uow: UnitOfWork, repo: Repository, t: domain.MembershipType) -> domain.MembershipType:
    await repo.update_type(t)
    uow.publish(topics.MEMBERSHIP_TYPE_CHANGED, t.id, type_event(t))
    return t


async def update_type(
    uow: UnitOfWork, chain_id: str, type_id: str, patch: MembershipTypePatch
) -> domain.MembershipType:
    repo = Repository(uow.conn, chain_id)
    old, sold = await _locked(repo, type_id)
    merged = MembershipTypeOut.of(old).model_dump(mode="json", exclude={"id", "archived"})
    merged.update(patch.model_dump(mode="json", exclude_unset=True))
    given = patch.model_fields_set
    if "balance" in given and patch.balance == "split" and "total_visits" not in given:
        merged["total_visits"] = None
    new = MembershipTypeIn.model_validate(merged).to_domain(old.id, chain_id)
    new = domain.MembershipType(**{**new.__dict__, "archived": old.archived})
    error = domain.check_type_change(old, new, sold)
    if error is not None:
        raise Conflict(error.value, WAY_OUT[error])
    return await _save(uow, repo, new)


async def duplicate_type(uow: UnitOfWork, chain_id: str, type_id: str) -> domain.MembershipType:
    repo = Repository(uow.conn, chain_id)
    old, _ = await _locked(repo, type_id)
    copy = domain.MembershipType(
        **{
            **old.__dict__,
            "id": str(uuid.uuid4()),
            "archived": False,
            "name": domain.duplicate_name(old.name, await repo.type_names()),
        }
    )
    await repo.add_type(copy)
    uow.publish(topics.MEMBERSHIP_TYPE_CREATED, copy.id, type_event(copy))
    return copy


async def set_archived(uow: UnitOfWork, chain_id: str, type_id: str, archived: bool) -> domain.MembershipType:
    """Archived: no longer sold (`type_archived`), but memberships already sold still pay."""
    repo = Repository(uow.conn, chain_id)
    old, _ = await _locked(repo, type_id)
    return await _save(uow, repo, domain.MembershipType(**{**old.__dict__, "archived": archived}))
