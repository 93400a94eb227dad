"""All SQL of the notifications service. Every query is scoped by chain_id (a delivery receipt, which may
not name its chain, finds its notice by the notice's own UUID, and by the chain too when it names it);
what a batch of events needs is read, and written, for all of its chains in one statement."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.notifications.domain import Delivery
from shared.paging import Page

NOTICE_COLUMNS = """id, chain_id, location_id, client_id, channel, type, recipient, text, locale, encoding,
    segments, source_event_id, status, reason, created_at, audience, occurred_at, due_at, published_at,
    traceparent, provider_message_id, status_at"""
N_NOTICE_COLUMNS = ", ".join("n." + c.strip() for c in NOTICE_COLUMNS.split(","))  # of `notices n`


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


@dataclass
class Reference:
    """What deciding a batch's notices needs, read in one round trip for all of its chains."""

    settings: dict[str, dict[str, dict[str, Any]]]  # chain -> location ('' the chain's default) -> document
    templates: dict[tuple[str, str], dict[str, str]]  # (chain, type) -> locale -> the chain's text
    opt_outs: dict[tuple[str, str], dict[str, bool]]  # (chain, client) -> channel -> opted out


async def reference(
    conn: asyncpg.Connection,
    locations: set[tuple[str, str]],
    types: set[tuple[str, str]],
    clients: set[tuple[str, str]],
) -> Reference:
    """The settings of these (chain, location) pairs and of their chains' defaults, the chains' templates
    of these (chain, type) pairs, and the opt-outs of these (chain, client) pairs."""
    locations = locations | {(chain, "") for chain, _ in locations}
    row = await conn.fetchrow(
        """SELECT
             (SELECT jsonb_agg(jsonb_build_array(chain_id, location_id, doc)) FROM notification_settings
               WHERE (chain_id, location_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))) AS settings,
             (SELECT jsonb_agg(jsonb_build_array(chain_id, type, locale, text)) FROM templates
               WHERE (chain_id, type) IN (SELECT * FROM unnest($3::text[], $4::text[]))) AS templates,
             (SELECT jsonb_agg(jsonb_build_array(chain_id, client_id, sms, chatbot)) FROM opt_outs
               WHERE (chain_id, client_id) IN (SELECT * FROM unnest($5::text[], $6::text[]))) AS opt_outs""",
        *_unzip(locations),
        *_unzip(types),
        *_unzip(clients),
    )
    ref = Reference({}, {}, {})
    for chain, location, doc in row["settings"] or ():
        ref.settings.setdefault(chain, {})[location] = doc
    for chain, notice_type, locale, text in row["templates"] or ():
        ref.templates.setdefault((chain, notice_type), {})[locale] = text
    for chain, client, sms, chatbot in row["opt_outs"] or ():
        ref.opt_outs[(chain, client)] = {"sms": sms, "chatbot": chatbot}
    return ref


def _unzip(pairs: set[tuple[str, str]]) -> tuple[list[str], list[str]]:
    return [a for a, _ in pairs], [b for _, b in pairs]


NEW_NOTICE_COLUMNS = (
    ("id", "uuid"),
    ("chain_id", "text"),
    ("location_id", "text"),
    ("client_id", "text"),
    ("channel", "text"),
    ("type", "text"),
    ("recipient", "text"),
    ("text", "text"),
    ("locale", "text"),
    ("encoding", "text"),
    ("segments", "int"),
    ("source_event_id", "text"),
    ("status", "text"),
    ("reason", "text"),
    ("audience", "text"),
    ("occurred_at", "timestamptz"),
    ("due_at", "timestamptz"),
    ("published_at", "timestamptz"),
    ("traceparent", "bytea"),
)


