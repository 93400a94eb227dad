"""Composition root of the loyalty service."""

from pathlib import Path

from services.loyalty import api, handlers
from shared.runtime import Service


def build() -> Service:
    service = Service("loyalty", Path(__file__).parent / "migrations")
    handlers.register(service)
    service.include_router(api.router)
    return service
