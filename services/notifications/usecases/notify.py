"""The one path every notice takes, a batch of events at a time: settings of the location (or the chain's
default), the chain's template in the location's locale (or the shipped English one), one notice per
enabled channel, recorded once per (source event, channel, type); put on its topic now, held until the send
window opens, or skipped with the reason (no phone, no administrator contact, the client opted out)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TypeVar

import structlog
from pydantic import BaseModel

from services.notifications import domain
from services.notifications.domain import Draft
from services.notifications.repository import NoticeRow, add_notices, reference
from shared import metrics, topics
from shared.consumer.subscription import BatchHandler
from shared.events import Notice
from shared.uow import TRACEPARENT, OutboxMessage, UnitOfWork

E = TypeVar("E", bound=BaseModel)

log = structlog.get_logger("notifications")

CHANNEL_TOPICS = {"sms": topics.NOTIFICATION_SMS, "chatbot": topics.NOTIFICATION_CHATBOT}


def notice_event(n: NoticeRow) -> Notice:
    return Notice(
        notification_id=n.id,
        occurred_at=n.occurred_at or n.created_at or datetime.now(UTC),
        chain_id=n.chain_id,
        location_id=n.location_id,
        channel=n.channel,  # type: ignore[arg-type]
        to=n.recipient or "",
        client_id=n.client_id,
        type=n.type,
        text=n.text,
        locale=n.locale,
        source_event_id=n.source_event_id,
        audience=n.audience,  # type: ignore[arg-type]
        send_before=domain.send_before(n.audience, n.published_at or datetime.now(UTC)),
        encoding=n.encoding if n.channel == "sms" else None,  # type: ignore[arg-type]
        segments=n.segments if n.channel == "sms" else None,
    )


def kafka_key(n: NoticeRow) -> str | None:
    """One client's notices in order; a notice about no client is keyed by its location."""
    return n.client_id or n.location_id


def outbox_message(n: NoticeRow) -> OutboxMessage:
    """A held notice released later carries the trace of the event that caused it."""
    headers = [(TRACEPARENT, n.traceparent)] if n.traceparent else []
    key = kafka_key(n)
    return OutboxMessage(CHANNEL_TOPICS[n.channel], key, notice_event(n).model_dump_json().encode(), headers)


def notifier(draft_of: Callable[[E], Draft | None]) -> BatchHandler[E]:
    """The batch handler of a topic whose every event becomes one draft (None: nothing to tell)."""

    async def handle(uow: UnitOfWork, events: list[E]) -> None:
        await notify(uow, [(e, draft_of(e)) for e in events])

    return handle


def notifier_each(drafts_of: Callable[[E], list[Draft]]) -> BatchHandler[E]:
    """The batch handler of a topic whose every event may tell several people (notices of different types,
    each recorded once per (source event, channel, type))."""

    async def handle(uow: UnitOfWork, events: list[E]) -> None:
        await notify(uow, [(e, d) for e in events for d in drafts_of(e)])

    return handle


async def notify(uow: UnitOfWork, drafts: list[tuple[BaseModel, Draft | None]]) -> list[NoticeRow]:
    """Records the notices of a batch's drafts (none for a type off at its location), each with the event
    that caused it, in their order; publishes those recorded and due now, in that order. Load (one
    statement), decide (domain.decide), save (one statement), publish. Answers the notices recorded."""
    wanted = [(e, d) for e, d in drafts if d is not None]
    if not wanted:
        return []
    ref = await reference(
        uow.conn,
        {(d.chain_id, d.location_id or "") for _, d in wanted},
        {(d.chain_id, d.type) for _, d in wanted},
        {(d.chain_id, d.client.client_id) for _, d in wanted if d.client.client_id is not None},
    )
    settings: dict[tuple[str, str | None], domain.LocationSettings] = {}
    now = datetime.now(UTC)
    rows: list[tuple[BaseModel, NoticeRow]] = []
    for e, d in wanted:
        here = (d.chain_id, d.location_id)
        if here not in settings:
            settings[here] = domain.settings_of(ref.settings.get(d.chain_id, {}), d.location_id)
        opted_out = {} if d.client.client_id is None else ref.opt_outs.get((d.chain_id, d.client.client_id), {})
        decided = domain.decide(d, settings[here], ref.templates.get((d.chain_id, d.type), {}), opted_out, now)
        if not decided:
            log.info("notice_type_off", type=d.type, location_id=d.location_id)
        # A held notice keeps its own event's trace, for its release.
        trace = uow.causes.get(id(e), uow.traceparent)
        rows += [(e, notice_row(d, n, now, trace)) for n in decided]
    inserted = await add_notices(uow.conn, [n for _, n in rows])
    count_notices((n.channel, n.status) for _, n in rows if n.id in inserted)
    for e, n in rows:
        if n.id not in inserted:
            log.info("notice_exists", type=n.type, channel=n.channel, source_event_id=n.source_event_id)
        elif n.status == "skipped":
            log.info("notice_skipped", type=n.type, channel=n.channel, reason=n.reason)
        elif n.published_at is None:
            log.info("notice_held", type=n.type, channel=n.channel, due_at=n.due_at.isoformat() if n.due_at else None)
        else:
            uow.publish(CHANNEL_TOPICS[n.channel], kafka_key(n), notice_event(n), cause=e)
    return [n for _, n in rows if n.id in inserted]


def count_notices(entered: Iterable[tuple[str, str]]) -> None:
    """`perkstream_notices_total`: notices by (channel, the status they entered), a batch's at once."""
    for (channel, status), count in Counter(entered).items():
        metrics.NOTICES.labels(channel, status).inc(count)


def notice_row(d: Draft, n: domain.Decided, now: datetime, traceparent: bytes | None) -> NoticeRow:
    return NoticeRow(
        id=uuid.uuid4(),
        chain_id=d.chain_id,
        location_id=d.location_id,
        client_id=d.client.client_id,
        channel=n.channel,
        type=d.type,
        recipient=n.recipient,
        text=n.text,
        locale=n.locale,
        encoding=n.encoding,
        segments=n.segments,
        source_event_id=d.source_event_id,
        status=n.status,
        reason=n.reason,
        audience=n.audience,
        occurred_at=d.occurred_at,
        due_at=n.due_at,
        published_at=None if n.status == "skipped" or n.held else now,
        traceparent=traceparent,
    )