async def add_notices(conn: asyncpg.Connection, notices: list[NoticeRow]) -> set[uuid.UUID]:
    """Inserts the notices (of any chains, each row its own chain's) in one statement; answers the ids of
    those inserted. A notice for a (chain, source event, channel, type) that exists already is not, nor a
    second one for it in `notices`: never text twice. Inserted in the unique key's order: two replicas
    inserting the same notices (a batch handed over in a rebalance) wait for each other, never deadlock."""
    if not notices:
        return set()
    notices = sorted(notices, key=lambda n: (n.chain_id, n.source_event_id, n.channel, n.type))
    rows = await conn.fetch(
        f"""INSERT INTO notices ({", ".join(c for c, _ in NEW_NOTICE_COLUMNS)})
            SELECT * FROM unnest({", ".join(f"${i + 1}::{t}[]" for i, (_, t) in enumerate(NEW_NOTICE_COLUMNS))})
            ON CONFLICT (chain_id, source_event_id, channel, type) DO NOTHING RETURNING id""",
        *([getattr(n, c) for n in notices] for c, _ in NEW_NOTICE_COLUMNS),
    )
    return {r["id"] for r in rows}


class Repository:
    def __init__(self, conn: asyncpg.Connection, chain_id: str) -> None:
        self.conn = conn
        self.chain_id = chain_id

    # --- notices ---------------------------------------------------------------------------------

    async def find(
        self,
        client_id: str | None,
        status: str | None,
        page: Page,
        *,
        location_id: str | None = None,
        notice_type: str | None = None,
    ) -> list[NoticeRow]:
        """The latest first."""
        rows = await self.conn.fetch(
            f"""SELECT {NOTICE_COLUMNS}
               FROM notices WHERE chain_id = $1 AND ($2::text IS NULL OR client_id = $2)
                 AND ($3::text IS NULL OR status = $3) AND ($5::text IS NULL OR location_id = $5)
                 AND ($6::text IS NULL OR type = $6)
                 AND ($7::timestamptz IS NULL OR created_at < $7 OR (created_at = $7 AND id > $8::uuid))
               ORDER BY created_at DESC, id LIMIT $4""",
            self.chain_id,
            client_id,
            status,
            page.fetch,
            location_id,
            notice_type,
            *page.after(datetime, uuid.UUID),
        )
        return [NoticeRow(**dict(r)) for r in page.cut(rows, lambda r: (r["created_at"], r["id"]))]

    async def release_due(self, as_of: datetime, limit: int) -> list[tuple[NoticeRow, bool]]:
        """Takes this chain's held notices due by `as_of`: marks them published, or skipped when their
        client opted out since; answers each with whether it was skipped. Rows another runner holds are left to it."""
        rows = await self.conn.fetch(
            f"""WITH due AS (
                  SELECT n.id, coalesce(n.audience = 'client' AND CASE n.channel WHEN 'sms' THEN o.sms
                                                                  ELSE o.chatbot END, false) AS opted_out
                  FROM notices n LEFT JOIN opt_outs o ON o.chain_id = n.chain_id AND o.client_id = n.client_id
                  WHERE n.chain_id = $2 AND n.status = 'queued' AND n.published_at IS NULL AND n.due_at <= $1
                  ORDER BY n.due_at, n.id LIMIT $3
                  FOR UPDATE OF n SKIP LOCKED)
                UPDATE notices n SET
                  status = CASE WHEN due.opted_out THEN 'skipped' ELSE n.status END,
                  reason = CASE WHEN due.opted_out THEN 'opted_out' ELSE n.reason END,
                  published_at = CASE WHEN due.opted_out THEN NULL ELSE now() END,
                  updated_at = now()
                FROM due WHERE n.id = due.id
                RETURNING {N_NOTICE_COLUMNS}, due.opted_out""",
            as_of,
            self.chain_id,
            limit,
        )
        return [(NoticeRow(**{k: v for k, v in dict(r).items() if k != "opted_out"}), r["opted_out"]) for r in rows]

    # --- settings, templates, opt-outs -----------------------------------------------------------

    async def save_settings(self, location_id: str, doc: dict[str, Any]) -> None:
        await self.conn.execute(
            """INSERT INTO notification_settings (chain_id, location_id, doc) VALUES ($1, $2, $3)
               ON CONFLICT (chain_id, location_id) DO UPDATE SET doc = EXCLUDED.doc, updated_at = now()""",
            self.chain_id,
            location_id,
            doc,
        )

    async def get_settings(self, location_id: str) -> tuple[dict[str, Any], str] | None:
        """A location's own settings, else the chain's default ('' is the chain's default itself), with
        the location_id of the row found."""
        row = await self.conn.fetchrow(
            """SELECT doc, location_id FROM notification_settings WHERE chain_id = $1 AND location_id IN ($2, '')
               ORDER BY location_id = '' LIMIT 1""",
            self.chain_id,
            location_id,
        )
        return (row["doc"], row["location_id"]) if row else None

    async def save_template(self, notice_type: str, locale: str, text: str) -> None:
        await self.conn.execute(
            """INSERT INTO templates (chain_id, type, locale, text) VALUES ($1, $2, $3, $4)
               ON CONFLICT (chain_id, type, locale) DO UPDATE SET text = EXCLUDED.text, updated_at = now()""",
            self.chain_id,
            notice_type,
            locale,
            text,
        )

    async def delete_template(self, notice_type: str, locale: str) -> bool:
        return (
            await self.conn.fetchval(
                "DELETE FROM templates WHERE chain_id = $1 AND type = $2 AND locale = $3 RETURNING true",
                self.chain_id,
                notice_type,
                locale,
            )
            is not None
        )

    async def templates(self) -> list[tuple[str, str, str]]:
        rows = await self.conn.fetch(
            "SELECT type, locale, text FROM templates WHERE chain_id = $1 ORDER BY type, locale", self.chain_id
        )
        return [(r["type"], r["locale"], r["text"]) for r in rows]

    async def save_opt_out(self, client_id: str, sms: bool, chatbot: bool) -> None:
        await self.conn.execute(
            """INSERT INTO opt_outs (chain_id, client_id, sms, chatbot) VALUES ($1, $2, $3, $4)
               ON CONFLICT (chain_id, client_id) DO UPDATE SET sms = EXCLUDED.sms, chatbot = EXCLUDED.chatbot,
                 updated_at = now()""",
            self.chain_id,
            client_id,
            sms,
            chatbot,
        )

    async def get_opt_out(self, client_id: str) -> tuple[bool, bool]:
        row = await self.conn.fetchrow(
            "SELECT sms, chatbot FROM opt_outs WHERE chain_id = $1 AND client_id = $2", self.chain_id, client_id
        )
        return (row["sms"], row["chatbot"]) if row else (False, False)


