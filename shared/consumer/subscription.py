"""What a service consumes: a topic, the contract model of its messages, the handler, its idempotency keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pydantic import BaseModel

from shared.uow import UnitOfWork

E = TypeVar("E", bound=BaseModel)
Handler = Callable[[UnitOfWork, E], Awaitable[None]]
# A handler of a whole batch: the fresh records' events in offset order (per partition), in one call.
# It loads what the batch needs, decides record by record (each seeing the earlier ones' effects, as if
# they had come one at a time), and writes in bulk; it publishes with `uow.publish(..., cause=event)`, so
# every event carries its own record's traceparent. On a failure the batch is replayed record by record,
# the handler called with one event at a time, each in its own savepoint: the bad record is
# dead-lettered alone.
BatchHandler = Callable[[UnitOfWork, list[E]], Awaitable[None]]


@dataclass
class Subscription(Generic[E]):
    topic: str
    model: type[E]
    handler: Handler[E] | None
    # Business idempotency keys besides the event id (e.g. a visit is applied once, whatever its event id).
    keys: Callable[[E], Iterable[str]] = field(default=lambda _e: ())
    description: str = ""
    batch_handler: BatchHandler[E] | None = None  # instead of `handler`
