"""What the gateway's routes take and answer. Each inbound topic's body is the contract's event, whose
`chain_id` may be left out: the chain is the key's and the path's, never the body's (given, it must be the
path's)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from shared import topics
from shared.events import MembershipSold, VisitCancelled, VisitPaid, VisitStatus
from shared.events.base import Id, Model
from shared.http import Body

# The most events one `POST /events` takes: a booking system catching up after an outage sends pages of
# this; with the 4 MiB body bound it is 4 KB an event on average.
MAX_BATCH = 1000


class VisitPaidIn(VisitPaid):
    chain_id: Id | None = None  # type: ignore[assignment]


class VisitStatusIn(VisitStatus):
    chain_id: Id | None = None  # type: ignore[assignment]


class VisitCancelledIn(VisitCancelled):
    chain_id: Id | None = None  # type: ignore[assignment]


class MembershipSoldIn(MembershipSold):
    chain_id: Id | None = None  # type: ignore[assignment]


# Topic -> (the body a route takes, the event published).
TOPICS: dict[str, tuple[type[Model], type[Model]]] = {
    topics.VISIT_PAID: (VisitPaidIn, VisitPaid),
    topics.VISIT_ARRIVED: (VisitStatusIn, VisitStatus),
    topics.VISIT_NO_SHOW: (VisitStatusIn, VisitStatus),
    topics.VISIT_CANCELLED: (VisitCancelledIn, VisitCancelled),
    topics.MEMBERSHIP_SOLD: (MembershipSoldIn, MembershipSold),
}
InboundTopic = Literal[
    "visit.paid", "visit.status_arrived", "visit.status_no_show", "visit.cancelled", "membership.sold"
]


class EventItem(Body):
    topic: InboundTopic
    event: Annotated[dict[str, Any], Field(description="The event, as `POST /events/{topic}` takes it")]


class EventsIn(Body):
    events: Annotated[list[EventItem], Field(min_length=1, max_length=MAX_BATCH)]


def validated_events(body: EventsIn) -> list[tuple[str, Model]]:
    """Each event validated as its topic's body; every fault named from the request's root
    (`events.3.event.lines.0.quantity`), all of them at once."""
    out: list[tuple[str, Model]] = []
    errors: list[Any] = []
    for i, item in enumerate(body.events):
        try:
            out.append((item.topic, TOPICS[item.topic][0].model_validate(item.event)))
        except ValidationError as exc:
            errors += [{**e, "loc": ("body", "events", i, "event", *e["loc"])} for e in exc.errors()]
    if errors:
        raise RequestValidationError(errors)
    return out


class AcceptedOut(BaseModel):
    """An event made durable: it is (or will be within moments) on its topic, once. The same event sent
    again answers the very same, with the header `Idempotent-Replayed: true`."""

    event_id: str
    topic: str
    accepted_at: datetime


class BatchItemOut(AcceptedOut):
    status: Literal["accepted", "duplicate"]


class BatchOut(BaseModel):
    accepted: int
    duplicate: int
    events: list[BatchItemOut]
