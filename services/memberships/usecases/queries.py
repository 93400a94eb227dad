import asyncpg

from services.memberships.domain import normalize_phone
from services.memberships.repository import Repository
from services.memberships.schemas import MembershipOut, MembershipTypeOut
from shared.errors import NotFound


async def get_type(conn: asyncpg.Connection, chain_id: str, type_id: str) -> MembershipTypeOut:
    t = await Repository(conn, chain_id).get_type(type_id)
    if t is None:
        raise NotFound("membership_type_not_found", f"no membership type {type_id}")
    return MembershipTypeOut.of(t)


async def list_types(conn: asyncpg.Connection, chain_id: str, archived: bool) -> list[MembershipTypeOut]:
    return [MembershipTypeOut.of(t) for t in await Repository(conn, chain_id).list_types(archived)]


async def get_membership(conn: asyncpg.Connection, chain_id: str, code_or_id: str) -> MembershipOut:
    repo = Repository(conn, chain_id)
    m = await repo.get(code_or_id)
    if m is None:
        raise NotFound("membership_not_found", f"no membership {code_or_id}")
    return MembershipOut.of(m, await repo.history(m.id))


async def find_memberships(conn: asyncpg.Connection, chain_id: str, client_id: str | None,
                           phone: str | None) -> list[MembershipOut]:
    found = await Repository(conn, chain_id).find(client_id, normalize_phone(phone))
    return [MembershipOut.of(m) for m in found]
