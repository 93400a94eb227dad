"""All SQL of the notifications service. Every query is scoped by chain_id (a delivery receipt, which may
not name its chain, finds its notice by the notice's own UUID, and by the chain too when it names it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from shared.paging import Page

NOTICE_COLUMNS = """id, chain_id, location_id, client_id, channel, type, recipient, text, locale, encoding,
    segments, source_event_id, status, reason, created_at, audience, occurred_at, due_at, published_at,
    traceparent, provider_message_id, status_at"""


@dataclass(frozen=True)
class NoticeRow:
    id: uuid.UUID
    chain_id: str
    location_id: str | None
    client_id: str | None
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
    audience: str = "client"
    occurred_at: datetime | None = None
    due_at: datetime | None = None
    published_at: datetime | None = None
    traceparent: bytes | None = None
    provider_message_id: str | None = None
    status_at: datetime | None = None


@dataclass(frozen=True)
class Context:
    """What deciding one notice needs, read in one round trip."""

    settings: dict[str, Any] | None
    templates: dict[str, str]  # locale -> the chain's text for this type
    opt_out: dict[str, bool]  # channel -> opted out


class Repository:
    def __init__(self, conn: asyncpg.Connection, chain_id: str | None) -> None:
        self.conn = conn
        self.chain_id = chain_id

    # --- notices ---------------------------------------------------------------------------------

    async def context(self, location_id: str | None, notice_type: str, client_id: str | None) -> Context:
        row = await self.conn.fetchrow(
            """SELECT
                 (SELECT doc FROM notification_settings WHERE chain_id = $1 AND location_id IN ($2, '')
                   ORDER BY location_id = '' LIMIT 1) AS settings,
                 (SELECT jsonb_object_agg(locale, text) FROM templates WHERE chain_id = $1 AND type = $3)
                   AS templates,
                 (SELECT jsonb_build_object('sms', sms, 'chatbot', chatbot) FROM opt_outs
                   WHERE chain_id = $1 AND client_id = $4) AS opt_out""",
            self.chain_id, location_id or "", notice_type, client_id,
        )
        return Context(row["settings"], row["templates"] or {}, row["opt_out"] or {})

    async def add(self, notices: list[NoticeRow]) -> list[uuid.UUID]:
        """Inserts the notices in one statement; answers the ids of those inserted. A notice for a
        (source event, channel) that exists already is not: never text twice."""
        if not notices:
            return []
        cols = ("id", "location_id", "client_id", "channel", "type", "recipient", "text", "locale", "encoding",
                "segments", "source_event_id", "status", "reason", "audience", "occurred_at", "due_at",
                "published_at", "traceparent")
        types = ("uuid", "text", "text", "text", "text", "text", "text", "text", "text", "int", "text", "text",
                 "text", "text", "timestamptz", "timestamptz", "timestamptz", "bytea")
        rows = await self.conn.fetch(
            f"""INSERT INTO notices (chain_id, {", ".join(cols)})
                SELECT $1, * FROM unnest({", ".join(f"${i + 2}::{t}[]" for i, t in enumerate(types))})
                ON CONFLICT (chain_id, source_event_id, channel) DO NOTHING RETURNING id""",
            self.chain_id, *([getattr(n, c) for n in notices] for c in cols),
        )
        return [r["id"] for r in rows]

    async def find(self, client_id: str | None, status: str | None, page: Page, *, location_id: str | None = None,
                   notice_type: str | None = None) -> list[NoticeRow]:
        """The latest first."""
        rows = await self.conn.fetch(
            f"""SELECT {NOTICE_COLUMNS}
               FROM notices WHERE chain_id = $1 AND ($2::text IS NULL OR client_id = $2)
                 AND ($3::text IS NULL OR status = $3) AND ($5::text IS NULL OR location_id = $5)
                 AND ($6::text IS NULL OR type = $6)
                 AND ($7::timestamptz IS NULL OR created_at < $7 OR (created_at = $7 AND id > $8::uuid))
               ORDER BY created_at DESC, id LIMIT $4""",
            self.chain_id, client_id, status, page.fetch, location_id, notice_type,
            *page.after(datetime, uuid.UUID),
        )
        return [NoticeRow(**dict(r)) for r in page.cut(rows, lambda r: (r["created_at"], r["id"]))]

    async def apply_receipt(self, notice_id: uuid.UUID, status: str, provider_message_id: str | None,
                            at: datetime, reason: str | None) -> None:
        await self.conn.execute(
            """UPDATE notices SET status = $2, provider_message_id = coalesce($3, provider_message_id),
                   status_at = $4, reason = coalesce($5, reason), updated_at = now()
               WHERE chain_id = $6 AND id = $1""",
            notice_id, status, provider_message_id, at, reason, self.chain_id,
        )

    async def release_due(self, as_of: datetime, limit: int) -> list[tuple[NoticeRow, bool]]:
        """Takes the held notices due by `as_of` (of this chain, or of every chain when chain_id is
        None): marks them published, or skipped when their client opted out since; answers each with
        whether it was skipped. Rows another runner holds are left to it."""
        rows = await self.conn.fetch(
            f"""WITH due AS (
                  SELECT n.id, coalesce(n.audience = 'client' AND CASE n.channel WHEN 'sms' THEN o.sms
                                                                  ELSE o.chatbot END, false) AS opted_out
                  FROM notices n LEFT JOIN opt_outs o ON o.chain_id = n.chain_id AND o.client_id = n.client_id
                  WHERE n.status = 'queued' AND n.published_at IS NULL AND n.due_at <= $1
                    AND ($2::text IS NULL OR n.chain_id = $2)
                  ORDER BY n.due_at, n.id LIMIT $3
                  FOR UPDATE OF n SKIP LOCKED)
                UPDATE notices n SET
                  status = CASE WHEN due.opted_out THEN 'skipped' ELSE n.status END,
                  reason = CASE WHEN due.opted_out THEN 'opted_out' ELSE n.reason END,
                  published_at = CASE WHEN due.opted_out THEN NULL ELSE now() END,
                  updated_at = now()
                FROM due WHERE n.id = due.id
                RETURNING {", ".join("n." + c.strip() for c in NOTICE_COLUMNS.split(","))}, due.opted_out""",
            as_of, self.chain_id, limit,
        )
        return [(NoticeRow(**{k: v for k, v in dict(r).items() if k != "opted_out"}), r["opted_out"])
                for r in rows]

    # --- settings, templates, opt-outs -----------------------------------------------------------

    async def save_settings(self, location_id: str, doc: dict[str, Any]) -> None:
        await self.conn.execute(
            """INSERT INTO notification_settings (chain_id, location_id, doc) VALUES ($1, $2, $3)
               ON CONFLICT (chain_id, location_id) DO UPDATE SET doc = EXCLUDED.doc, updated_at = now()""",
            self.chain_id, location_id, doc,
        )

    async def get_settings(self, location_id: str) -> tuple[dict[str, Any], str] | None:
        """A location's own settings, else the chain's default ('' is the chain's default itself), with
        the location_id of the row found."""
        row = await self.conn.fetchrow(
            """SELECT doc, location_id FROM notification_settings WHERE chain_id = $1 AND location_id IN ($2, '')
               ORDER BY location_id = '' LIMIT 1""",
            self.chain_id, location_id,
        )
        return (row["doc"], row["location_id"]) if row else None

    async def save_template(self, notice_type: str, locale: str, text: str) -> None:
        await self.conn.execute(
            """INSERT INTO templates (chain_id, type, locale, text) VALUES ($1, $2, $3, $4)
               ON CONFLICT (chain_id, type, locale) DO UPDATE SET text = EXCLUDED.text, updated_at = now()""",
            self.chain_id, notice_type, locale, text,
        )

    async def delete_template(self, notice_type: str, locale: str) -> bool:
        return await self.conn.fetchval(
            "DELETE FROM templates WHERE chain_id = $1 AND type = $2 AND locale = $3 RETURNING true",
            self.chain_id, notice_type, locale,
        ) is not None

    async def templates(self) -> list[tuple[str, str, str]]:
        rows = await self.conn.fetch(
            "SELECT type, locale, text FROM templates WHERE chain_id = $1 ORDER BY type, locale", self.chain_id)
        return [(r["type"], r["locale"], r["text"]) for r in rows]

    async def save_opt_out(self, client_id: str, sms: bool, chatbot: bool) -> None:
        await self.conn.execute(
            """INSERT INTO opt_outs (chain_id, client_id, sms, chatbot) VALUES ($1, $2, $3, $4)
               ON CONFLICT (chain_id, client_id) DO UPDATE SET sms = EXCLUDED.sms, chatbot = EXCLUDED.chatbot,
                 updated_at = now()""",
            self.chain_id, client_id, sms, chatbot,
        )

    async def get_opt_out(self, client_id: str) -> tuple[bool, bool]:
        row = await self.conn.fetchrow(
            "SELECT sms, chatbot FROM opt_outs WHERE chain_id = $1 AND client_id = $2", self.chain_id, client_id)
        return (row["sms"], row["chatbot"]) if row else (False, False)


async def notice_for_receipt(conn: asyncpg.Connection, notification_id: uuid.UUID,
                             chain_id: str | None) -> NoticeRow | None:
    """The notice a delivery receipt is about, locked. Across chains on purpose when the receipt names
    none (the contract's receipt carries only the notice's UUID); within its chain when it does."""
    row = await conn.fetchrow(
        f"""SELECT {NOTICE_COLUMNS} FROM notices WHERE id = $1 AND ($2::text IS NULL OR chain_id = $2)
            FOR UPDATE""",
        notification_id, chain_id,
    )
    return NoticeRow(**dict(row)) if row else None


async def chains_with_held_due(conn: asyncpg.Connection, as_of: datetime) -> list[str]:
    """The chains with held notices due by `as_of`, across chains on purpose: the scheduled
    `release_held` then releases chain by chain."""
    rows = await conn.fetch(
        "SELECT DISTINCT chain_id FROM notices WHERE status = 'queued' AND published_at IS NULL AND due_at <= $1",
        as_of)
    return [r["chain_id"] for r in rows]
