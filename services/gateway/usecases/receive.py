"""`POST /v1/webhooks/{connection_id}`: a booking system's webhook, stored raw before the answer, applied
afterwards (usecases/process.py). The answer comes within a single INSERT: the sender gives up after 10 s
and retries only transport errors, 429 and 5xx, so the receiver never refuses what a retry could fix and
never makes the sender wait for the work. A wrong or missing secret is always refused (401, 403): those
are never stored."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import asyncpg
import structlog
from fastapi import HTTPException

from services.gateway import webhook_repository as repo
from services.gateway.domain.webhooks import Unreadable, envelope
from services.gateway.usecases.connections import secret_hash
from shared.errors import Forbidden
from shared.metrics import GATEWAY_DELIVERIES

log = structlog.get_logger("gateway")


async def receive(pool: asyncpg.Pool, connection_id: uuid.UUID, secret: str | None, raw: bytes) -> bool:
    """Stores the delivery; answers whether it was a duplicate of one stored before."""
    if not secret:
        raise HTTPException(
            401,
            "the webhook URL's secret is missing (?secret= or Authorization: Bearer)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    body, head, state, reason = _read(raw)
    async with pool.acquire() as conn:
        chain_id, stored = await repo.store(
            conn, connection_id, secret_hash(secret), digest(body, raw), raw, head, state, reason
        )
    if chain_id is None:  # no such connection, or not its secret: the same answer, so neither is learnt
        raise Forbidden("wrong_secret", "this is not the secret of that connection")
    GATEWAY_DELIVERIES.labels(head.get("resource") or "unknown", "duplicate" if stored is None else state).inc()
    log.info(
        "webhook_received",
        chain_id=chain_id,
        delivery_id=stored,
        resource=head.get("resource"),
        state=state if stored else "duplicate",
    )
    return stored is None


def _read(raw: bytes) -> tuple[Any, dict[str, Any], str, str | None]:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None, {}, "kept", "not_json: the body is not JSON"
    try:
        env = envelope(body)
    except Unreadable as exc:
        return body, {}, "kept", f"unreadable: {exc}"
    return (
        body,
        {"company_id": env.company_id, "resource": env.resource, "resource_id": env.resource_id, "status": env.status},
        "pending",
        None,
    )


def digest(body: Any, raw: bytes) -> bytes:
    """The same delivery however it is formatted (the sender repeats a snapshot byte for byte, but a JSON
    re-encoding must not make it new): the canonical JSON's SHA-256."""
    if body is None:
        return hashlib.sha256(raw).digest()
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).digest()
