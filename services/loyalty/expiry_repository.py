"""The SQL of the discount-expiration warnings (usecases/discount_expiry.py): which clients of a location
may be due a warning, their states, and the warnings claimed (once per client, location and lapse
moment: the discount_warnings table's key)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from services.loyalty.domain import LoyaltyState
from services.loyalty.rows import STATE_COLUMNS, state_from_row


async def candidates_page(
    conn: asyncpg.Connection,
    chain_id: str,
    location_id: str,
    reset_days: int,
    notice_days: int,
    as_of: datetime,
    after: str,
    limit: int,
) -> list[str]:
    """Clients of the location with a discount not set by hand, whose discount lapses (`reset_days` after
    their last activity) after `as_of` and within `notice_days` of it, not warned of that lapse yet."""
    rows = await conn.fetch(
        """WITH last AS (
               SELECT client_id, coalesce(max(coalesce(scheduled_at, status_at)) FILTER (WHERE status = 'arrived'),
                                          max(paid_at)) + make_interval(days => $3) AS lapses
               FROM visits WHERE chain_id = $1 AND location_id = $2 AND client_id > $6 GROUP BY client_id)
           SELECT last.client_id FROM last
           JOIN client_loyalty l ON l.chain_id = $1 AND l.location_id = $2 AND l.client_id = last.client_id
           WHERE l.discount_percent > 0 AND l.manual_discount_percent IS NULL
             AND last.lapses > $5 AND last.lapses <= $5 + make_interval(days => $4)
             AND NOT EXISTS (SELECT 1 FROM discount_warnings w WHERE w.chain_id = $1 AND w.location_id = $2
                             AND w.client_id = last.client_id AND w.expires_at = last.lapses)
           ORDER BY last.client_id LIMIT $7""",
        chain_id,
        location_id,
        reset_days,
        notice_days,
        as_of,
        after,
        limit,
    )
    return [r["client_id"] for r in rows]


async def states(
    conn: asyncpg.Connection, chain_id: str, location_id: str, client_ids: list[str]
) -> dict[str, LoyaltyState]:
    """The clients' states as committed, not locked: the job's resets before it hold rows of every
    location, so locking these again, location by location, could deadlock with a batch of visits; a
    warning read while the client's visit commits says what was true a moment before, and the claim's key
    still sends it once."""
    rows = await conn.fetch(
        f"""SELECT client_id, {STATE_COLUMNS} FROM client_loyalty
            WHERE chain_id = $1 AND location_id = $2 AND client_id = ANY($3::text[])""",
        chain_id,
        location_id,
        client_ids,
    )
    return {r["client_id"]: state_from_row(r) for r in rows}


async def claim(
    conn: asyncpg.Connection, chain_id: str, location_id: str, due: dict[str, datetime], at: datetime
) -> set[str]:
    """Records the warnings `due` (client -> lapse moment); answers the clients whose warning is new."""
    if not due:
        return set()
    clients = sorted(due)
    rows = await conn.fetch(
        """INSERT INTO discount_warnings (chain_id, location_id, client_id, expires_at, warned_at)
           SELECT $1, $2, c, e, $5 FROM unnest($3::text[], $4::timestamptz[]) AS t(c, e)
           ON CONFLICT DO NOTHING RETURNING client_id""",
        chain_id,
        location_id,
        clients,
        [due[c] for c in clients],
        at,
    )
    return {r["client_id"] for r in rows}
