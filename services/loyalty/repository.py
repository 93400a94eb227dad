"""The SQL of the loyalty service's requests and jobs (the visit batches' is in batch_repository.py,
which this one reuses where a statement is the same). Every query is scoped by chain_id (the few that
look across chains, for the scheduled jobs and the background recalculation, only find which chains
have work)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.loyalty import batch_repository as batch
from services.loyalty import desk_sale_repository as desks
from services.loyalty.domain import Lot, LoyaltyState, Program, Stats
from services.loyalty.domain.cards import Card, CardType
from services.loyalty.domain.visits import stats_of
from services.loyalty.rows import (
    STATE_COLUMNS,
    VISIT_COLUMNS,
    card_from_row,
    card_type_from_row,
    program_from_spec,
    state_from_row,
    visit_from_row,
)
from shared.db import as_uuid
from shared.paging import Page

# --- across chains: which chains have work (jobs for every chain, the background recalculation) ---


async def chains_with_programs(conn: asyncpg.Connection) -> list[str]:
    return [r["chain_id"] for r in await conn.fetch("SELECT DISTINCT chain_id FROM programs")]


async def chains_with_lots_due(conn: asyncpg.Connection, as_of: datetime) -> list[str]:
    rows = await conn.fetch(
        """SELECT DISTINCT chain_id FROM bonus_lots
           WHERE remaining > 0 AND (burns_at <= $1 OR (notice_at <= $1 AND noticed_at IS NULL))""", as_of)
    return [r["chain_id"] for r in rows]


async def next_running_recalc(conn: asyncpg.Connection) -> asyncpg.Record | None:
    """The oldest running recalculation nobody else is working on, locked for this transaction."""
    return await conn.fetchrow(
        """SELECT * FROM program_recalcs WHERE status = 'running' ORDER BY id
           FOR UPDATE SKIP LOCKED LIMIT 1""")


class Repository:
    def __init__(self, conn: asyncpg.Connection, chain_id: str) -> None:
        self.conn = conn
        self.chain_id = chain_id

    # --- visits and statistics -------------------------------------------------------------

    async def remember_client(self, client_id: str, phone: str | None, name: str | None) -> None:
        await self.conn.execute(
            """INSERT INTO clients (chain_id, client_id, phone, name) VALUES ($1,$2,$3,$4)
               ON CONFLICT (chain_id, client_id) DO UPDATE
               SET phone = coalesce(EXCLUDED.phone, clients.phone), name = coalesce(EXCLUDED.name, clients.name)""",
            self.chain_id, client_id, phone, name,
        )

    async def clients(self, client_ids: list[str]) -> dict[str, asyncpg.Record]:
        rows = await self.conn.fetch(
            "SELECT client_id, phone, name FROM clients WHERE chain_id = $1 AND client_id = ANY($2::text[])",
            self.chain_id, client_ids)
        return {r["client_id"]: r for r in rows}

    async def stats(self, client_id: str, location_id: str | None) -> Stats:
        rows = await self.conn.fetch(
            f"""SELECT {VISIT_COLUMNS} FROM visits WHERE chain_id = $1 AND client_id = $2
                AND ($3::text IS NULL OR location_id = $3)""",
            self.chain_id, client_id, location_id,
        )
        sales = await desks.of_clients(self.conn, self.chain_id, [client_id], location_id)
        return stats_of([*(visit_from_row(r) for r in rows), *sales])

    async def location_stats(self, location_id: str, client_ids: list[str]) -> dict[str, Stats]:
        rows = await self.conn.fetch(
            f"""SELECT {VISIT_COLUMNS} FROM visits
                WHERE chain_id = $1 AND location_id = $2 AND client_id = ANY($3::text[])""",
            self.chain_id, location_id, client_ids,
        )
        visits = [visit_from_row(r) for r in rows] + await desks.of_clients(self.conn, self.chain_id, client_ids,
                                                                             location_id)
        return {c: stats_of(v for v in visits if v.client_id == c) for c in {v.client_id for v in visits}}

    async def location_clients_page(self, location_id: str, after: str, limit: int) -> list[str]:
        rows = await self.conn.fetch(
            """(SELECT DISTINCT client_id FROM visits WHERE chain_id = $1 AND location_id = $2 AND client_id > $3
                ORDER BY client_id LIMIT $4)
               UNION  -- a client who only bought at the desk is the location's client too
               (SELECT DISTINCT client_id FROM desk_sales WHERE chain_id = $1 AND location_id = $2 AND client_id > $3
                ORDER BY client_id LIMIT $4)
               ORDER BY client_id LIMIT $4""",
            self.chain_id, location_id, after, limit,
        )
        return [r["client_id"] for r in rows]

    async def inactive_clients_page(self, location_id: str, periods: list[int], as_of: datetime, after: str,
                                    limit: int) -> list[str]:
        """Clients of the location who, by `as_of`, have been away one of `periods` (days) since a moment
        after their state was last calculated: the only ones the passing of time can change."""
        rows = await self.conn.fetch(
            """WITH last AS (
                   SELECT client_id, coalesce(max(coalesce(scheduled_at, status_at)) FILTER (WHERE status = 'arrived'),
                                              max(paid_at)) AS at
                   FROM visits WHERE chain_id = $1 AND location_id = $2 AND client_id > $3 GROUP BY client_id)
               SELECT last.client_id FROM last
               LEFT JOIN client_loyalty l ON l.chain_id = $1 AND l.location_id = $2 AND l.client_id = last.client_id
               WHERE EXISTS (SELECT 1 FROM unnest($4::int[]) AS d(days),
                                  LATERAL (SELECT last.at + make_interval(days => d.days) AS crossed) AS c
                             WHERE c.crossed <= $5 AND (l.calculated_at IS NULL OR l.calculated_at < c.crossed))
               ORDER BY last.client_id LIMIT $6""",
            self.chain_id, location_id, after, periods, as_of, limit,
        )
        return [r["client_id"] for r in rows]

    # --- the location program and the clients' state ----------------------------------------

    async def save_program(self, location_id: str, spec: dict[str, Any]) -> None:
        """Waits for the batches applying visits at the location (batch_repository.LOCATION_LOCK)."""
        lock = batch.LOCATION_LOCK.format(c="$1::text", l="$2::text")
        await self.conn.execute(f"SELECT pg_advisory_xact_lock({lock})", self.chain_id, location_id)
        await self.conn.execute(
            """INSERT INTO programs (chain_id, location_id, spec) VALUES ($1,$2,$3)
               ON CONFLICT (chain_id, location_id) DO UPDATE SET spec = EXCLUDED.spec, updated_at = now()""",
            self.chain_id, location_id, spec,
        )

    async def program_spec(self, location_id: str) -> dict[str, Any] | None:
        return await self.conn.fetchval(  # type: ignore[no-any-return]
            "SELECT spec FROM programs WHERE chain_id = $1 AND location_id = $2", self.chain_id, location_id)

    async def program(self, location_id: str) -> Program | None:
        spec = await self.program_spec(location_id)
        return program_from_spec(spec) if spec is not None else None

    async def programs(self) -> dict[str, Program]:
        rows = await self.conn.fetch("SELECT location_id, spec FROM programs WHERE chain_id = $1", self.chain_id)
        return {r["location_id"]: program_from_spec(r["spec"]) for r in rows}

    async def lock_states(self, location_id: str, client_ids: list[str], as_of: datetime) -> dict[str, LoyaltyState]:
        """The clients' current state, their rows locked (created when missing) in client order."""
        states = await batch.lock_states(self.conn, [(self.chain_id, location_id, c) for c in client_ids], as_of)
        return {client_id: state for (_, _, client_id), state in states.items()}

    async def save_states(self, location_id: str, states: dict[str, LoyaltyState]) -> None:
        await batch.save_states(self.conn, {(self.chain_id, location_id, c): s for c, s in states.items()})

    async def state(self, location_id: str, client_id: str) -> LoyaltyState | None:
        r = await self.conn.fetchrow(
            f"""SELECT {STATE_COLUMNS} FROM client_loyalty
               WHERE chain_id = $1 AND location_id = $2 AND client_id = $3""",
            self.chain_id, location_id, client_id,
        )
        return state_from_row(r) if r else None

    # --- background recalculations -----------------------------------------------------------

    async def start_recalc(self, location_id: str) -> int:
        await self.conn.execute(
            """UPDATE program_recalcs SET status = 'superseded', finished_at = now()
               WHERE chain_id = $1 AND location_id = $2 AND status = 'running'""", self.chain_id, location_id)
        return await self.conn.fetchval(  # type: ignore[no-any-return]
            "INSERT INTO program_recalcs (chain_id, location_id) VALUES ($1,$2) RETURNING id",
            self.chain_id, location_id)

    async def advance_recalc(self, recalc_id: int, cursor: str, clients: int, changed: int, done: bool) -> None:
        await self.conn.execute(
            """UPDATE program_recalcs SET cursor = $3, clients_done = clients_done + $4, changed = changed + $5,
                   status = CASE WHEN $6 THEN 'done' ELSE status END,
                   finished_at = CASE WHEN $6 THEN now() ELSE finished_at END
               WHERE chain_id = $1 AND id = $2""",
            self.chain_id, recalc_id, cursor, clients, changed, done,
        )

    async def last_recalc(self, location_id: str) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            """SELECT status, clients_done, changed, started_at, finished_at FROM program_recalcs
               WHERE chain_id = $1 AND location_id = $2 ORDER BY id DESC LIMIT 1""", self.chain_id, location_id)

    # --- card types, promotions, cards --------------------------------------------------------

    async def add_card_type(self, name: str, location_ids: list[str]) -> CardType:
        row = await self.conn.fetchrow(
            """INSERT INTO card_types (id, chain_id, name, location_ids) VALUES ($1,$2,$3,$4) RETURNING *""",
            uuid.uuid4(), self.chain_id, name, location_ids)
        return card_type_from_row(row)

    async def update_card_type(self, type_id: str, name: str, location_ids: list[str]) -> CardType:
        row = await self.conn.fetchrow(
            """UPDATE card_types SET name = $3, location_ids = $4 WHERE chain_id = $1 AND id = $2 RETURNING *""",
            self.chain_id, uuid.UUID(type_id), name, location_ids)
        return card_type_from_row(row)

    async def card_type(self, type_id: str) -> CardType | None:
        key = as_uuid(type_id)
        if key is None:
            return None
        row = await self.conn.fetchrow("SELECT * FROM card_types WHERE chain_id = $1 AND id = $2", self.chain_id, key)
        return card_type_from_row(row) if row else None

    async def card_types(self, page: Page) -> list[CardType]:
        rows = await self.conn.fetch(
            """SELECT * FROM card_types WHERE chain_id = $1
                 AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
               ORDER BY created_at, id LIMIT $4""",
            self.chain_id, *page.after(datetime, uuid.UUID), page.fetch)
        return [card_type_from_row(r) for r in page.cut(rows, _created_key)]

    async def existing_card_types(self, ids: list[str]) -> set[str]:
        keys = [k for k in (as_uuid(i) for i in ids) if k is not None]
        rows = await self.conn.fetch("SELECT id FROM card_types WHERE chain_id = $1 AND id = ANY($2::uuid[])",
                                     self.chain_id, keys)
        return {str(r["id"]) for r in rows}

    async def save_promotion(self, promotion_id: str | None, spec: dict[str, Any]) -> asyncpg.Record:
        if promotion_id is None:
            return await self.conn.fetchrow(
                "INSERT INTO promotions (id, chain_id, spec) VALUES ($1,$2,$3) RETURNING *",
                uuid.uuid4(), self.chain_id, spec)
        return await self.conn.fetchrow(
            "UPDATE promotions SET spec = $3 WHERE chain_id = $1 AND id = $2 RETURNING *",
            self.chain_id, uuid.UUID(promotion_id), spec)

    async def promotion_row(self, promotion_id: str) -> asyncpg.Record | None:
        key = as_uuid(promotion_id)
        if key is None:
            return None
        return await self.conn.fetchrow("SELECT * FROM promotions WHERE chain_id = $1 AND id = $2",
                                        self.chain_id, key)

    async def promotion_rows(self, page: Page) -> list[asyncpg.Record]:
        rows = await self.conn.fetch(
            """SELECT * FROM promotions WHERE chain_id = $1
                 AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
               ORDER BY created_at, id LIMIT $4""",
            self.chain_id, *page.after(datetime, uuid.UUID), page.fetch)
        return page.cut(rows, _created_key)

    async def live_promotions(self, card_type_ids: list[str], besides: str | None) -> dict[str, int]:
        """How many live promotions each card type has, `besides` left out; the card types are locked
        first, so promotions made at once for one card type are counted one after the other."""
        await self.conn.execute(
            "SELECT 1 FROM card_types WHERE chain_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE",
            self.chain_id, [uuid.UUID(i) for i in card_type_ids])
        rows = await self.conn.fetch(
            """SELECT t.id AS card_type_id, count(*) AS n
               FROM promotions p CROSS JOIN jsonb_array_elements_text(p.spec->'card_type_ids') AS t(id)
               WHERE p.chain_id = $1 AND t.id = ANY($2::text[])
                 AND NOT coalesce((p.spec->>'archived')::boolean, false) AND p.id IS DISTINCT FROM $3
               GROUP BY t.id""",
            self.chain_id, card_type_ids, as_uuid(besides) if besides else None)
        return {r["card_type_id"]: r["n"] for r in rows}

    async def card_count(self, client_id: str) -> int:
        return int(await self.conn.fetchval("SELECT count(*) FROM cards WHERE chain_id = $1 AND client_id = $2",
                                            self.chain_id, client_id))

    async def add_card(self, card_type_id: str, client_id: str, phone: str | None, number: str,
                       issued_at: datetime | None = None) -> Card | None:
        """`issued_at`: now when not given, never later than now."""
        row = await self.conn.fetchrow(
            """INSERT INTO cards (id, chain_id, card_type_id, client_id, phone, number, issued_at)
               VALUES ($1,$2,$3,$4,$5,$6, least(coalesce($7, now()), now()))
               ON CONFLICT (chain_id, number) DO NOTHING RETURNING *""",
            uuid.uuid4(), self.chain_id, uuid.UUID(card_type_id), client_id, phone, number, issued_at)
        return card_from_row(row) if row else None

    async def card(self, id_or_number: str, *, lock: bool = False) -> Card | None:
        """A card by its id or its number (what a cashier types)."""
        key = as_uuid(id_or_number)
        row = await self.conn.fetchrow(
            f"""SELECT * FROM cards WHERE chain_id = $1 AND (id = $2 OR number = $3)
                {'FOR UPDATE' if lock else ''}""", self.chain_id, key, id_or_number)
        return card_from_row(row) if row else None

    async def find_cards(self, client_id: str | None, page: Page) -> list[Card]:
        rows = await self.conn.fetch(
            """SELECT * FROM cards WHERE chain_id = $1 AND ($2::text IS NULL OR client_id = $2)
                 AND ($3::timestamptz IS NULL OR (issued_at, id) > ($3, $4::uuid))
               ORDER BY issued_at, id LIMIT $5""",
            self.chain_id, client_id, *page.after(datetime, uuid.UUID), page.fetch)
        return [card_from_row(r) for r in page.cut(rows, lambda r: (r["issued_at"], r["id"]))]

    async def cards_by_ids(self, ids: list[str]) -> list[Card]:
        rows = await self.conn.fetch(
            "SELECT * FROM cards WHERE chain_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE",
            self.chain_id, [uuid.UUID(i) for i in ids])
        return [card_from_row(r) for r in rows]

    # --- points --------------------------------------------------------------------------------

    async def lots(self, card_id: str) -> list[Lot]:
        return (await batch.lots(self.conn, [(self.chain_id, card_id)])).get((self.chain_id, card_id), [])

    async def take_from_lots(self, taken: dict[int, Decimal]) -> None:
        await batch.take_from_lots(self.conn, {(self.chain_id, lot): amount for lot, amount in taken.items()})

    async def add_lot(self, card_id: str, at: datetime, amount: Decimal, burns_at: datetime | None,
                      notice_at: datetime | None, promotion_id: str | None, visit_id: str | None) -> None:
        await self.conn.execute(
            """INSERT INTO bonus_lots (chain_id, card_id, accrued_at, amount, remaining, burns_at, notice_at,
                   promotion_id, visit_id) VALUES ($1,$2,$3,$4,$4,$5,$6,$7,$8)""",
            self.chain_id, uuid.UUID(card_id), at, amount, burns_at, notice_at,
            uuid.UUID(promotion_id) if promotion_id else None, visit_id)

    async def move_points(self, card_id: str, at: datetime, kind: str, amount: Decimal, *,
                          visit_id: str | None = None, promotion_id: str | None = None,
                          location_id: str | None = None, reason: str | None = None) -> Decimal:
        """Changes the card's balance by `amount` (signed) and records the transaction; answers the
        balance after it."""
        balance: Decimal = await self.conn.fetchval(
            "UPDATE cards SET balance = balance + $3 WHERE chain_id = $1 AND id = $2 RETURNING balance",
            self.chain_id, uuid.UUID(card_id), amount)
        await self.conn.execute(
            """INSERT INTO card_transactions (chain_id, card_id, at, kind, amount, balance_after, visit_id,
                   promotion_id, location_id, reason) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)""",
            self.chain_id, uuid.UUID(card_id), at, kind, amount, balance, visit_id,
            uuid.UUID(promotion_id) if promotion_id else None, location_id, reason)
        return balance

    async def transactions(self, card_id: str) -> list[asyncpg.Record]:
        return await self.conn.fetch(  # type: ignore[no-any-return]
            """SELECT id, at, kind, amount, balance_after, visit_id, promotion_id, location_id, reason
               FROM card_transactions WHERE chain_id = $1 AND card_id = $2 ORDER BY id""",
            self.chain_id, uuid.UUID(card_id))

    async def points(self, card_id: str) -> list[asyncpg.Record]:
        """The card's lots with points left, oldest first (the order spending takes them)."""
        return await self.conn.fetch(  # type: ignore[no-any-return]
            """SELECT accrued_at, amount, remaining, burns_at, promotion_id FROM bonus_lots
               WHERE chain_id = $1 AND card_id = $2 AND remaining > 0 ORDER BY accrued_at, id""",
            self.chain_id, uuid.UUID(card_id))

    async def lots_to_notice(self, as_of: datetime) -> list[asyncpg.Record]:
        return await self.conn.fetch(
            """UPDATE bonus_lots SET noticed_at = $2
               WHERE chain_id = $1 AND remaining > 0 AND noticed_at IS NULL AND notice_at <= $2 AND burns_at > $2
               RETURNING card_id, burns_at, remaining""", self.chain_id, as_of)  # type: ignore[no-any-return]

    async def cards_due_to_burn(self, as_of: datetime) -> list[str]:
        rows = await self.conn.fetch(
            """SELECT DISTINCT card_id FROM bonus_lots WHERE chain_id = $1 AND remaining > 0 AND burns_at <= $2""",
            self.chain_id, as_of)
        return [str(r["card_id"]) for r in rows]

    async def lots_to_burn(self, as_of: datetime) -> list[asyncpg.Record]:
        """Empties every lot due to burn by `as_of`; answers what each held (card, amount)."""
        return await self.conn.fetch(
            """UPDATE bonus_lots AS l SET remaining = 0
               FROM (SELECT id, remaining FROM bonus_lots WHERE chain_id = $1 AND remaining > 0 AND burns_at <= $2
                     ORDER BY card_id, id FOR UPDATE) AS due
               WHERE l.id = due.id RETURNING l.card_id, due.remaining AS amount""",
            self.chain_id, as_of)  # type: ignore[no-any-return]


def _created_key(r: asyncpg.Record) -> tuple[datetime, uuid.UUID]:
    return r["created_at"], r["id"]
