"""The unit of work a handler gets: one open transaction, and `publish`, which writes an outbox row in
that same transaction (so a change and the events it causes commit together, or not at all).

An event larger than its topic takes is refused right there (`EventTooLarge`): an HTTP request answers
413 naming the event's largest field, a consumed message is dead-lettered with the reason
`event_too_large`; it never reaches the outbox, where Kafka would refuse it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from pydantic import BaseModel

from shared import tracing
from shared.errors import TooLarge
from shared.topics import max_message_bytes, record_size

TRACEPARENT = tracing.TRACEPARENT


@dataclass
class OutboxMessage:
    topic: str
    key: str | None
    value: bytes
    headers: list[tuple[str, bytes]]


class EventTooLarge(TooLarge):
    def __init__(self, topic: str, size: int, event: BaseModel) -> None:
        fields = event.model_dump(mode="json").items()
        parts = {name: len(json.dumps(value, separators=(",", ":"))) for name, value in fields}
        field = max(parts, key=parts.__getitem__) if parts else None
        super().__init__(
            "event_too_large",
            f"the {topic} event would be {size:,} bytes, more than its topic takes "
            f"({max_message_bytes(topic):,}); its largest field: {field} ({parts.get(field or '', 0):,} "
            "bytes)",
            field,
        )

    def __str__(self) -> str:  # the reason a dead letter carries
        return f"{self.code}: {self.message}"


async def enqueue(conn: asyncpg.Connection, messages: list[OutboxMessage]) -> None:
    if not messages:
        return
    # COPY: one statement for the batch's rows, in order (their ids follow it), each row far cheaper for the
    # server than an INSERT of its own; the statement trigger still wakes the relay once.
    await conn.copy_records_to_table(
        "outbox",
        columns=["topic", "key", "value", "header_names", "header_values"],
        records=[(m.topic, m.key, m.value, [h[0] for h in m.headers], [h[1] for h in m.headers]) for m in messages],
    )


class UnitOfWork:
    def __init__(
        self, conn: asyncpg.Connection, traceparent: bytes | None = None, batch: dict[Any, Any] | None = None
    ) -> None:
        self.conn = conn
        # What the events published here carry: the cause's (a consumed record's span), else the span current
        # now (a job run over HTTP), when tracing is on.
        self.traceparent = traceparent if traceparent is not None else tracing.current_traceparent()
        # Shared by every message of one batch transaction (a fresh one per HTTP request): a place for
        # what a handler may read once per batch instead of once per message, such as reference data
        # it does not change. Never for rows a handler writes (a failed record's savepoint would undo
        # the row, not the cache).
        self.batch: dict[Any, Any] = batch if batch is not None else {}
        self._pending: list[OutboxMessage] = []
        # A batch handler's records: each event it was handed -> its record's traceparent (by identity).
        self.causes: dict[int, bytes | None] = {}

    def publish(self, topic: str, key: str | None, event: BaseModel, cause: BaseModel | None = None) -> None:
        """Queues `event` for `topic`; it is written to the outbox when the handler returns. A batch
        handler names the `cause` (the consumed event it handles), whose traceparent the event carries."""
        traceparent = self.causes.get(id(cause), self.traceparent) if cause is not None else self.traceparent
        headers = [(TRACEPARENT, traceparent)] if traceparent else []
        value = event.model_dump_json().encode()
        size = record_size(key, value, headers)
        if size > max_message_bytes(topic):
            raise EventTooLarge(topic, size, event)
        self._pending.append(OutboxMessage(topic, key, value, headers))

    def take(self) -> list[OutboxMessage]:
        pending, self._pending = self._pending, []
        return pending

    async def flush(self) -> None:
        await enqueue(self.conn, self.take())


@asynccontextmanager
async def unit_of_work(pool: asyncpg.Pool, traceparent: bytes | None = None) -> AsyncIterator[UnitOfWork]:
    """For HTTP handlers: a transaction whose published events are flushed before it commits. They carry the
    request's span (tracing on), else the caller's `traceparent` as it came."""
    async with pool.acquire() as conn, conn.transaction():
        uow = UnitOfWork(conn, tracing.current_traceparent() or traceparent)
        yield uow
        await uow.flush()
