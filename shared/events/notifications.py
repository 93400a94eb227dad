"""Notices for SMS aggregators and chatbots, and the delivery receipts they send back."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from shared.events.base import STORABLE, Id, Model, Time


class Notice(Model):
    """What `notification.sms` / `notification.chatbot` carry to aggregators."""

    notification_id: uuid.UUID
    occurred_at: Time
    chain_id: Id
    location_id: Id | None
    channel: Literal["sms", "chatbot"]
    # A phone for SMS; for a chatbot the phone, or the client id when the client has no phone.
    to: str
    # The client the notice is about; null for a notice to an administrator about no client (stock low).
    client_id: str | None
    type: str
    text: str
    locale: str
    source_event_id: str
    # "administrator": to the location's administrator contact (stock low, an error of the desk).
    audience: Literal["client", "administrator"] = "client"
    # Stale news after this: an aggregator with a backlog drops the notice (and may report it failed)
    # rather than send it (24 h after it went out to a client, 72 h to an administrator).
    send_before: Time | None = None
    # SMS only: how the text is encoded (`gsm7` or `ucs2`) and how many SMS segments it costs.
    encoding: Literal["gsm7", "ucs2"] | None = None
    segments: Annotated[int, Field(ge=0, le=1000)] | None = None


class DeliveryReceipt(Model):
    """What an aggregator publishes back on `notification.delivery`."""

    notification_id: uuid.UUID
    status: Literal["delivered", "failed", "sent"]
    provider_message_id: Annotated[str, StringConstraints(max_length=200), STORABLE] | None = None
    at: Time
    # Optional, echoed from the notice: when given, the receipt is matched within that chain only.
    chain_id: Id | None = None
    # Why a failed notice failed (the provider's words), when it says.
    error: Annotated[str, StringConstraints(max_length=2000), STORABLE] | None = None
