"""Gift card types."""

from __future__ import annotations

import uuid

import asyncpg

from services.wallet.domain import GiftCardType
from services.wallet.repository.rows import limits_json, type_from_row, validity_json
from shared.paging import Page


class TypeQueries:
    def __init__(self, conn: asyncpg.Connection, chain_id: str) -> None:
        self.conn = conn
        self.chain_id = chain_id

    async def add_type(self, t: GiftCardType) -> None:
        await self.conn.execute(
            """INSERT INTO gift_card_types (id, chain_id, name, par_value, write_off, archived, allow_without_code,
                   online_sale, location_ids, limits, validity)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
            uuid.UUID(t.id),
            self.chain_id,
            *self._values(t),
        )

    async def update_type(self, t: GiftCardType) -> None:
        await self.conn.execute(
            """UPDATE gift_card_types SET name = $3, par_value = $4, write_off = $5, archived = $6,
                   allow_without_code = $7, online_sale = $8, location_ids = $9, limits = $10, validity = $11,
                   updated_at = now()
               WHERE chain_id = $2 AND id = $1""",
            uuid.UUID(t.id),
            self.chain_id,
            *self._values(t),
        )

    @staticmethod
    def _values(t: GiftCardType) -> list[object]:
        return [
            t.name,
            t.par_value,
            t.write_off,
            t.archived,
            t.allow_without_code,
            t.online_sale,
            list(t.location_ids),
            limits_json(t.limits),
            validity_json(t.validity),
        ]

    async def get_type(self, type_id: str, *, lock: bool = False) -> GiftCardType | None:
        try:
            key = uuid.UUID(type_id)
        except ValueError:
            return None
        row = await self.conn.fetchrow(
            "SELECT * FROM gift_card_types WHERE chain_id = $1 AND id = $2" + (" FOR UPDATE" if lock else ""),
            self.chain_id,
            key,
        )
        return type_from_row(row) if row else None

    async def list_types(self, archived: bool, page: Page) -> list[GiftCardType]:
        rows = await self.conn.fetch(
            """SELECT * FROM gift_card_types WHERE chain_id = $1 AND archived = $2
                 AND ($3::text IS NULL OR (name, id) > ($3, $4::uuid))
               ORDER BY name, id LIMIT $5""",
            self.chain_id,
            archived,
            *page.after(str, uuid.UUID),
            page.fetch,
        )
        return [type_from_row(r) for r in page.cut(rows, lambda r: (r["name"], r["id"]))]
