"""The referral program's requests: the chain's setting, a client's referral code, a referral recorded
through the API, the referral discount offer for a client about to pay (what the checkout quote asks),
and the referrals report. What a paid visit does (a referral named on it, the referrer's reward) is in
referral_visits.py."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from services.loyalty import referral_repository as repo
from services.loyalty.domain.referrals import (
    Offer,
    Person,
    Referral,
    ReferralProgram,
    new_code,
    normalize_code,
    referral_offer,
    refusal,
    refused_offer,
)
from services.loyalty.referral_schemas import (
    ReferralCodeOut,
    ReferralIn,
    ReferralOut,
    ReferralProgramIn,
    ReferralProgramOut,
    ReferralRow,
)
from shared import phones
from shared.errors import Conflict, Invalid, NotFound
from shared.events import VisitReferral
from shared.paging import Page
from shared.uow import UnitOfWork

# Why a referral is refused, in words, and the field at fault (409 answers).
REFUSAL_TEXTS = {
    "program_disabled": ("the chain's referral program is off", None),
    "unknown_code": ("no client of the chain holds this referral code", "referrer.code"),
    "self_referral": ("a client cannot refer themselves (the same client id or phone)", "referrer"),
    "already_referred": ("the invitee was referred already: the first recorded referrer stands", "invitee.id"),
    "already_a_client": ("the invitee has visited the chain already", "invitee.id"),
}
CODE_ATTEMPTS = 8  # a new code colliding with another client's 8 times running: ~never (31**8 codes)


async def save_referral_program(uow: UnitOfWork, chain_id: str, body: ReferralProgramIn) -> ReferralProgramOut:
    if not await repo.card_type_exists(uow.conn, chain_id, body.card_type_id):
        raise Invalid("card_type_not_found", f"no card type {body.card_type_id} in the chain", field="card_type_id")
    await repo.save_program(uow.conn, chain_id, body.program())
    return ReferralProgramOut.of(body.program())


async def get_referral_program(conn: asyncpg.Connection, chain_id: str) -> ReferralProgramOut:
    program = await repo.program(conn, chain_id)
    if program is None:
        raise NotFound("referral_program_not_found", "the chain has no referral program set")
    return ReferralProgramOut.of(program)


async def referral_code(uow: UnitOfWork, chain_id: str, client_id: str) -> ReferralCodeOut:
    """The client's code in the chain: made on the first ask, the same ever after."""
    for _ in range(CODE_ATTEMPTS):
        code = await repo.code_of(uow.conn, chain_id, client_id)
        if code is not None:
            return ReferralCodeOut(client_id=client_id, code=code)
        await repo.add_code(uow.conn, chain_id, client_id, new_code())  # nothing if another ask won
    raise RuntimeError("no free referral code found")  # pragma: no cover - 31**8 codes


async def referrer_of(conn: asyncpg.Connection, chain_id: str, client_id: str | None, code: str | None) -> str | None:
    """The referrer's client id: as given, or the holder of the code (None: no one holds it)."""
    if client_id is not None:
        return client_id
    return await repo.holder_of(conn, chain_id, normalize_code(code or ""))


async def person(conn: asyncpg.Connection, chain_id: str, client_id: str, phone: str | None = None) -> Person:
    """A client with their E.164 phone: the one given, else the one loyalty knows."""
    known = phone if phones.given(phone) else await repo.phone_of(conn, chain_id, client_id)
    return Person(client_id, phones.e164_at(known, chain_id))


async def judge(
    conn: asyncpg.Connection,
    chain_id: str,
    program: ReferralProgram | None,
    invitee: Person,
    referrer_client_id: str | None,
    code: str | None,
    existing: Referral | None,
    visited: bool,
) -> tuple[str | None, str | None]:
    """A referral of `invitee` by the client named (by id, or as the holder of `code`): why a rule refuses it
    (REFUSALS) or None, and the referrer's client id (None: no one holds the code). The API's, a visit's
    and the quote's referrals are judged alike here."""
    referrer_id = await referrer_of(conn, chain_id, referrer_client_id, code)
    referrer = await person(conn, chain_id, referrer_id) if referrer_id is not None else None
    return refusal(program, invitee, referrer, existing, visited), referrer_id


async def record_referral(uow: UnitOfWork, chain_id: str, body: ReferralIn, at: datetime) -> ReferralOut:
    """A referral recorded through the API (source `api`); refused (409, the reason) by the rules of
    domain/referrals.py."""
    conn = uow.conn
    await repo.hold_invitees(conn, [(chain_id, body.invitee.id)])  # against the invitee's visit being paid
    program = await repo.program(conn, chain_id)
    invitee = await person(conn, chain_id, body.invitee.id, body.invitee.phone)
    existing = await repo.referral(conn, chain_id, invitee.client_id)
    visited = bool(await repo.visited(conn, [(chain_id, invitee.client_id)]))
    why, referrer_id = await judge(
        conn, chain_id, program, invitee, body.referrer.client_id, body.referrer.code, existing, visited
    )
    if why is None and referrer_id is not None:
        code = normalize_code(body.referrer.code) if body.referrer.code else None
        added = await repo.add_referral(conn, chain_id, invitee.client_id, invitee.phone, referrer_id, "api", code, at)
        if added is not None:
            return ReferralOut.model_validate(added, from_attributes=True)
        why = "already_referred"  # recorded meanwhile by another request or the invitee's visit
    assert why is not None
    text, field = REFUSAL_TEXTS[why]
    raise Conflict(why, text, field=field)


async def referral_offer_for(
    conn: asyncpg.Connection,
    chain_id: str,
    client_id: str,
    named: VisitReferral | None = None,
    phone: str | None = None,
    visit_id: str | None = None,
) -> Offer:
    """The referral discount a client about to pay is offered (domain.referrals.referral_offer on what
    loyalty holds): the checkout quote's referral line, the same rule the visit's payment is held to.
    `named`: the referral the visit will name (`visit.paid`'s `referral`), for a client with none yet: as
    if recorded, unless a rule would refuse it (`phone`: the client's, for the self-referral rule)."""
    program = await repo.program(conn, chain_id)
    if program is None or not program.enabled:
        return referral_offer(program, None, False)
    referral = await repo.referral(conn, chain_id, client_id)
    if referral is None and named is not None:  # `visit_id`: that visit's own record is not an earlier visit
        invitee = await person(conn, chain_id, client_id, phone)
        if visit_id is None:
            visited = bool(await repo.visited(conn, [(chain_id, client_id)]))
        else:
            visited = bool(await repo.visited_besides(conn, [(chain_id, client_id, visit_id)]))
        why, referrer_id = await judge(
            conn, chain_id, program, invitee, named.referrer_client_id, named.code, None, visited
        )
        if why is not None:
            return refused_offer(why)
        assert referrer_id is not None  # refusal() says unknown_code without a referrer
        referral = Referral(client_id, referrer_id, "visit", datetime.now(UTC))
    paid = referral is not None and await repo.paid_before(conn, chain_id, client_id)
    return referral_offer(program, referral, paid)


async def referrals_report(
    conn: asyncpg.Connection, chain_id: str, start: datetime | None, end: datetime | None, page: Page
) -> list[ReferralRow]:
    rows = await repo.report(conn, chain_id, start, end, page)
    return [ReferralRow.model_validate(dict(r)) for r in rows]
