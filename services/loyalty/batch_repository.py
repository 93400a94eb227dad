"""The SQL of the visit batches: everything a batch of visit events needs, one statement per table for
all its records (and chains: every statement matches on chain_id with the keys it is given), rows to
change locked in key order (so two replicas never deadlock); then what the batch changed, one
statement per table. The per-request repository uses the same statements for one chain."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Collection
from datetime import datetime
from decimal import Decimal

import asyncpg

from services.loyalty.domain import Lot, LoyaltyState, Program, Promotion
from services.loyalty.domain.books import Move, NewLot
from services.loyalty.domain.cards import Card, CardType
from services.loyalty.domain.visits import VisitRow
from services.loyalty.rows import (
    STATE_COLUMNS,
    VISIT_COLUMNS,
    card_from_row,
    card_type_from_row,
    program_from_spec,
    promotion_from_row,
    state_from_row,
    visit_from_row,
)
from shared.db import columns as _columns

Pair = tuple[str, str]  # (chain_id, an id in that chain)


# --- reference data ---------------------------------------------------------------------------------


# The lock a batch holds (shared) on each of its locations, and a program's save (exclusive): a program
# saved while a batch is applied waits for it, so its recalculation, which starts after, sees the batch's
# visits; a batch that starts after the save waits for it, so it reads the new program. Without it a batch
# that read "no program" (or the old one) could commit its visit after the recalculation had read the
# client's visits, and the client kept a state that counts neither.
LOCATION_LOCK = "hashtextextended('loyalty-program:' || {c} || '/' || {l}, 0)"


async def programs(conn: asyncpg.Connection, locations: Collection[Pair], *, hold: bool = True) -> dict[Pair, Program]:
    """The programs of the batch's locations, each held against a save until the batch commits (a
    statement of its own, before the read: a statement reads as of its start); not `hold`: read as they
    stand (a quote's, which writes nothing)."""
    if not locations:
        return {}
    if hold:
        await conn.execute(
            f"""SELECT pg_advisory_xact_lock_shared({LOCATION_LOCK.format(c="k.c", l="k.l")})
                FROM unnest($1::text[], $2::text[]) AS k(c, l)""",
            *_columns(set(locations), 2),
        )
    rows = await conn.fetch(
        """SELECT p.chain_id, p.location_id, p.spec FROM unnest($1::text[], $2::text[]) AS k(c, l)
           JOIN programs p ON p.chain_id = k.c AND p.location_id = k.l""",
        *_columns(set(locations), 2),
    )
    return {(r["chain_id"], r["location_id"]): program_from_spec(r["spec"]) for r in rows}


async def promotions(conn: asyncpg.Connection, card_types: Collection[Pair]) -> dict[Pair, list[Promotion]]:
    """The live promotions of each card type, in the order they were made (an archived one accrues
    nothing: not even read)."""
    if not card_types:
        return {}
    rows = await conn.fetch(
        """SELECT k.c AS chain_id, k.t AS card_type_id, p.id, p.spec FROM unnest($1::text[], $2::text[]) AS k(c, t)
           JOIN promotions p ON p.chain_id = k.c AND p.spec->'card_type_ids' ? k.t
           WHERE NOT coalesce((p.spec->>'archived')::boolean, false)
           ORDER BY p.created_at, p.id""",
        *_columns(set(card_types), 2),
    )
    found: dict[Pair, list[Promotion]] = defaultdict(list)
    for r in rows:
        found[(r["chain_id"], r["card_type_id"])].append(promotion_from_row(r))
    return found


# --- the location programs' states ------------------------------------------------------------------


async def lock_states(
    conn: asyncpg.Connection, keys: Collection[tuple[str, str, str]], as_of: datetime
) -> dict[tuple[str, str, str], LoyaltyState]:
    """The (chain, location, client) states, their rows locked (created when missing) in key order, so
    a page of the background recalculation and a batch of visits serialize on the same client. One
    statement creates the missing rows and locks them all, noting the moment they are calculated for
    (what the inactivity job compares with); the state comes back as it was."""
    if not keys:
        return {}
    rows = await conn.fetch(
        f"""INSERT INTO client_loyalty (chain_id, location_id, client_id, calculated_at)
           SELECT c, l, k, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS t(c, l, k) ORDER BY c, l, k
           ON CONFLICT (chain_id, location_id, client_id) DO UPDATE SET calculated_at = EXCLUDED.calculated_at
           RETURNING chain_id, location_id, client_id, {STATE_COLUMNS}""",
        *_columns(set(keys), 3),
        as_of,
    )
    return {(r["chain_id"], r["location_id"], r["client_id"]): state_from_row(r) for r in rows}


async def states(
    conn: asyncpg.Connection, keys: Collection[tuple[str, str, str]]
) -> dict[tuple[str, str, str], LoyaltyState]:
    """The (chain, location, client) states as they stand, neither created nor locked (a read: the checkout
    quote's); a client without a row has none here."""
    if not keys:
        return {}
    rows = await conn.fetch(
        f"""SELECT s.chain_id, s.location_id, s.client_id, {", ".join("s." + c for c in STATE_COLUMNS.split(", "))}
           FROM unnest($1::text[], $2::text[], $3::text[]) AS k(c, l, cl)
           JOIN client_loyalty s ON s.chain_id = k.c AND s.location_id = k.l AND s.client_id = k.cl""",
        *_columns(set(keys), 3),
    )
    return {(r["chain_id"], r["location_id"], r["client_id"]): state_from_row(r) for r in rows}


async def save_states(conn: asyncpg.Connection, states: dict[tuple[str, str, str], LoyaltyState]) -> None:
    """Rows locked by `lock_states`."""
    if not states:
        return
    keys = sorted(states)
    await conn.execute(
        """UPDATE client_loyalty AS l
           SET discount_percent = t.d, level = t.lv,
               categories = coalesce(string_to_array(t.cs, chr(31)), ARRAY[]::text[])
           FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::text[], $6::text[])
                AS t(c, loc, k, d, lv, cs)
           WHERE l.chain_id = t.c AND l.location_id = t.loc AND l.client_id = t.k""",
        *_columns(keys, 3),
        [states[k].discount_percent for k in keys],
        [states[k].level for k in keys],
        [chr(31).join(states[k].categories) or None for k in keys],
    )


# --- visits and clients ------------------------------------------------------------------------------


async def visits(
    conn: asyncpg.Connection, clients: Collection[Pair], visit_ids: Collection[Pair]
) -> list[tuple[str, VisitRow]]:
    """Every visit of `clients` (across the chain), and the visits `visit_ids` (whoever's they are)."""
    rows = await conn.fetch(
        f"""SELECT v.chain_id, {", ".join("v." + c for c in VISIT_COLUMNS.split(", "))}
            FROM unnest($1::text[], $2::text[]) AS k(c, cl) JOIN visits v ON v.chain_id = k.c AND v.client_id = k.cl
            UNION
            SELECT v.chain_id, {", ".join("v." + c for c in VISIT_COLUMNS.split(", "))}
            FROM unnest($3::text[], $4::text[]) AS k(c, id) JOIN visits v ON v.chain_id = k.c AND v.visit_id = k.id""",
        *_columns(set(clients), 2),
        *_columns(set(visit_ids), 2),
    )
    return [(r["chain_id"], visit_from_row(r)) for r in rows]


async def clients(conn: asyncpg.Connection, keys: Collection[Pair]) -> dict[Pair, tuple[str | None, str | None]]:
    if not keys:
        return {}
    rows = await conn.fetch(
        """SELECT c.chain_id, c.client_id, c.phone, c.name FROM unnest($1::text[], $2::text[]) AS k(ch, cl)
           JOIN clients c ON c.chain_id = k.ch AND c.client_id = k.cl""",
        *_columns(set(keys), 2),
    )
    return {(r["chain_id"], r["client_id"]): (r["phone"], r["name"]) for r in rows}


# What each kind of visit event writes to a visit's row: its columns (and their types), and how a row
# already there takes them (a status older than the one stored leaves it: domain.status_replaces, kept
# here too against a writer in another transaction).
VISIT_WRITES = {
    "payment": (
        {"sold": "numeric", "paid": "numeric", "paid_at": "timestamptz"},
        "SET sold = EXCLUDED.sold, paid = EXCLUDED.paid, paid_at = EXCLUDED.paid_at",
    ),
    "status": (
        {"status": "text", "status_at": "timestamptz", "scheduled_at": "timestamptz"},
        """SET status = EXCLUDED.status, status_at = EXCLUDED.status_at, scheduled_at = EXCLUDED.scheduled_at
                  WHERE visits.status_at IS NULL OR visits.status_at <= EXCLUDED.status_at""",
    ),
}


async def save_visits(
    conn: asyncpg.Connection,
    kind: str,
    rows: list[tuple[str, VisitRow]],
    told: dict[Pair, tuple[str | None, str | None]],
) -> None:
    """What the `kind` of events (VISIT_WRITES) wrote to the visits' rows, and the clients' latest phone
    and name (for the events), in one trip."""
    columns, update = VISIT_WRITES[kind]
    rows = sorted(rows, key=lambda cr: (cr[0], cr[1].visit_id))
    told_keys = sorted(told)
    arrays = ", ".join(f"${n}::{t}[]" for n, t in enumerate(columns.values(), start=9))
    await conn.execute(
        f"""WITH client AS (
                INSERT INTO clients (chain_id, client_id, phone, name)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ORDER BY 1, 2
                ON CONFLICT (chain_id, client_id) DO UPDATE
                SET phone = coalesce(EXCLUDED.phone, clients.phone), name = coalesce(EXCLUDED.name, clients.name))
            INSERT INTO visits (chain_id, visit_id, location_id, client_id, {", ".join(columns)})
            SELECT * FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], {arrays}) ORDER BY 1, 2
            ON CONFLICT (chain_id, visit_id) DO UPDATE {update}""",
        *_columns(told_keys, 2),
        [told[k][0] for k in told_keys],
        [told[k][1] for k in told_keys],
        *_columns(
            ((c, v.visit_id, v.location_id, v.client_id, *(getattr(v, name) for name in columns)) for c, v in rows),
            4 + len(columns),
        ),
    )


# --- cards and points --------------------------------------------------------------------------------


async def cards(
    conn: asyncpg.Connection,
    clients: Collection[Pair],
    refs: Collection[Pair],
    ids: Collection[Pair],
    *,
    lock: bool = True,
) -> list[tuple[str, Card, CardType | None]]:
    """The cards of `clients`, those numbered `refs` and those with `ids`, locked in id order (unless not
    `lock`: a read, the checkout quote's), each with its type."""
    if not (clients or refs or ids):
        return []
    rows = await conn.fetch(
        """SELECT c.*, t.id AS t_id, t.name AS t_name, t.location_ids AS t_location_ids, t.created_at AS t_created_at
           FROM cards c LEFT JOIN card_types t ON t.chain_id = c.chain_id AND t.id = c.card_type_id
           WHERE c.id IN (
               SELECT x.id FROM unnest($1::text[], $2::text[]) AS k(ch, cl)
               JOIN cards x ON x.chain_id = k.ch AND x.client_id = k.cl
               UNION SELECT x.id FROM unnest($3::text[], $4::text[]) AS k(ch, n)
               JOIN cards x ON x.chain_id = k.ch AND x.number = k.n
               UNION SELECT x.id FROM unnest($5::text[], $6::uuid[]) AS k(ch, i)
               JOIN cards x ON x.chain_id = k.ch AND x.id = k.i)
           ORDER BY c.id"""
        + (" FOR UPDATE OF c" if lock else ""),
        *_columns(set(clients), 2),
        *_columns(set(refs), 2),
        *_pairs_of_ids(ids),
    )
    found = []
    for r in rows:
        card_type = card_type_from_row(r, prefix="t_") if r["t_id"] is not None else None
        found.append((r["chain_id"], card_from_row(r), card_type))
    return found


async def lots(conn: asyncpg.Connection, cards: Collection[Pair]) -> dict[Pair, list[Lot]]:
    """What is left of each card's lots (the empty ones left out), oldest first."""
    if not cards:
        return {}
    rows = await conn.fetch(
        """SELECT l.chain_id, l.card_id, l.id, l.accrued_at, l.remaining FROM unnest($1::text[], $2::uuid[]) AS k(c, i)
           JOIN bonus_lots l ON l.chain_id = k.c AND l.card_id = k.i AND l.remaining > 0
           ORDER BY l.accrued_at, l.id""",
        *_pairs_of_ids(cards),
    )
    found: dict[Pair, list[Lot]] = defaultdict(list)
    for r in rows:
        found[(r["chain_id"], str(r["card_id"]))].append(Lot(r["id"], r["accrued_at"], r["remaining"]))
    return found


async def uses(conn: asyncpg.Connection, cards: Collection[Pair]) -> Counter[tuple[str, str, str]]:
    """How many times each promotion has accrued on each card."""
    if not cards:
        return Counter()
    rows = await conn.fetch(
        """SELECT t.chain_id, t.card_id, t.promotion_id, count(*) AS n FROM unnest($1::text[], $2::uuid[]) AS k(c, i)
           JOIN card_transactions t ON t.chain_id = k.c AND t.card_id = k.i
           WHERE t.kind = 'accrual' AND t.promotion_id IS NOT NULL
           GROUP BY t.chain_id, t.card_id, t.promotion_id""",
        *_pairs_of_ids(cards),
    )
    return Counter({(r["chain_id"], str(r["card_id"]), str(r["promotion_id"])): r["n"] for r in rows})


def _pairs_of_ids(pairs: Collection[Pair]) -> list[list[object]]:
    """(chain, uuid) pairs as unnest's two columns, in their order (each once)."""
    chains, ids = _columns(dict.fromkeys(pairs), 2)
    return [chains, [uuid.UUID(str(i)) for i in ids]]


async def take_from_lots(conn: asyncpg.Connection, taken: dict[tuple[str, int], Decimal]) -> None:
    """Lowers each (chain, lot id)'s remaining points by what was taken from it."""
    if taken:
        keys = sorted(taken)
        await conn.execute(
            """UPDATE bonus_lots AS l SET remaining = l.remaining - t.amount
               FROM unnest($1::text[], $2::bigint[], $3::numeric[]) AS t(c, id, amount)
               WHERE l.chain_id = t.c AND l.id = t.id""",
            *_columns(keys, 2),
            [taken[k] for k in keys],
        )


async def add_lots(conn: asyncpg.Connection, new: list[tuple[NewLot, Decimal]]) -> None:
    """Each lot with what is left of it, stored in the order given (their ids follow it)."""
    if new:
        await conn.execute(
            """INSERT INTO bonus_lots (chain_id, card_id, accrued_at, amount, remaining, burns_at, notice_at,
                   promotion_id, visit_id)
               SELECT c, card, at, amount, remaining, burns, notice, promotion, visit
               FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::numeric[], $5::numeric[],
                           $6::timestamptz[], $7::timestamptz[], $8::uuid[], $9::text[])
                    WITH ORDINALITY AS t(c, card, at, amount, remaining, burns, notice, promotion, visit, n)
               ORDER BY n""",
            *_columns(
                (
                    (
                        lot.chain_id,
                        uuid.UUID(lot.card_id),
                        lot.accrued_at,
                        lot.amount,
                        left,
                        lot.burns_at,
                        lot.notice_at,
                        uuid.UUID(lot.promotion_id) if lot.promotion_id else None,
                        lot.visit_id,
                    )
                    for lot, left in new
                ),
                9,
            ),
        )


async def move_points(conn: asyncpg.Connection, moves: list[Move]) -> None:
    """The cards' balances changed by their moves, and the moves recorded (card_transactions), in order."""
    if not moves:
        return
    change: dict[Pair, Decimal] = defaultdict(Decimal)
    for m in moves:
        change[(m.chain_id, m.card_id)] += m.amount
    keys = sorted(change)
    chains, ids = _pairs_of_ids(keys)
    await conn.execute(
        """UPDATE cards AS c SET balance = c.balance + t.amount
           FROM unnest($1::text[], $2::uuid[], $3::numeric[]) AS t(ch, id, amount)
           WHERE c.chain_id = t.ch AND c.id = t.id""",
        chains,
        ids,
        [change[k] for k in keys],
    )
    await conn.execute(
        """INSERT INTO card_transactions (chain_id, card_id, at, kind, amount, balance_after, visit_id,
               promotion_id, location_id, reason)
           SELECT c, card, at, kind, amount, after, visit, promotion, location, reason
           FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::text[], $5::numeric[], $6::numeric[],
                       $7::text[], $8::uuid[], $9::text[], $10::text[])
                WITH ORDINALITY AS t(c, card, at, kind, amount, after, visit, promotion, location, reason, n)
           ORDER BY n""",
        *_columns(
            (
                (
                    m.chain_id,
                    uuid.UUID(m.card_id),
                    m.at,
                    m.kind,
                    m.amount,
                    m.balance_after,
                    m.visit_id,
                    uuid.UUID(m.promotion_id) if m.promotion_id else None,
                    m.location_id,
                    m.reason,
                )
                for m in moves
            ),
            10,
        ),
    )
