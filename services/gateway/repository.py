"""The gateway's SQL. An accepted event's id is kept in the shared `inbox` table of the gateway's schema
(key `event:<event_id>`, per chain, with its digest and the time it was accepted): the same table, the same
replay window (INBOX_RETENTION_DAYS) and the same pruning as every consumer's inbox."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from services.gateway.domain import Incoming, Taken


def key(event_id: str) -> str:
    return f"event:{event_id}"


async def taken(conn: asyncpg.Connection, chain_id: str, event_ids: set[str]) -> dict[str, Taken]:
    rows = await conn.fetch(
        """SELECT key, digest, received_at FROM inbox WHERE chain_id = $1 AND key = ANY($2::text[])""",
        chain_id,
        [key(e) for e in event_ids],
    )
    return {r["key"].removeprefix("event:"): Taken(r["digest"], r["received_at"]) for r in rows}


async def claim(conn: asyncpg.Connection, chain_id: str, events: list[Incoming]) -> dict[str, datetime] | None:
    """Takes the events' ids; None when another request took one of them meanwhile (nothing is taken then:
    the caller's transaction rolls back, or sorts the request out again)."""
    try:
        async with conn.transaction():  # a savepoint: a lost race takes nothing
            rows = await conn.fetch(
                """INSERT INTO inbox (chain_id, key, topic, digest)
                   SELECT $1, k, t, d FROM unnest($2::text[], $3::text[], $4::bytea[]) AS u(k, t, d)
                   ON CONFLICT (chain_id, key) DO NOTHING
                   RETURNING key, received_at""",
                chain_id,
                [key(e.event_id) for e in events],
                [e.topic for e in events],
                [e.digest for e in events],
            )
            if len(rows) < len(events):
                raise _LostRace
    except _LostRace:
        return None
    return {r["key"].removeprefix("event:"): r["received_at"] for r in rows}


class _LostRace(Exception):
    """Another request took one of the ids between our read and our insert."""
