"""The SQL of the referral program: the chain's setting, the clients' codes, the referrals and their
rewards, the referrals report. Every statement is scoped by chain_id (the visit batch's reads take the
(chain, client) pairs of the batch, as batch_repository.py does)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from decimal import Decimal

import asyncpg

from services.loyalty.domain.cards import Card
from services.loyalty.domain.referrals import Referral, ReferralProgram
from services.loyalty.rows import card_from_row
from shared.db import columns, hold_keys
from shared.paging import Page

Pair = tuple[str, str]  # (chain_id, client_id)
Triple = tuple[str, str, str]  # (chain_id, client_id, visit_id)


def _program(r: asyncpg.Record) -> ReferralProgram:
    return ReferralProgram(r["enabled"], r["invitee_discount_percent"], r["referrer_cashback"], str(r["card_type_id"]))


def _referral(r: asyncpg.Record) -> Referral:
    return Referral(
        r["invitee_id"], r["referrer_id"], r["source"], r["recorded_at"], r["first_visit_id"], r["reward_status"]
    )


# --- the setting ------------------------------------------------------------------------------------


async def save_program(conn: asyncpg.Connection, chain_id: str, p: ReferralProgram) -> None:
    await conn.execute(
        """INSERT INTO referral_programs (chain_id, enabled, invitee_discount_percent, referrer_cashback, card_type_id)
           VALUES ($1,$2,$3,$4,$5)
           ON CONFLICT (chain_id) DO UPDATE SET enabled = EXCLUDED.enabled,
               invitee_discount_percent = EXCLUDED.invitee_discount_percent,
               referrer_cashback = EXCLUDED.referrer_cashback, card_type_id = EXCLUDED.card_type_id,
               updated_at = now()""",
        chain_id,
        p.enabled,
        p.invitee_discount_percent,
        p.referrer_cashback,
        uuid.UUID(p.card_type_id),
    )


async def programs(conn: asyncpg.Connection, chain_ids: Collection[str]) -> dict[str, ReferralProgram]:
    rows = await conn.fetch("SELECT * FROM referral_programs WHERE chain_id = ANY($1::text[])", list(chain_ids))
    return {r["chain_id"]: _program(r) for r in rows}


async def program(conn: asyncpg.Connection, chain_id: str) -> ReferralProgram | None:
    return (await programs(conn, [chain_id])).get(chain_id)


async def card_type_exists(conn: asyncpg.Connection, chain_id: str, card_type_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM card_types WHERE chain_id = $1 AND id = $2", chain_id, card_type_id))


# --- codes ------------------------------------------------------------------------------------------


async def code_of(conn: asyncpg.Connection, chain_id: str, client_id: str) -> str | None:
    return await conn.fetchval(
        "SELECT code FROM referral_codes WHERE chain_id = $1 AND client_id = $2", chain_id, client_id
    )


async def add_code(conn: asyncpg.Connection, chain_id: str, client_id: str, code: str) -> bool:
    """False when the client has a code already (or `code` is another client's): nothing written."""
    added = await conn.fetchval(
        """INSERT INTO referral_codes (chain_id, client_id, code) VALUES ($1,$2,$3)
           ON CONFLICT DO NOTHING RETURNING 1""",
        chain_id,
        client_id,
        code,
    )
    return bool(added)


async def holder_of(conn: asyncpg.Connection, chain_id: str, code: str) -> str | None:
    return await conn.fetchval("SELECT client_id FROM referral_codes WHERE chain_id = $1 AND code = $2", chain_id, code)


# --- clients ----------------------------------------------------------------------------------------


async def phone_of(conn: asyncpg.Connection, chain_id: str, client_id: str) -> str | None:
    """The client's phone as the booking system last told it (a visit), else as a card of theirs holds it."""
    return await conn.fetchval(
        """SELECT coalesce(
               (SELECT phone FROM clients WHERE chain_id = $1 AND client_id = $2),
               (SELECT phone FROM cards WHERE chain_id = $1 AND client_id = $2 AND phone IS NOT NULL
                ORDER BY issued_at, id LIMIT 1))""",
        chain_id,
        client_id,
    )


async def visited(conn: asyncpg.Connection, pairs: Collection[Pair]) -> set[Pair]:
    """Which of the (chain, client) pairs have a visit loyalty recorded."""
    if not pairs:
        return set()
    rows = await conn.fetch(
        """SELECT k.c, k.cl FROM unnest($1::text[], $2::text[]) AS k(c, cl)
           WHERE EXISTS (SELECT 1 FROM visits v WHERE v.chain_id = k.c AND v.client_id = k.cl)""",
        *columns(set(pairs), 2),
    )
    return {(r["c"], r["cl"]) for r in rows}


async def visited_besides(
    conn: asyncpg.Connection, visits: Collection[tuple[str, str, str]]
) -> set[tuple[str, str, str]]:
    """Which of the (chain, client, visit) have a visit loyalty recorded besides that one."""
    if not visits:
        return set()
    rows = await conn.fetch(
        """SELECT k.c, k.cl, k.v FROM unnest($1::text[], $2::text[], $3::text[]) AS k(c, cl, v)
           WHERE EXISTS (SELECT 1 FROM visits x WHERE x.chain_id = k.c AND x.client_id = k.cl AND x.visit_id <> k.v)""",
        *columns(set(visits), 3),
    )
    return {(r["c"], r["cl"], r["v"]) for r in rows}


async def paid_before(conn: asyncpg.Connection, chain_id: str, client_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM visits WHERE chain_id = $1 AND client_id = $2 AND paid_at IS NOT NULL LIMIT 1",
            chain_id,
            client_id,
        )
    )


