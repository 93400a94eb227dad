"""Composition root of the gateway."""

from pathlib import Path

from services.gateway import api, quote_api, usecases, webhook_api
from services.gateway.schemas import TOPICS
from shared.runtime import Service
from shared.settings import get_settings


def build() -> Service:
    service = Service("gateway", Path(__file__).parent / "migrations")
    for topic, (_, event) in TOPICS.items():
        service.publishes(topic, event, f"{topic} a booking system posted to the gateway, or a webhook caused")
    deliveries = usecases.DeliveryWorker(lambda: service.pool)
    service.http.state.deliveries = deliveries
    service.on_start(deliveries.start)
    service.on_stop(deliveries.stop)
    quote_parts = usecases.QuoteParts(get_settings())
    service.http.state.quote_parts = quote_parts
    service.on_stop(quote_parts.close)
    service.include_router(api.router)
    service.include_router(quote_api.router)
    service.include_router(webhook_api.router)
    service.http.include_router(webhook_api.receiver)
    for error, answer in webhook_api.ERRORS.items():
        service.http.add_exception_handler(error, answer)
    return service
