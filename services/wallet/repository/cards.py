"""Gift cards, their ledger, and the visits' payments."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.wallet.domain import GiftCard
from services.wallet.repository.rows import CARD_COLUMNS, card_from_row
from shared.paging import Page

CARDS = f"SELECT {CARD_COLUMNS} FROM gift_cards c JOIN gift_card_types t ON t.id = c.type_id"


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


class CardQueries:
    conn: asyncpg.Connection
    chain_id: str

    async def add_card(self, card: GiftCard, client: dict[str, Any], holder: dict[str, Any] | None) -> None:
        await self.conn.execute(
            """INSERT INTO gift_cards (id, chain_id, type_id, code, sale_id, client_id, holder_id, phone, client,
                   holder, location_id, price, balance, status, sold_at, valid_until)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)""",
            uuid.UUID(card.id),
            self.chain_id,
            uuid.UUID(card.type.id),
            card.code,
            card.sale_id,
            card.client_id,
            card.holder_id,
            card.phone,
            client,
            holder,
            card.location_id,
            card.price,
            card.balance,
            card.status,
            card.sold_at,
            card.valid_until,
        )

    async def sale_issued(self, sale_id: str) -> bool:
        found = await self.conn.fetchval(
            "SELECT 1 FROM gift_cards WHERE chain_id = $1 AND sale_id = $2", self.chain_id, sale_id
        )
        return found is not None

    async def code_taken(self, code: str) -> bool:
        found = await self.conn.fetchval(
            "SELECT 1 FROM gift_cards WHERE chain_id = $1 AND upper(code) = upper($2)", self.chain_id, code
        )
        return found is not None

    async def get_card(self, code_or_id: str) -> GiftCard | None:
        row = await self.conn.fetchrow(
            f"{CARDS} WHERE c.chain_id = $1 AND (upper(c.code) = upper($2) OR c.id = $3)",
            self.chain_id,
            code_or_id,
            _uuid(code_or_id),
        )
        return card_from_row(row) if row else None

    async def lock_cards(self, codes: list[str], ids: list[str]) -> list[GiftCard]:
        """The cards named (by code or id), locked in the order of their ids: two transactions paying with
        the same cards wait for each other, never deadlock, and each sees the other's balance."""
        keys = [k for k in (_uuid(i) for i in ids) if k is not None]
        rows = await self.conn.fetch(
            f"""{CARDS} WHERE c.chain_id = $1 AND (upper(c.code) = ANY($2::text[]) OR c.id = ANY($3::uuid[]))
                ORDER BY c.id FOR UPDATE OF c""",
            self.chain_id,
            [c.upper() for c in codes],
            keys,
        )
        return [card_from_row(r) for r in rows]

    async def lock_cards_by_id(self, ids: list[str]) -> list[GiftCard]:
        return await self.lock_cards([], ids)

    async def save_card(self, card: GiftCard) -> None:
        await self.conn.execute(
            """UPDATE gift_cards SET balance = $3, status = $4, valid_until = $5, updated_at = now()
               WHERE chain_id = $1 AND id = $2""",
            self.chain_id,
            uuid.UUID(card.id),
            card.balance,
            card.status,
            card.valid_until,
        )

    async def save_cards(self, cards: list[GiftCard]) -> None:
        await self.conn.executemany(
            """UPDATE gift_cards SET balance = $3, status = $4, valid_until = $5, updated_at = now()
               WHERE chain_id = $1 AND id = $2""",
            [(self.chain_id, uuid.UUID(c.id), c.balance, c.status, c.valid_until) for c in cards],
        )

    async def add_card_movements(self, rows: list[tuple[Any, ...]]) -> None:
        """(gift_card_id, at, kind, amount, balance, location_id, visit_id, line, source, detail)."""
        await self.conn.executemany(
            """INSERT INTO gift_card_movements (chain_id, gift_card_id, at, kind, amount, balance, location_id,
                   visit_id, line, source, detail)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
            [(self.chain_id, *r) for r in rows],
        )

    async def add_card_movement(
        self,
        card: GiftCard,
        *,
        at: datetime,
        kind: str,
        amount: Decimal,
        source: str,
        location_id: str | None = None,
        visit_id: str | None = None,
        line: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await self.conn.execute(
            """INSERT INTO gift_card_movements (chain_id, gift_card_id, at, kind, amount, balance, location_id,
                   visit_id, line, source, detail)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
            self.chain_id,
            uuid.UUID(card.id),
            at,
            kind,
            amount,
            card.balance,
            location_id,
            visit_id,
            line,
            source,
            detail or {},
        )

    async def card_history(self, card_id: str, page: Page) -> list[asyncpg.Record]:
        (after,) = page.after(int)
        rows = await self.conn.fetch(
            """SELECT * FROM gift_card_movements WHERE chain_id = $1 AND gift_card_id = $2
                 AND ($3::bigint IS NULL OR id > $3) ORDER BY id LIMIT $4""",
            self.chain_id,
            uuid.UUID(card_id),
            after,
            page.fetch,
        )
        return page.cut(rows, lambda r: (r["id"],))

    async def cards_of(self, client_id: str, page: Page) -> list[GiftCard]:
        (after,) = page.after(uuid.UUID)
        rows = await self.conn.fetch(
            f"""{CARDS} WHERE c.chain_id = $1 AND (c.client_id = $2 OR c.holder_id = $2)
                  AND ($3::uuid IS NULL OR c.id > $3) ORDER BY c.id LIMIT $4""",
            self.chain_id,
            client_id,
            after,
            page.fetch,
        )
        return [card_from_row(r) for r in page.cut(rows, lambda r: (r["id"],))]

    # --- the visits' payments ------------------------------------------------------------------------

    async def add_payments(self, rows: list[tuple[Any, ...]]) -> None:
        """(visit_id, line, n, instrument, gift_card_id, client_id, amount, taken, location_id, paid_at)."""
        await self.conn.executemany(
            """INSERT INTO visit_payments (chain_id, visit_id, line, n, instrument, gift_card_id, client_id, amount,
                   taken, location_id, paid_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
            [(self.chain_id, *r) for r in rows],
        )

    async def unrefunded_payments(self, visit_id: str, cancelled_at: datetime) -> list[asyncpg.Record]:
        """The visit's payments a cancellation at `cancelled_at` gives back: not given back yet, and made no
        later than it (domain.cancellation_undoes: one made after it stands, whichever was delivered first)."""
        return await self.conn.fetch(
            """SELECT * FROM visit_payments WHERE chain_id = $1 AND visit_id = $2 AND refunded_at IS NULL
                 AND paid_at <= $3
               ORDER BY line, n FOR UPDATE""",
            self.chain_id,
            visit_id,
            cancelled_at,
        )

    async def mark_refunded(self, visit_id: str, at: datetime) -> None:
        await self.conn.execute(
            """UPDATE visit_payments SET refunded_at = $3
               WHERE chain_id = $1 AND visit_id = $2 AND refunded_at IS NULL AND paid_at <= $3""",
            self.chain_id,
            visit_id,
            at,
        )

    async def add_cancellation(self, visit_id: str, at: datetime, event: dict[str, Any]) -> None:
        """Keeps a visit's (first) cancellation, `event` its JSON form."""
        await self.conn.execute(
            """INSERT INTO cancelled_visits (chain_id, visit_id, cancelled_at, event) VALUES ($1, $2, $3, $4)
               ON CONFLICT (chain_id, visit_id) DO NOTHING""",
            self.chain_id,
            visit_id,
            at,
            event,
        )

    async def cancellations(self, visit_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The visits' kept cancellations (their events' JSON form), by visit id."""
        rows = await self.conn.fetch(
            "SELECT visit_id, event FROM cancelled_visits WHERE chain_id = $1 AND visit_id = ANY($2)",
            self.chain_id,
            visit_ids,
        )
        return {r["visit_id"]: r["event"] for r in rows}
