"""The SQL of the loyalty bonus program's requests and jobs: card types, promotions, cards, their points
(lots, moves, burns). Every query is scoped by chain_id. `Repository` (repository.py) is one of these,
with the location program's SQL besides."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.loyalty import batch_repository as batch
from services.loyalty.domain import Lot
from services.loyalty.domain.cards import Card, CardType
from services.loyalty.rows import card_from_row, card_type_from_row
from shared.db import as_uuid
from shared.paging import Page


class CardRepository:
    def __init__(self, conn: asyncpg.Connection, chain_id: str) -> None:
        self.conn = conn
        self.chain_id = chain_id

    # --- card types, promotions, cards --------------------------------------------------------

    async def add_card_type(self, name: str, location_ids: list[str]) -> CardType:
        row = await self.conn.fetchrow(
            """INSERT INTO card_types (id, chain_id, name, location_ids) VALUES ($1,$2,$3,$4) RETURNING *""",
            uuid.uuid4(),
            self.chain_id,
            name,
            location_ids,
        )
        return card_type_from_row(row)

    async def update_card_type(self, type_id: str, name: str, location_ids: list[str]) -> CardType:
        row = await self.conn.fetchrow(
            """UPDATE card_types SET name = $3, location_ids = $4 WHERE chain_id = $1 AND id = $2 RETURNING *""",
            self.chain_id,
            uuid.UUID(type_id),
            name,
            location_ids,
        )
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
            self.chain_id,
            *page.after(datetime, uuid.UUID),
            page.fetch,
        )
        return [card_type_from_row(r) for r in page.cut(rows, _created_key)]

    async def existing_card_types(self, ids: list[str]) -> set[str]:
        keys = [k for k in (as_uuid(i) for i in ids) if k is not None]
        rows = await self.conn.fetch(
            "SELECT id FROM card_types WHERE chain_id = $1 AND id = ANY($2::uuid[])", self.chain_id, keys
        )
        return {str(r["id"]) for r in rows}

    async def save_promotion(self, promotion_id: str | None, spec: dict[str, Any]) -> asyncpg.Record:
        if promotion_id is None:
            return await self.conn.fetchrow(
                "INSERT INTO promotions (id, chain_id, spec) VALUES ($1,$2,$3) RETURNING *",
                uuid.uuid4(),
                self.chain_id,
                spec,
            )
        return await self.conn.fetchrow(
            "UPDATE promotions SET spec = $3 WHERE chain_id = $1 AND id = $2 RETURNING *",
            self.chain_id,
            uuid.UUID(promotion_id),
            spec,
        )

    async def promotion_row(self, promotion_id: str) -> asyncpg.Record | None:
        key = as_uuid(promotion_id)
        if key is None:
            return None
        return await self.conn.fetchrow("SELECT * FROM promotions WHERE chain_id = $1 AND id = $2", self.chain_id, key)

    async def promotion_rows(self, page: Page) -> list[asyncpg.Record]:
        rows = await self.conn.fetch(
            """SELECT * FROM promotions WHERE chain_id = $1
                 AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
               ORDER BY created_at, id LIMIT $4""",
            self.chain_id,
            *page.after(datetime, uuid.UUID),
            page.fetch,
        )
        return page.cut(rows, _created_key)

    async def live_promotions(self, card_type_ids: list[str], besides: str | None) -> dict[str, int]:
        """How many live promotions each card type has, `besides` left out; the card types are locked
        first, so promotions made at once for one card type are counted one after the other."""
        await self.conn.execute(
            "SELECT 1 FROM card_types WHERE chain_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE",
            self.chain_id,
            [uuid.UUID(i) for i in card_type_ids],
        )
        rows = await self.conn.fetch(
            """SELECT t.id AS card_type_id, count(*) AS n
               FROM promotions p CROSS JOIN jsonb_array_elements_text(p.spec->'card_type_ids') AS t(id)
               WHERE p.chain_id = $1 AND t.id = ANY($2::text[])
                 AND NOT coalesce((p.spec->>'archived')::boolean, false) AND p.id IS DISTINCT FROM $3
               GROUP BY t.id""",
            self.chain_id,
            card_type_ids,
            as_uuid(besides) if besides else None,
        )
        return {r["card_type_id"]: r["n"] for r in rows}

    async def card_count(self, client_id: str) -> int:
        return int(
            await self.conn.fetchval(
                "SELECT count(*) FROM cards WHERE chain_id = $1 AND client_id = $2", self.chain_id, client_id
            )
        )

    async def add_card(
        self, card_type_id: str, client_id: str, phone: str | None, number: str, issued_at: datetime | None = None
    ) -> Card | None:
        """`issued_at`: now when not given, never later than now."""
        row = await self.conn.fetchrow(
            """INSERT INTO cards (id, chain_id, card_type_id, client_id, phone, number, issued_at)
               VALUES ($1,$2,$3,$4,$5,$6, least(coalesce($7, now()), now()))
               ON CONFLICT (chain_id, number) DO NOTHING RETURNING *""",
            uuid.uuid4(),
            self.chain_id,
            uuid.UUID(card_type_id),
            client_id,
            phone,
            number,
            issued_at,
        )
        return card_from_row(row) if row else None

    async def card(self, id_or_number: str, *, lock: bool = False) -> Card | None:
        """A card by its id or its number (what a cashier types)."""
        key = as_uuid(id_or_number)
        row = await self.conn.fetchrow(
            f"""SELECT * FROM cards WHERE chain_id = $1 AND (id = $2 OR number = $3)
                {"FOR UPDATE" if lock else ""}""",
            self.chain_id,
            key,
            id_or_number,
        )
        return card_from_row(row) if row else None

    async def find_cards(self, client_id: str | None, page: Page) -> list[Card]:
        rows = await self.conn.fetch(
            """SELECT * FROM cards WHERE chain_id = $1 AND ($2::text IS NULL OR client_id = $2)
                 AND ($3::timestamptz IS NULL OR (issued_at, id) > ($3, $4::uuid))
               ORDER BY issued_at, id LIMIT $5""",
            self.chain_id,
            client_id,
            *page.after(datetime, uuid.UUID),
            page.fetch,
        )
        return [card_from_row(r) for r in page.cut(rows, lambda r: (r["issued_at"], r["id"]))]

    async def cards_by_ids(self, ids: list[str]) -> list[Card]:
        rows = await self.conn.fetch(
            "SELECT * FROM cards WHERE chain_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE",
            self.chain_id,
            [uuid.UUID(i) for i in ids],
        )
        return [card_from_row(r) for r in rows]

    # --- points --------------------------------------------------------------------------------

    async def lots(self, card_id: str) -> list[Lot]:
        return (await batch.lots(self.conn, [(self.chain_id, card_id)])).get((self.chain_id, card_id), [])

    async def take_from_lots(self, taken: dict[int, Decimal]) -> None:
        await batch.take_from_lots(self.conn, {(self.chain_id, lot): amount for lot, amount in taken.items()})

    async def add_lot(
        self,
        card_id: str,
        at: datetime,
        amount: Decimal,
        burns_at: datetime | None,
        notice_at: datetime | None,
        promotion_id: str | None,
        visit_id: str | None,
    ) -> None:
        await self.conn.execute(
            """INSERT INTO bonus_lots (chain_id, card_id, accrued_at, amount, remaining, burns_at, notice_at,
                   promotion_id, visit_id) VALUES ($1,$2,$3,$4,$4,$5,$6,$7,$8)""",
            self.chain_id,
            uuid.UUID(card_id),
            at,
            amount,
            burns_at,
            notice_at,
            uuid.UUID(promotion_id) if promotion_id else None,
            visit_id,
        )

    async def move_points(
        self,
        card_id: str,
        at: datetime,
        kind: str,
        amount: Decimal,
        *,
        visit_id: str | None = None,
        promotion_id: str | None = None,
        location_id: str | None = None,
        reason: str | None = None,
    ) -> Decimal:
        """Changes the card's balance by `amount` (signed) and records the transaction; answers the
        balance after it."""
        balance: Decimal = await self.conn.fetchval(
            "UPDATE cards SET balance = balance + $3 WHERE chain_id = $1 AND id = $2 RETURNING balance",
            self.chain_id,
            uuid.UUID(card_id),
            amount,
        )
        await self.conn.execute(
            """INSERT INTO card_transactions (chain_id, card_id, at, kind, amount, balance_after, visit_id,
                   promotion_id, location_id, reason) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)""",
            self.chain_id,
            uuid.UUID(card_id),
            at,
            kind,
            amount,
            balance,
            visit_id,
            uuid.UUID(promotion_id) if promotion_id else None,
            location_id,
            reason,
        )
        return balance

    async def transactions(self, card_id: str) -> list[asyncpg.Record]:
        return await self.conn.fetch(
            """SELECT id, at, kind, amount, balance_after, visit_id, promotion_id, location_id, reason
               FROM card_transactions WHERE chain_id = $1 AND card_id = $2 ORDER BY id""",
            self.chain_id,
            uuid.UUID(card_id),
        )

    async def points(self, card_id: str) -> list[asyncpg.Record]:
        """The card's lots with points left, oldest first (the order spending takes them)."""
        return await self.conn.fetch(
            """SELECT accrued_at, amount, remaining, burns_at, promotion_id FROM bonus_lots
               WHERE chain_id = $1 AND card_id = $2 AND remaining > 0 ORDER BY accrued_at, id""",
            self.chain_id,
            uuid.UUID(card_id),
        )

    async def lots_to_notice(self, as_of: datetime) -> list[asyncpg.Record]:
        return await self.conn.fetch(
            """UPDATE bonus_lots SET noticed_at = $2
               WHERE chain_id = $1 AND remaining > 0 AND noticed_at IS NULL AND notice_at <= $2 AND burns_at > $2
               RETURNING card_id, burns_at, remaining""",
            self.chain_id,
            as_of,
        )

    async def cards_due_to_burn(self, as_of: datetime) -> list[str]:
        rows = await self.conn.fetch(
            """SELECT DISTINCT card_id FROM bonus_lots WHERE chain_id = $1 AND remaining > 0 AND burns_at <= $2""",
            self.chain_id,
            as_of,
        )
        return [str(r["card_id"]) for r in rows]

    async def lots_to_burn(self, as_of: datetime) -> list[asyncpg.Record]:
        """Empties every lot due to burn by `as_of`; answers what each held (card, amount)."""
        return await self.conn.fetch(
            """UPDATE bonus_lots AS l SET remaining = 0
               FROM (SELECT id, remaining FROM bonus_lots WHERE chain_id = $1 AND remaining > 0 AND burns_at <= $2
                     ORDER BY card_id, id FOR UPDATE) AS due
               WHERE l.id = due.id RETURNING l.card_id, due.remaining AS amount""",
            self.chain_id,
            as_of,
        )


def _created_key(r: asyncpg.Record) -> tuple[datetime, uuid.UUID]:
    return r["created_at"], r["id"]
