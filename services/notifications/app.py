"""Composition root of the notifications service."""

from pathlib import Path

from services.notifications import api, handlers
from shared import events, topics
from shared.runtime import Service


def build() -> Service:
    service = Service("notifications", Path(__file__).parent / "migrations")
    handlers.register(service)
    service.publishes(topics.NOTIFICATION_SMS, events.Notice, "SMS notices for aggregators")
    service.include_router(api.router)
    return service
