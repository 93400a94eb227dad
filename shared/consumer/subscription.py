"""What a service consumes: a topic, the contract model of its messages, the handler, its idempotency keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pydantic import BaseModel

from shared.uow import UnitOfWork

E = TypeVar("E", bound=BaseModel)
Handler = Callable[[UnitOfWork, E], Awaitable[None]]


@dataclass
class Subscription(Generic[E]):
    topic: str
    model: type[E]
    handler: Handler[E]
    # Business idempotency keys besides the event id (e.g. a visit is applied once, whatever its event id).
    keys: Callable[[E], Iterable[str]] = field(default=lambda _e: ())
    description: str = ""
