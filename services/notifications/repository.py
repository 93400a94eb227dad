"""All SQL of the notifications service. Every query is scoped by chain_id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class NoticeRow:
    id: uuid.UUID
    chain_id: str
    location_id: str | None
    client_id: str
    channel: str
    type: str
    recipient: str | None
    text: str
    locale: str
    encoding: str | None
    segments: int | None
    source_event_id: str
    status: str
    reason: str | None = None
    created_at: datetime | None = None


class Repository:
    def __init__(self, conn: asyncpg.Connection, chain_id: str) -> None:
        self.conn = conn
        self.chain_id = chain_id

    async def add(self, n: NoticeRow) -> bool:
        """False when a notice for this (source event, channel) exists already: never text twice."""
        return bool(await self.conn.fetchval(
            """INSERT INTO notices (id, chain_id, location_id, client_id, channel, type, recipient, text, locale,
                   encoding, segments, source_event_id, status, reason)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)
               ON CONFLICT (chain_id, source_event_id, channel) DO NOTHING RETURNING true""",
            n.id, self.chain_id, n.location_id, n.client_id, n.channel, n.type, n.recipient, n.text, n.locale,
            n.encoding, n.segments, n.source_event_id, n.status, n.reason,
        ))

    async def find(self, client_id: str | None, status: str | None, limit: int) -> list[NoticeRow]:
        rows = await self.conn.fetch(
            """SELECT id, chain_id, location_id, client_id, channel, type, recipient, text, locale, encoding,
                      segments, source_event_id, status, reason, created_at
               FROM notices WHERE chain_id = $1 AND ($2::text IS NULL OR client_id = $2)
                 AND ($3::text IS NULL OR status = $3)
               ORDER BY created_at DESC, id LIMIT $4""",
            self.chain_id, client_id, status, limit,
        )
        return [NoticeRow(**dict(r)) for r in rows]
