"""HTTP routes of the gateway (under /v1/chains/{chain_id}): routing only. One route per inbound topic
(each documented with its event's model), and one for a batch of them."""

import re
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from services.gateway import usecases
from services.gateway.schemas import TOPICS, AcceptedOut, BatchOut, EventsIn, validated_events
from shared.auth import EventsChainId
from shared.events.base import Model
from shared.settings import get_settings
from shared.uow import unit_of_work

router = APIRouter(tags=["gateway"])
# W3C trace context; anything else is ignored, as the standard says.
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
Traceparent = Annotated[
    str | None, Header(max_length=55, description="W3C trace context, carried to the event and everything it causes")
]
REPLAYED = "Idempotent-Replayed"


def _trace(traceparent: str | None) -> bytes | None:
    return traceparent.encode() if traceparent and TRACEPARENT.match(traceparent) else None


def _route(topic: str, model: type[Model]) -> None:
    async def post_event(
        chain_id: EventsChainId,
        body: model,  # type: ignore[valid-type]
        request: Request,
        response: Response,
        traceparent: Traceparent = None,
    ) -> AcceptedOut:
        async with unit_of_work(request.app.state.pool, _trace(traceparent)) as uow:
            [out] = await usecases.accept_events(
                uow, chain_id, [(topic, body)], get_settings().consumer_max_clock_skew_seconds
            )
        if out.status == "duplicate":
            response.headers[REPLAYED] = "true"
        return AcceptedOut(event_id=out.event_id, topic=out.topic, accepted_at=out.accepted_at)

    router.add_api_route(
        f"/events/{topic}",
        post_event,
        methods=["POST"],
        status_code=202,
        response_model=AcceptedOut,
        name=f"post_{topic.replace('.', '_')}",
        summary=f"A booking system's {topic}: made durable, published once",
        description=f"The contract's `{topic}` event (`chain_id` may be left out: the chain is the key's). "
        "202 once it is durable; the relay publishes it to its topic. The same event again "
        "(the same `event_id` and payload) answers as the first time did, with "
        f"`{REPLAYED}: true`, and is not published again; the same `event_id` with another payload "
        "answers 409 `event_id_reused`. Needs a key with the `events` scope.",
    )


for _topic, (_model, _) in TOPICS.items():
    _route(_topic, _model)


@router.post(
    "/events",
    status_code=202,
    response_model=BatchOut,
    summary="Up to 1,000 events at once, all or none; each published once",
)
async def post_events(
    chain_id: EventsChainId, body: EventsIn, request: Request, traceparent: Traceparent = None
) -> BatchOut:
    bodies = validated_events(body)
    async with unit_of_work(request.app.state.pool, _trace(traceparent)) as uow:
        out = await usecases.accept_events(
            uow, chain_id, bodies, get_settings().consumer_max_clock_skew_seconds, field_prefix="events.{i}.event."
        )
    return BatchOut(
        accepted=sum(o.status == "accepted" for o in out),
        duplicate=sum(o.status == "duplicate" for o in out),
        events=out,
    )
