"""Composition root of the gateway."""

from pathlib import Path

from services.gateway import api
from services.gateway.schemas import TOPICS
from shared.runtime import Service


def build() -> Service:
    service = Service("gateway", Path(__file__).parent / "migrations")
    for topic, (_, event) in TOPICS.items():
        service.publishes(topic, event, f"{topic} a booking system posted to the gateway")
    service.include_router(api.router)
    return service
