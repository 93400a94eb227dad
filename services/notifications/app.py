"""Composition root of the notifications service."""

from pathlib import Path

from services.notifications import api, handlers, usecases
from shared import events, topics
from shared.runtime import Service


def build() -> Service:
    service = Service("notifications", Path(__file__).parent / "migrations")
    handlers.register(service)
    service.publishes(topics.NOTIFICATION_SMS, events.Notice, "SMS notices for aggregators")
    service.publishes(topics.NOTIFICATION_CHATBOT, events.Notice, "Chatbot notices")
    # Every minute: a notice held for the night goes out within a minute of its window opening.
    service.job(
        "release_held",
        usecases.RELEASE_HELD,
        "Send the notices held outside their location's send window once it has opened",
        every_seconds=60,
    )
    service.include_router(api.router)
    return service