async def cards_of(conn: asyncpg.Connection, chain_id: str, client_id: str, card_type_id: str) -> list[Card]:
    """The client's cards of the type, locked (in id order, as the visit batches lock cards)."""
    rows = await conn.fetch(
        """SELECT * FROM cards WHERE chain_id = $1 AND client_id = $2 AND card_type_id = $3
           ORDER BY id FOR UPDATE""",
        chain_id,
        client_id,
        uuid.UUID(card_type_id),
    )
    return [card_from_row(r) for r in rows]


# --- referrals --------------------------------------------------------------------------------------


async def referral(conn: asyncpg.Connection, chain_id: str, invitee_id: str) -> Referral | None:
    r = await conn.fetchrow("SELECT * FROM referrals WHERE chain_id = $1 AND invitee_id = $2", chain_id, invitee_id)
    return _referral(r) if r else None


async def hold_invitees(conn: asyncpg.Connection, pairs: Collection[Pair]) -> None:
    """The (chain, client) pairs held for the transaction, by a referral's recording (the API) and by a
    batch of paid visits on each of its clients, until commit: a referral recorded while the invitee's
    first visit is being paid waits for it (and then finds the visit: already_a_client), and a batch that
    starts after a recording waits for it (and then finds the referral, and pays its reward). Taken
    before any other lock of the batch."""
    await hold_keys(conn, "loyalty-referral", pairs)


async def lock_referrals(conn: asyncpg.Connection, pairs: Collection[Pair]) -> dict[Pair, Referral]:
    """The referrals of the (chain, invitee) pairs, locked in key order."""
    if not pairs:
        return {}
    rows = await conn.fetch(
        """SELECT r.* FROM unnest($1::text[], $2::text[]) AS k(c, i)
           JOIN referrals r ON r.chain_id = k.c AND r.invitee_id = k.i
           ORDER BY r.chain_id, r.invitee_id FOR UPDATE OF r""",
        *columns(set(pairs), 2),
    )
    return {(r["chain_id"], r["invitee_id"]): _referral(r) for r in rows}


async def add_referral(
    conn: asyncpg.Connection,
    chain_id: str,
    invitee_id: str,
    invitee_phone: str | None,
    referrer_id: str,
    source: str,
    code: str | None,
    at: datetime,
) -> Referral | None:
    """None when the invitee has a referral already (the first recorded wins)."""
    r = await conn.fetchrow(
        """INSERT INTO referrals (chain_id, invitee_id, invitee_phone, referrer_id, source, code, recorded_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (chain_id, invitee_id) DO NOTHING RETURNING *""",
        chain_id,
        invitee_id,
        invitee_phone,
        referrer_id,
        source,
        code,
        at,
    )
    return _referral(r) if r else None


async def settle(
    conn: asyncpg.Connection,
    chain_id: str,
    invitee_id: str,
    visit_id: str,
    paid_at: datetime,
    status: str,
    amount: Decimal | None,
    card_id: str | None,
) -> bool:
    """The referral's first visit and what its reward became; False (nothing written) when it had one."""
    done = await conn.fetchval(
        """UPDATE referrals SET first_visit_id = $3, first_paid_at = $4, reward_status = $5, reward_amount = $6,
               reward_card_id = $7
           WHERE chain_id = $1 AND invitee_id = $2 AND first_visit_id IS NULL RETURNING 1""",
        chain_id,
        invitee_id,
        visit_id,
        paid_at,
        status,
        amount,
        uuid.UUID(card_id) if card_id else None,
    )
    return bool(done)


async def report(
    conn: asyncpg.Connection, chain_id: str, start: datetime | None, end: datetime | None, page: Page
) -> list[asyncpg.Record]:
    """The chain's referrals recorded in [start, end), oldest first, a page of them (keyset on
    (recorded_at, invitee_id): index referrals_report)."""
    rows = await conn.fetch(
        """SELECT r.referrer_id, r.invitee_id, r.recorded_at, r.source, r.code, r.first_visit_id, r.first_paid_at,
                  r.reward_status, r.reward_amount, r.reward_card_id, c.number AS reward_card_number
           FROM referrals r LEFT JOIN cards c ON c.chain_id = r.chain_id AND c.id = r.reward_card_id
           WHERE r.chain_id = $1 AND ($2::timestamptz IS NULL OR r.recorded_at >= $2)
             AND ($3::timestamptz IS NULL OR r.recorded_at < $3)
             AND ($4::timestamptz IS NULL OR (r.recorded_at, r.invitee_id) > ($4, $5::text))
           ORDER BY r.recorded_at, r.invitee_id LIMIT $6""",
        chain_id,
        start,
        end,
        *page.after(datetime, str),
        page.fetch,
    )
    return page.cut(rows, lambda r: (r["recorded_at"], r["invitee_id"]))
