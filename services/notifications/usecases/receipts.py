"""`notification.delivery`: an aggregator's receipts move their notices forward (queued → sent →
delivered or failed; a late or repeated receipt never moves one back), a batch at a time: the batch's
notices read and locked at once, each receipt decided in order (a later receipt for a notice sees what
the earlier ones did to it: domain.receive), every notice changed written back in one statement."""

from __future__ import annotations

import uuid

import structlog

from services.notifications import domain
from services.notifications.repository import NoticeRow, notices_for_receipts, save_deliveries
from services.notifications.usecases.notify import count_notices
from shared.events import DeliveryReceipt
from shared.uow import UnitOfWork

log = structlog.get_logger("notifications")


class UnknownNotice(ValueError):
    """A receipt for a notice this service never sent: the message goes to the DLQ with this reason."""


async def record_receipts(uow: UnitOfWork, receipts: list[DeliveryReceipt]) -> None:
    # "" stands for a receipt that names no chain: found by the notice's UUID alone.
    found = await notices_for_receipts(uow.conn, {(r.notification_id, r.chain_id or "") for r in receipts})
    changed: dict[uuid.UUID, tuple[NoticeRow, domain.Delivery]] = {}
    for r in receipts:
        notice = sent_notice(found.get((r.notification_id, r.chain_id or "")), r)
        before = (
            changed[notice.id][1]
            if notice.id in changed
            else domain.Delivery(notice.status, notice.provider_message_id, notice.status_at, notice.reason)
        )
        after = domain.receive(before, r.status, r.provider_message_id, r.at, r.error)
        if after is None:
            log.info("receipt_ignored", notification_id=str(r.notification_id), status=r.status, current=before.status)
        else:
            changed[notice.id] = (notice, after)
    # Written within each notice's own chain (the receipt may not have named one).
    await save_deliveries(uow.conn, list(changed.values()))
    count_notices((notice.channel, delivery.status) for notice, delivery in changed.values())


def sent_notice(notice: NoticeRow | None, r: DeliveryReceipt) -> NoticeRow:
    """The notice a receipt is about; raises UnknownNotice (the receipt is dead-lettered) when this service
    never sent one with its id (in the chain it names), or has not sent it yet (held, skipped)."""
    if notice is None:
        where = f" in chain {r.chain_id}" if r.chain_id else ""
        raise UnknownNotice(f"unknown notification_id {r.notification_id}{where}: no notice was sent with it")
    if notice.published_at is None:
        raise UnknownNotice(
            f"notification_id {r.notification_id} was never sent (status {notice.status}"
            f"{', held until ' + notice.due_at.isoformat() if notice.due_at else ''})"
        )
    return notice
