"""The SQL of the webhook side of the gateway: connections, raw deliveries, per-record state, the
catalogue cache. Every query is scoped by the chain, but the receiver's: the connection id in a webhook's
URL and its secret are what authenticate the booking system (as a key does) and name the chain."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.gateway.domain.webhooks import RecordState
from shared.paging import Page

CONNECTION = """c.id, c.chain_id, c.system, c.name, c.api_base_url, c.membership_types, c.created_at,
    coalesce((SELECT jsonb_agg(jsonb_build_object('company_id', l.company_id, 'location_id', l.location_id,
                                                  'time_zone', l.time_zone) ORDER BY l.company_id)
              FROM connection_locations l WHERE l.connection_id = c.id), '[]') AS locations"""


@dataclass(frozen=True)
class Delivery:
    id: int
    connection_id: uuid.UUID
    chain_id: str
    body: bytes
    company_id: int | None
    resource: str | None
    attempts: int


# --- connections -----------------------------------------------------------------------------------


async def create_connection(
    conn: asyncpg.Connection, chain_id: str, fields: dict[str, Any], locations: list[dict[str, Any]]
) -> uuid.UUID:
    cid: uuid.UUID = await conn.fetchval(
        """INSERT INTO connections (chain_id, system, name, secret_hash, api_base_url, partner_token, user_token,
                                    membership_types)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id""",
        chain_id,
        fields["system"],
        fields["name"],
        fields["secret_hash"],
        fields["api_base_url"],
        fields["partner_token"],
        fields["user_token"],
        fields["membership_types"],
    )
    await set_locations(conn, cid, locations)
    return cid


async def set_locations(conn: asyncpg.Connection, connection_id: uuid.UUID, locations: list[dict[str, Any]]) -> None:
    await conn.execute("DELETE FROM connection_locations WHERE connection_id = $1", connection_id)
    await conn.execute(
        """INSERT INTO connection_locations (connection_id, company_id, location_id, time_zone)
           SELECT $1, c, l, z FROM unnest($2::bigint[], $3::text[], $4::text[]) AS u(c, l, z)""",
        connection_id,
        [x["company_id"] for x in locations],
        [x["location_id"] for x in locations],
        [x["time_zone"] for x in locations],
    )


async def update_connection(
    conn: asyncpg.Connection, chain_id: str, connection_id: uuid.UUID, fields: dict[str, Any]
) -> bool:
    if not fields:
        return await connection(conn, chain_id, connection_id) is not None
    names = list(fields)
    sets = ", ".join(f"{n} = ${i + 3}" for i, n in enumerate(names))
    done = await conn.execute(
        f"UPDATE connections SET {sets} WHERE chain_id = $1 AND id = $2",
        chain_id,
        connection_id,
        *[fields[n] for n in names],
    )
    return done != "UPDATE 0"


async def connection(conn: asyncpg.Connection, chain_id: str, connection_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {CONNECTION} FROM connections c WHERE c.chain_id = $1 AND c.id = $2", chain_id, connection_id
    )


async def connections(conn: asyncpg.Connection, chain_id: str, page: Page) -> list[asyncpg.Record]:
    rows = await conn.fetch(
        f"""SELECT {CONNECTION} FROM connections c WHERE c.chain_id = $1
              AND ($3::timestamptz IS NULL OR (c.created_at, c.id) > ($3, $4::uuid))
            ORDER BY c.created_at, c.id LIMIT $2""",
        chain_id,
        page.fetch,
        *page.after(datetime, uuid.UUID),
    )
    return page.cut(rows, lambda r: (r["created_at"], r["id"]))


async def for_work(conn: asyncpg.Connection, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, asyncpg.Record]:
    """The connections of a batch of deliveries, with their tokens and locations (the worker's read)."""
    rows = await conn.fetch(
        f"""SELECT {CONNECTION}, c.partner_token, c.user_token FROM connections c WHERE c.id = ANY($1::uuid[])""",
        list(set(ids)),
    )
    return {r["id"]: r for r in rows}


# --- deliveries ------------------------------------------------------------------------------------


async def store(
    conn: asyncpg.Connection,
    connection_id: uuid.UUID,
    secret_hash: str,
    digest: bytes,
    body: bytes,
    head: dict[str, Any],
    state: str,
    reason: str | None,
) -> tuple[str | None, int | None]:
    """Checks the secret and stores the delivery in one round trip: (the connection's chain, or None when
    no connection has that id and secret; the delivery's id, or None when it was stored before)."""
    row = await conn.fetchrow(
        """WITH c AS (SELECT chain_id FROM connections WHERE id = $1 AND secret_hash = $2),
                ins AS (
                    INSERT INTO deliveries (connection_id, chain_id, digest, body, company_id, resource, resource_id,
                                            status, state, reason, done_at)
                    SELECT $1, c.chain_id, $3, $4, $5, $6, $7, $8, $9, $10,
                           CASE WHEN $9 = 'pending' THEN NULL ELSE now() END FROM c
                    ON CONFLICT (connection_id, digest) DO NOTHING RETURNING id)
           SELECT (SELECT chain_id FROM c) AS chain_id, (SELECT id FROM ins) AS id""",
        connection_id,
        secret_hash,
        digest,
        body,
        head.get("company_id"),
        head.get("resource"),
        head.get("resource_id"),
        head.get("status"),
        state,
        reason,
    )
    return row["chain_id"], row["id"]


async def store_read_back(
    conn: asyncpg.Connection, connection_id: uuid.UUID, chain_id: str, digest: bytes, body: bytes, head: dict[str, Any]
) -> int | None:
    """A record read back from their API (a backfill), stored as its webhook would have been; None when the
    same delivery was stored before."""
    return await conn.fetchval(
        """INSERT INTO deliveries (connection_id, chain_id, digest, body, company_id, resource, resource_id, status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (connection_id, digest) DO NOTHING RETURNING id""",
        connection_id,
        chain_id,
        digest,
        body,
        head.get("company_id"),
        head.get("resource"),
        head.get("resource_id"),
        head.get("status"),
    )


async def take_due(conn: asyncpg.Connection, limit: int) -> list[Delivery]:
    """Deliveries due, oldest first, locked for this transaction (another worker skips them)."""
    rows = await conn.fetch(
        """SELECT id, connection_id, chain_id, body, company_id, resource, attempts FROM deliveries
           WHERE state IN ('pending', 'waiting') AND next_attempt_at <= now()
           ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED""",
        limit,
    )
    return [Delivery(**dict(r)) for r in rows]


async def finish(conn: asyncpg.Connection, outcomes: list[tuple[int, str, str | None, float]]) -> None:
    """(delivery id, state, reason, seconds until the next attempt for a waiting one)."""
    await conn.execute(
        """UPDATE deliveries d SET state = u.state, reason = u.reason,
                  attempts = d.attempts + (u.state = 'waiting')::int,
                  next_attempt_at = now() + make_interval(secs => u.wait),
                  done_at = CASE WHEN u.state IN ('pending', 'waiting') THEN NULL ELSE now() END
           FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[]) AS u(id, state, reason, wait)
           WHERE d.id = u.id""",
        [o[0] for o in outcomes],
        [o[1] for o in outcomes],
        [o[2] for o in outcomes],
        [o[3] for o in outcomes],
    )


async def deliveries(
    conn: asyncpg.Connection, chain_id: str, connection_id: uuid.UUID, state: str | None, page: Page
) -> list[asyncpg.Record]:
    rows = await conn.fetch(
        """SELECT id, company_id, resource, resource_id, status, received_at, state, reason, attempts,
                  next_attempt_at, done_at FROM deliveries
           WHERE chain_id = $1 AND connection_id = $2 AND ($3::text IS NULL OR state = $3)
             AND ($5::bigint IS NULL OR id > $5) ORDER BY id LIMIT $4""",
        chain_id,
        connection_id,
        state,
        page.fetch,
        *page.after(int),
    )
    return page.cut(rows, lambda r: (r["id"],))


async def replay(
    conn: asyncpg.Connection, chain_id: str, connection_id: uuid.UUID, states: list[str], ids: list[int] | None
) -> int:
    done = await conn.execute(
        """UPDATE deliveries SET state = 'pending', next_attempt_at = now(), done_at = NULL
           WHERE chain_id = $1 AND connection_id = $2 AND state = ANY($3::text[])
             AND ($4::bigint[] IS NULL OR id = ANY($4::bigint[]))""",
        chain_id,
        connection_id,
        states,
        ids,
    )
    return int(done.split()[-1])


# --- records and the catalogue ---------------------------------------------------------------------


async def record_states(
    conn: asyncpg.Connection, keys: set[tuple[str, str, int, int]]
) -> dict[tuple[str, str, int, int], RecordState]:
    """Locked for the batch (FOR UPDATE): two workers never decide on one record at once."""
    if not keys:
        return {}
    k = list(keys)
    rows = await conn.fetch(
        """SELECT r.* FROM records r JOIN unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS u(c, s, co, re)
             ON r.chain_id = u.c AND r.system = u.s AND r.company_id = u.co AND r.record_id = u.re
           ORDER BY r.chain_id, r.system, r.company_id, r.record_id FOR UPDATE OF r""",
        [x[0] for x in k],
        [x[1] for x in k],
        [x[2] for x in k],
        [x[3] for x in k],
    )
    return {
        (r["chain_id"], r["system"], r["company_id"], r["record_id"]): RecordState(
            r["changed_at"], r["attendance"], r["paid"], r["deleted"], frozenset(r["sent"])
        )
        for r in rows
    }


async def save_records(conn: asyncpg.Connection, states: dict[tuple[str, str, int, int], RecordState]) -> None:
    if not states:
        return
    k = list(states)
    await conn.execute(
        """INSERT INTO records (chain_id, system, company_id, record_id, changed_at, attendance, paid, deleted, sent)
           SELECT c, s, co, re, ch, a, p, d, string_to_array(se, ',')
           FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::timestamptz[], $6::int[],
                       $7::bool[], $8::bool[], $9::text[]) AS u(c, s, co, re, ch, a, p, d, se)
           ON CONFLICT (chain_id, system, company_id, record_id) DO UPDATE SET changed_at = EXCLUDED.changed_at,
               attendance = EXCLUDED.attendance, paid = EXCLUDED.paid, deleted = EXCLUDED.deleted,
               sent = EXCLUDED.sent""",
        [x[0] for x in k],
        [x[1] for x in k],
        [x[2] for x in k],
        [x[3] for x in k],
        [states[x].changed_at for x in k],
        [states[x].attendance for x in k],
        [states[x].paid for x in k],
        [states[x].deleted for x in k],
        [",".join(sorted(states[x].sent)) for x in k],
    )


async def catalogue(
    conn: asyncpg.Connection,
    connection_id: uuid.UUID,
    company_id: int,
    kind: str,
    ids: set[int],
    max_age_seconds: float,
) -> dict[int, dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT item_id, data FROM catalogue WHERE connection_id = $1 AND company_id = $2 AND kind = $3
             AND item_id = ANY($4::bigint[]) AND fetched_at > now() - make_interval(secs => $5)""",
        connection_id,
        company_id,
        kind,
        list(ids),
        max_age_seconds,
    )
    return {r["item_id"]: r["data"] for r in rows}


async def remember(
    conn: asyncpg.Connection, connection_id: uuid.UUID, company_id: int, kind: str, items: dict[int, dict[str, Any]]
) -> None:
    if not items:
        return
    await conn.execute(
        """INSERT INTO catalogue (connection_id, company_id, kind, item_id, data)
           SELECT $1, $2, $3, i, d::jsonb FROM unnest($4::bigint[], $5::text[]) AS u(i, d)
           ON CONFLICT (connection_id, company_id, kind, item_id) DO UPDATE SET data = EXCLUDED.data,
               fetched_at = now()""",
        connection_id,
        company_id,
        kind,
        list(items),
        [json.dumps(v) for v in items.values()],
    )
