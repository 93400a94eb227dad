"""Every command and query of the gateway (the app index)."""

from services.gateway.usecases.accept import accept_events
from services.gateway.usecases.backfill import backfill
from services.gateway.usecases.connections import (
    create_connection,
    get_connection,
    list_connections,
    list_deliveries,
    replay_deliveries,
    update_connection,
)
from services.gateway.usecases.process import process_batch
from services.gateway.usecases.quote import QuoteParts, quote
from services.gateway.usecases.receive import receive
from services.gateway.usecases.worker import DeliveryWorker

__all__ = [
    "DeliveryWorker",
    "QuoteParts",
    "accept_events",
    "backfill",
    "create_connection",
    "get_connection",
    "list_connections",
    "list_deliveries",
    "process_batch",
    "quote",
    "receive",
    "replay_deliveries",
    "update_connection",
]
