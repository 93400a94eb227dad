"""The gateway's one rule, pure: which of the events a request brings are new, which were taken before (a
booking system's retry: answered as the first time, published no more), and which reuse an event id
another payload took (refused). Standard library only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Status = Literal["accepted", "duplicate"]


@dataclass(frozen=True)
class Incoming:
    """One event of a request: its topic, id and digest (shared.consumer.records.digest: the topic and the
    validated event, so formatting, field order and unknown fields do not make two sendings differ)."""

    topic: str
    event_id: str
    digest: bytes


@dataclass(frozen=True)
class Taken:
    """An event id accepted before: the digest it was accepted with, and when."""

    digest: bytes | None
    accepted_at: datetime


@dataclass(frozen=True)
class Sorted:
    # Per event of the request, in its order: new (to publish) or a duplicate of what was accepted.
    statuses: list[Status]
    # The indexes to publish: the first of each new event id (a second sending within the request is a
    # duplicate of the first).
    fresh: list[int]


@dataclass(frozen=True)
class Reused:
    """An event id taken by another payload (before, or earlier in the same request): the index at fault."""

    index: int
    earlier: Literal["before", "in_request"]


def sort_out(incoming: list[Incoming], taken: dict[str, Taken]) -> Sorted | Reused:
    statuses: list[Status] = []
    fresh: list[int] = []
    first: dict[str, bytes] = {}
    for i, event in enumerate(incoming):
        if (before := taken.get(event.event_id)) is not None:
            if before.digest != event.digest:
                return Reused(i, "before")
            statuses.append("duplicate")
        elif (seen := first.get(event.event_id)) is not None:
            if seen != event.digest:
                return Reused(i, "in_request")
            statuses.append("duplicate")
        else:
            first[event.event_id] = event.digest
            statuses.append("accepted")
            fresh.append(i)
    return Sorted(statuses, fresh)