async def notices_for_receipts(
    conn: asyncpg.Connection, receipts: set[tuple[uuid.UUID, str]]
) -> dict[tuple[uuid.UUID, str], NoticeRow]:
    """The notices delivery receipts are about, locked in id order, by (notification id, the chain the
    receipt named or ''). Across chains on purpose when a receipt names none (the contract's receipt
    carries only the notice's UUID); within its chain when it does."""
    ids, named = [i for i, _ in receipts], [c for _, c in receipts]
    rows = await conn.fetch(
        f"""SELECT t.named, {N_NOTICE_COLUMNS}
            FROM notices n JOIN unnest($1::uuid[], $2::text[]) AS t(id, named)
              ON n.id = t.id AND (t.named = '' OR n.chain_id = t.named)
            ORDER BY n.id FOR UPDATE OF n""",
        ids,
        named,
    )
    return {(r["id"], r["named"]): NoticeRow(**{k: v for k, v in dict(r).items() if k != "named"}) for r in rows}


async def save_deliveries(conn: asyncpg.Connection, notices: list[tuple[NoticeRow, Delivery]]) -> None:
    """Each notice's delivery as its last receipt left it, in one statement."""
    if not notices:
        return
    await conn.execute(
        """UPDATE notices n SET status = t.status, provider_message_id = t.provider_message_id,
               status_at = t.status_at, reason = t.reason, updated_at = now()
           FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
             AS t(chain_id, id, status, provider_message_id, status_at, reason)
           WHERE n.chain_id = t.chain_id AND n.id = t.id""",
        [n.chain_id for n, _ in notices],
        [n.id for n, _ in notices],
        [d.status for _, d in notices],
        [d.provider_message_id for _, d in notices],
        [d.status_at for _, d in notices],
        [d.reason for _, d in notices],
    )


async def chains_with_held_due(conn: asyncpg.Connection, as_of: datetime) -> list[str]:
    """The chains with held notices due by `as_of`, across chains on purpose: the scheduled
    `release_held` then releases chain by chain."""
    rows = await conn.fetch(
        "SELECT DISTINCT chain_id FROM notices WHERE status = 'queued' AND published_at IS NULL AND due_at <= $1", as_of
    )
    return [r["chain_id"] for r in rows]
