"""How the consumer sees a delivery receipt (services/notifications/handlers.py): the inbox identity of
a receipt that carries neither an event id nor, necessarily, a chain."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.notifications.handlers import DeliveryReceipt

NID = "6f1e0c39-1b1a-4b7e-9d0e-5f6c1d2e3f40"


def test_one_receipt_is_one_notice_status_and_time() -> None:
    r = DeliveryReceipt.model_validate({"notification_id": NID, "status": "delivered", "at": "2026-01-01T10:00:00Z"})
    assert r.event_id == f"receipt:{NID}:delivered:2026-01-01T10:00:00Z"
    assert r.chain_id == ""
    again = DeliveryReceipt.model_validate(
        {"notification_id": NID, "status": "delivered", "at": "2026-01-01T10:00:00Z", "provider_message_id": "x"}
    )
    assert again.event_id == r.event_id
    later = DeliveryReceipt.model_validate({"notification_id": NID, "status": "sent", "at": "2026-01-01T10:00:00Z"})
    assert later.event_id != r.event_id


def test_a_chain_echoed_from_the_notice_is_kept() -> None:
    r = DeliveryReceipt.model_validate(
        {
            "notification_id": NID,
            "status": "failed",
            "at": "2026-01-01T10:00:00Z",
            "chain_id": "ch-1",
            "error": "absent subscriber",
        }
    )
    assert (r.chain_id, r.error) == ("ch-1", "absent subscriber")


@pytest.mark.parametrize(
    "payload",
    [
        {"notification_id": "not-a-uuid", "status": "delivered", "at": "2026-01-01T10:00:00Z"},
        {"notification_id": NID, "status": "read", "at": "2026-01-01T10:00:00Z"},
        {"notification_id": NID, "status": "delivered", "at": "2026-01-01T10:00:00"},  # no offset
        {"notification_id": NID, "status": "delivered"},
    ],
)
def test_a_bad_receipt_is_refused(payload: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        DeliveryReceipt.model_validate(payload)
