"""All SQL of the inventory service. Every query is scoped by chain_id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg


class Repository:
    def __init__(self, conn: asyncpg.Connection, chain_id: str) -> None:
        self.conn = conn
        self.chain_id = chain_id

    async def add_operation(self, op_type: str, location_id: str | None, storage_id: str | None, source: str,
                            lines: list[dict[str, Any]], at: datetime) -> None:
        await self.conn.execute(
            """INSERT INTO operations (id, chain_id, type, location_id, storage_id, source, lines, occurred_at)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8)""",
            uuid.uuid4(), self.chain_id, op_type, location_id, storage_id, source, lines, at,
        )

    async def operations(self, op_type: str | None, start: datetime | None,
                         end: datetime | None) -> list[asyncpg.Record]:
        return await self.conn.fetch(  # type: ignore[no-any-return]
            """SELECT id, number, type, location_id, storage_id, source, lines, occurred_at FROM operations
               WHERE chain_id = $1 AND ($2::text IS NULL OR type = $2)
                 AND ($3::timestamptz IS NULL OR occurred_at >= $3) AND ($4::timestamptz IS NULL OR occurred_at < $4)
               ORDER BY occurred_at, number""",
            self.chain_id, op_type, start, end,
        )
