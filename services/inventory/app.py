"""Composition root of the inventory service."""

from pathlib import Path

from services.inventory import api, handlers
from shared.runtime import Service


def build() -> Service:
    service = Service("inventory", Path(__file__).parent / "migrations")
    handlers.register(service)
    service.include_router(api.router)
    return service
