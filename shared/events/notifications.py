"""Notices for SMS aggregators and chatbots, and the delivery receipts they send back."""

from __future__ import annotations

import uuid
from typing import Literal

from shared.events.base import Id, Model, Time


class Notice(Model):
    """What `notification.sms` / `notification.chatbot` carry to aggregators."""

    notification_id: uuid.UUID
    occurred_at: Time
    chain_id: Id
    location_id: Id | None
    channel: Literal["sms", "chatbot"]
    to: str
    client_id: str
    type: str
    text: str
    locale: str
    source_event_id: str


class DeliveryReceipt(Model):
    notification_id: uuid.UUID
    status: Literal["delivered", "failed", "sent"]
    provider_message_id: str | None = None
    at: Time


