"""The one path every notice takes: settings of the location (or the chain's default), the chain's
template in the location's locale (or the shipped English one), one notice per enabled channel, recorded
once per (source event, channel); put on its topic now, held until the send window opens, or skipped
with the reason (no phone, no administrator contact, the client opted out)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from services.notifications import domain
from services.notifications.repository import NoticeRow, Repository
from shared import topics
from shared.events import Notice
from shared.uow import TRACEPARENT, OutboxMessage, UnitOfWork

log = structlog.get_logger("notifications")

CHANNEL_TOPICS = {"sms": topics.NOTIFICATION_SMS, "chatbot": topics.NOTIFICATION_CHATBOT}


@dataclass(frozen=True)
class Draft:
    """A notice to decide on, built from one domain event."""

    type: str
    chain_id: str
    location_id: str | None
    client: domain.Recipient
    values: dict[str, object]
    source_event_id: str
    occurred_at: datetime


def notice_event(n: NoticeRow) -> Notice:
    return Notice(
        notification_id=n.id, occurred_at=n.occurred_at or n.created_at or datetime.now(UTC), chain_id=n.chain_id,
        location_id=n.location_id, channel=n.channel, to=n.recipient or "", client_id=n.client_id,  # type: ignore[arg-type]
        type=n.type, text=n.text, locale=n.locale, source_event_id=n.source_event_id,
        audience=n.audience,  # type: ignore[arg-type]
    )


def kafka_key(n: NoticeRow) -> str | None:
    """One client's notices in order; a notice about no client is keyed by its location."""
    return n.client_id or n.location_id


def outbox_message(n: NoticeRow) -> OutboxMessage:
    """A held notice released later carries the trace of the event that caused it."""
    headers = [(TRACEPARENT, n.traceparent)] if n.traceparent else []
    key = kafka_key(n)
    return OutboxMessage(CHANNEL_TOPICS[n.channel], key, notice_event(n).model_dump_json().encode(), headers)


async def notify(uow: UnitOfWork, d: Draft, now: datetime | None = None) -> list[NoticeRow]:
    """Records the notices of `d` (none when its type is off at the location); answers those recorded."""
    kind = domain.KINDS[d.type]
    repo = Repository(uow.conn, d.chain_id)
    ctx = await repo.context(d.location_id, d.type, d.client.client_id)
    settings = domain.settings_from_doc(ctx.settings)
    channels = settings.enabled(d.type)
    if not channels:
        log.info("notice_type_off", type=d.type, location_id=d.location_id)
        return []
    locale, template = domain.choose_template(kind, ctx.templates, settings.locale)
    values = {p: "" for p in kind.placeholders} | d.values
    values["location_name"] = settings.location_name or d.location_id or ""
    text = domain.render(template, domain.prepare(values, settings.tz))
    now = now or datetime.now(UTC)
    # Checked at the moment it would go out: now, or the event's time when that is later.
    moment = max(d.occurred_at, now)
    due = domain.release_at(moment, settings.tz, settings.window)
    held = due > moment
    rows: list[NoticeRow] = []
    for channel in channels:
        to = domain.address(channel, kind.audience, d.client, settings.administrator)
        skipped = domain.skip_reason(channel, kind.audience, to, ctx.opt_out.get(channel, False))
        segments = domain.count_segments(text) if channel == "sms" else None
        rows.append(NoticeRow(
            id=uuid.uuid4(), chain_id=d.chain_id, location_id=d.location_id, client_id=d.client.client_id,
            channel=channel, type=d.type, recipient=to, text=text, locale=locale,
            encoding=segments.encoding if segments else None, segments=segments.count if segments else None,
            source_event_id=d.source_event_id, status="skipped" if skipped else "queued", reason=skipped,
            audience=kind.audience, occurred_at=d.occurred_at, due_at=None if skipped else due,
            published_at=None if skipped or held else now, traceparent=uow.traceparent,
        ))
    inserted = set(await repo.add(rows))
    for n in rows:
        if n.id not in inserted:
            log.info("notice_exists", type=n.type, channel=n.channel, source_event_id=n.source_event_id)
        elif n.status == "skipped":
            log.info("notice_skipped", type=n.type, channel=n.channel, reason=n.reason)
        elif n.published_at is None:
            log.info("notice_held", type=n.type, channel=n.channel, due_at=due.isoformat())
        else:
            uow.publish(CHANNEL_TOPICS[n.channel], kafka_key(n), notice_event(n))
    return [n for n in rows if n.id in inserted]
