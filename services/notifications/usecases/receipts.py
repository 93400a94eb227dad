"""`notification.delivery`: an aggregator's receipt moves its notice forward (queued → sent →
delivered or failed; a late or repeated receipt never moves it back)."""

from __future__ import annotations

import structlog

from services.notifications import domain
from services.notifications.repository import Repository, notice_for_receipt
from shared.events import DeliveryReceipt
from shared.uow import UnitOfWork

log = structlog.get_logger("notifications")


class UnknownNotice(ValueError):
    """A receipt for a notice this service never sent: the message goes to the DLQ with this reason."""


async def record_receipt(uow: UnitOfWork, r: DeliveryReceipt) -> None:
    notice = await notice_for_receipt(uow.conn, r.notification_id, r.chain_id or None)  # "": not named
    if notice is None:
        where = f" in chain {r.chain_id}" if r.chain_id else ""
        raise UnknownNotice(f"unknown notification_id {r.notification_id}{where}: no notice was sent with it")
    if notice.published_at is None:
        raise UnknownNotice(f"notification_id {r.notification_id} was never sent (status {notice.status}"
                            f"{', held until ' + notice.due_at.isoformat() if notice.due_at else ''})")
    if not domain.receipt_applies(notice.status, r.status):
        log.info("receipt_ignored", notification_id=str(r.notification_id), status=r.status, current=notice.status)
        return
    # From here on the notice's own chain scopes the work (the receipt may not have named one).
    await Repository(uow.conn, notice.chain_id).apply_receipt(notice.id, r.status, r.provider_message_id, r.at,
                             r.error if r.status == "failed" else None)
