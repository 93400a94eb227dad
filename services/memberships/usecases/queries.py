import uuid
from datetime import datetime

import asyncpg

from services.memberships import domain
from services.memberships.repository import Repository
from services.memberships.schemas import EligibilityOut, MembershipOut, MembershipTypeOut, ReportRow
from shared import phones
from shared.errors import NotFound
from shared.paging import Page


async def get_type(conn: asyncpg.Connection, chain_id: str, type_id: str) -> MembershipTypeOut:
    t = await Repository(conn, chain_id).get_type(type_id)
    if t is None:
        raise NotFound("membership_type_not_found", f"no membership type {type_id}")
    return MembershipTypeOut.of(t)


async def list_types(conn: asyncpg.Connection, chain_id: str, archived: bool, page: Page) -> list[MembershipTypeOut]:
    return [MembershipTypeOut.of(t) for t in await Repository(conn, chain_id).list_types(archived, page)]


async def get_membership(conn: asyncpg.Connection, chain_id: str, code_or_id: str) -> MembershipOut:
    repo = Repository(conn, chain_id)
    m = await repo.get(code_or_id)
    if m is None:
        raise NotFound("membership_not_found", f"no membership {code_or_id}")
    return MembershipOut.of(m, await repo.history(m.id))


async def find_memberships(
    conn: asyncpg.Connection, chain_id: str, client_id: str | None, phone: str | None, page: Page
) -> list[MembershipOut]:
    repo = Repository(conn, chain_id)
    # As phones are stored: E.164, read in the chain's region (text that is no number matches itself).
    found = await repo.find(client_id, phones.normalize_at(phone, chain_id), page)
    histories = await repo.histories([m.id for m in found]) if found else {}
    return [MembershipOut.of(m, histories.get(m.id, [])) for m in found]


async def eligibility(
    conn: asyncpg.Connection,
    chain_id: str,
    code_or_id: str,
    service_id: str,
    location_id: str,
    phone: str | None,
    at: datetime,
) -> EligibilityOut:
    repo = Repository(conn, chain_id)
    m = await repo.get(code_or_id)
    t = await repo.get_type(m.type_id) if m else None
    if m is None or t is None:
        raise NotFound("membership_not_found", f"no membership {code_or_id}")
    # Without a phone, the phone check of a no-code membership is left to the visit itself.
    client_phone = phones.e164_at(phone, chain_id, location_id) if phone is not None else m.phone
    rejected = domain.eligibility(m, t, service_id=service_id, location_id=location_id, at=at, phone=client_phone)
    return EligibilityOut(
        eligible=rejected is None,
        reason=rejected.reason.value if rejected else None,
        membership_id=uuid.UUID(m.id),
        status=m.status.value,
        visits_left=m.visits_left,
        valid_until=m.valid_until,
    )


async def report(
    conn: asyncpg.Connection, chain_id: str, start: datetime | None, end: datetime | None, page: Page
) -> list[ReportRow]:
    return [ReportRow.model_validate(dict(r)) for r in await Repository(conn, chain_id).report(start, end, page)]
