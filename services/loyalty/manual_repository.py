"""The SQL of the client card's manual values (usecases/manual.py): stored beside what the client has, in
the client's `client_loyalty` row at the location (locked by `batch.lock_states` first, like every change
of that row)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from services.loyalty.domain import Manual


async def save_manual(
    conn: asyncpg.Connection, chain_id: str, location_id: str, client_id: str, manual: Manual
) -> None:
    await conn.execute(
        """UPDATE client_loyalty SET manual_discount_percent = $4, manual_level = $5, manual_categories = $6
           WHERE chain_id = $1 AND location_id = $2 AND client_id = $3""",
        chain_id,
        location_id,
        client_id,
        manual.discount_percent,
        manual.level,
        None if manual.categories is None else list(manual.categories),
    )


async def calculated_at(conn: asyncpg.Connection, chain_id: str, location_id: str, client_id: str) -> datetime | None:
    """The moment the client's state at the location was last calculated for (what its derived values are
    as of)."""
    return await conn.fetchval(
        "SELECT calculated_at FROM client_loyalty WHERE chain_id = $1 AND location_id = $2 AND client_id = $3",
        chain_id,
        location_id,
        client_id,
    )
