from datetime import datetime

import asyncpg

from services.inventory.repository import Repository


async def list_operations(conn: asyncpg.Connection, chain_id: str, op_type: str | None,
                          start: datetime | None, end: datetime | None) -> list[asyncpg.Record]:
    return await Repository(conn, chain_id).operations(op_type, start, end)
