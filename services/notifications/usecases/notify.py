"""Records a notice and, unless it is skipped, queues it on its channel's topic: the one path every
notice type takes."""

import uuid
from datetime import datetime

from services.notifications import domain
from services.notifications.repository import NoticeRow, Repository
from shared import topics
from shared.events import Notice
from shared.uow import UnitOfWork

CHANNEL_TOPICS = {"sms": topics.NOTIFICATION_SMS, "chatbot": topics.NOTIFICATION_CHATBOT}


async def send(uow: UnitOfWork, *, chain_id: str, location_id: str | None, client_id: str, to: str | None,
               channel: str, notice_type: str, template: str, values: dict[str, object],
               source_event_id: str, at: datetime, locale: str = domain.DEFAULT_LOCALE) -> bool:
    text = domain.render(template, values)
    segments = domain.count_segments(text)
    skipped = "no_phone" if channel == "sms" and not to else None
    notice = NoticeRow(
        id=uuid.uuid4(), chain_id=chain_id, location_id=location_id, client_id=client_id, channel=channel,
        type=notice_type, recipient=to, text=text, locale=locale, encoding=segments.encoding,
        segments=segments.count, source_event_id=source_event_id,
        status="skipped" if skipped else "queued", reason=skipped,
    )
    if not await Repository(uow.conn, chain_id).add(notice) or skipped:
        return False
    uow.publish(CHANNEL_TOPICS[channel], client_id, Notice(
        notification_id=notice.id, occurred_at=at, chain_id=chain_id, location_id=location_id,
        channel=channel, to=to or "", client_id=client_id, type=notice_type, text=text, locale=locale,  # type: ignore[arg-type]
        source_event_id=source_event_id,
    ))
    return True
