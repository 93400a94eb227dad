"""`POST /events/{topic}` and `POST /events`: a booking system's events, made durable and published once.

Load what the request's event ids were taken with, sort the events out (domain.sort_out: new, a duplicate
answered as the first time, or an id reused by another payload: refused), take the new ids and write each
new event to the outbox in the same transaction; the relay publishes it to its topic. All or none: one
event refused refuses the request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog

from services.gateway import repository as repo
from services.gateway.domain import Incoming, Reused, Sorted, Taken, sort_out
from services.gateway.schemas import BatchItemOut
from shared.consumer.records import ahead_of_clock, digest
from shared.errors import Conflict, Invalid
from shared.events.base import Model
from shared.metrics import GATEWAY_EVENTS
from shared.uow import UnitOfWork

log = structlog.get_logger("gateway")


async def accept_events(
    uow: UnitOfWork, chain_id: str, bodies: Sequence[tuple[str, Model]], max_skew_seconds: float, field_prefix: str = ""
) -> list[BatchItemOut]:
    """`bodies`: (topic, validated body) in the request's order; `field_prefix` names an event in a
    refusal (`events.3.event.`; empty for a request of one event)."""
    events = [_as_chains(body, chain_id, _prefix(field_prefix, i)) for i, (_, body) in enumerate(bodies)]
    for i, event in enumerate(events):
        if (refusal := ahead_of_clock(event, max_skew_seconds)) is not None:
            raise Invalid(
                "clock_skew", refusal.error.removeprefix("clock_skew: "), field=f"{_prefix(field_prefix, i)}occurred_at"
            )
    incoming = [
        Incoming(topic, event.event_id, digest(topic, event))  # type: ignore[attr-defined]
        for (topic, _), event in zip(bodies, events, strict=True)
    ]
    for _ in range(2):  # a second round only when another request took one of the ids meanwhile
        taken = await repo.taken(uow.conn, chain_id, {e.event_id for e in incoming})
        plan = sort_out(incoming, taken)
        if isinstance(plan, Reused):
            raise Conflict(
                "event_id_reused",
                _reused_message(incoming[plan.index], plan),
                field=f"{_prefix(field_prefix, plan.index)}event_id",
            )
        claimed = await repo.claim(uow.conn, chain_id, [incoming[i] for i in plan.fresh])
        if claimed is not None:
            return _publish(uow, chain_id, incoming, events, plan, claimed, taken)
    raise Conflict("event_id_contended", "another request is sending the same events; send again")


def _publish(
    uow: UnitOfWork,
    chain_id: str,
    incoming: list[Incoming],
    events: list[Model],
    plan: Sorted,
    claimed: dict[str, datetime],
    taken: dict[str, Taken],
) -> list[BatchItemOut]:
    for i in plan.fresh:
        # The contract's key: the client's id, so one client's events stay in order.
        uow.publish(incoming[i].topic, events[i].client.id, events[i])  # type: ignore[attr-defined]
    out = []
    for e, status in zip(incoming, plan.statuses, strict=True):
        at = claimed[e.event_id] if e.event_id in claimed else taken[e.event_id].accepted_at
        out.append(BatchItemOut(event_id=e.event_id, topic=e.topic, accepted_at=at, status=status))
        GATEWAY_EVENTS.labels(e.topic, status).inc()
    log.info(
        "events_accepted",
        chain_id=chain_id,
        accepted=len(plan.fresh),
        duplicate=len(incoming) - len(plan.fresh),
        event_id=incoming[0].event_id if len(incoming) == 1 else None,
    )
    return out


def _as_chains(body: Model, chain_id: str, prefix: str) -> Model:
    given = getattr(body, "chain_id", None)
    if given is not None and given != chain_id:
        raise Invalid(
            "chain_mismatch",
            "chain_id must be the path's chain, or left out: the chain of an event is the API key's",
            field=f"{prefix}chain_id",
        )
    return body.model_copy(update={"chain_id": chain_id})


def _prefix(field_prefix: str, i: int) -> str:
    return field_prefix.format(i=i)


def _reused_message(event: Incoming, plan: Reused) -> str:
    where = "was accepted before" if plan.earlier == "before" else "comes earlier in this request"
    return (
        f"event_id {event.event_id!r} {where} with another payload (or topic); an event id names one "
        "event: send a changed event under a new id"
    )
