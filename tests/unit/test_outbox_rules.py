"""The outbox's rules: what the relay sets aside and what it waits for, what a row may be, and the
write path's backstop (an event larger than its topic takes is refused where it is made: 413)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from aiokafka import errors
from fastapi import APIRouter, FastAPI

from shared import outbox, topics
from shared.errors import ERROR_RESPONSES
from shared.events import MembershipTypeChanged
from shared.http import create_http_app
from shared.uow import EventTooLarge, UnitOfWork


@pytest.mark.parametrize(
    "exc",
    [
        errors.KafkaTimeoutError(),
        errors.KafkaConnectionError(),
        errors.NotLeaderForPartitionError(),
        errors.RequestTimedOutError(),
        errors.UnknownTopicOrPartitionError(),
        errors.NotEnoughReplicasError(),
        errors.LeaderNotAvailableError(),
        errors.NoBrokersAvailable(),
        errors.ProducerClosed(),
        TimeoutError(),
        errors.TopicAuthorizationFailedError(),
    ],
)
def test_the_broker_away_or_busy_makes_rows_wait(exc: BaseException) -> None:
    assert outbox.waits(exc)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (errors.MessageSizeTooLargeError(), "too_large"),
        (errors.RecordListTooLargeError(), "too_large"),
        (errors.InvalidTopicError(), "invalid_topic"),
        (errors.CorruptRecordException(), "refused"),
        (errors.InvalidTimestampError(), "refused"),
        (errors.OutOfOrderSequenceNumber(), "refused"),
        (TypeError("not bytes"), "refused"),
    ],
)
def test_a_refusal_for_good_sets_the_row_aside_with_its_reason(exc: BaseException, code: str) -> None:
    assert not outbox.waits(exc)
    assert outbox.refusal(exc).startswith(f"{code}: {type(exc).__name__}")


def row(**fields: Any) -> dict[str, Any]:
    return {
        "topic": topics.MEMBERSHIP_ISSUED,
        "key": "cl-1",
        "value": b"{}",
        "header_names": ["traceparent"],
        "header_values": [b"00-1"],
        **fields,
    }


def test_a_row_kafka_would_refuse_is_known_before_it_is_sent() -> None:
    assert outbox.problem(row()) is None
    assert outbox.problem(row(key=None, header_names=[], header_values=[])) is None
    assert outbox.problem(row(topic="no such topic!")).startswith("invalid_topic")  # type: ignore[union-attr]
    assert outbox.problem(row(topic="x" * 250)).startswith("invalid_topic")  # type: ignore[union-attr]
    assert outbox.problem(row(topic="..")).startswith("invalid_topic")  # type: ignore[union-attr]
    assert outbox.problem(row(header_names=[])).startswith("invalid_headers")  # type: ignore[union-attr]
    assert outbox.problem(row(header_names=[None])).startswith("invalid_headers")  # type: ignore[union-attr]
    limit = topics.max_message_bytes(topics.MEMBERSHIP_ISSUED)
    assert outbox.problem(row(value=b"x" * (limit - 200))) is None
    assert outbox.problem(row(value=b"x" * limit)).startswith("too_large")  # type: ignore[union-attr]
    # A dead letter may be larger: its topic takes 64 KiB more.
    assert outbox.problem(row(topic=topics.dlq(topics.VISIT_PAID), value=b"x" * limit)) is None


def test_a_record_counts_its_key_and_headers_too() -> None:
    bare = topics.record_size(None, b"x" * 1000)
    assert topics.record_size("k" * 100, b"x" * 1000) >= bare + 100
    assert topics.record_size(None, b"x" * 1000, [("traceparent", b"y" * 55)]) >= bare + 55 + len("traceparent")


def type_event(location_ids: list[str]) -> MembershipTypeChanged:
    return MembershipTypeChanged(
        chain_id="ch-1",
        membership_type_id=uuid.uuid4(),
        name="Massage",
        price="8000",
        archived=False,
        balance="split",
        services=[],
        total_visits=None,
        allow_without_code=False,
        online_sale=True,
        location_ids=location_ids,
    )


HUGE = [f"loc-{i:05d}-" + "x" * 110 for i in range(20_000)]  # the reproduction: 2.5 MB of location ids


def test_an_event_larger_than_its_topic_takes_is_refused_naming_its_largest_field() -> None:
    uow = UnitOfWork(conn=None)  # type: ignore[arg-type]  # publish only queues: no database involved
    uow.publish(topics.MEMBERSHIP_TYPE_CREATED, "t-1", type_event(["loc-1"]))
    with pytest.raises(EventTooLarge) as refused:
        uow.publish(topics.MEMBERSHIP_TYPE_CREATED, "t-1", type_event(HUGE))
    assert refused.value.status == 413
    assert refused.value.field == "location_ids"
    # What a consumer's dead letter says (`processing failed: EventTooLarge: event_too_large: ...`).
    assert str(refused.value).startswith("event_too_large: the membership_type.created event would be")
    assert [m.topic for m in uow.take()] == [topics.MEMBERSHIP_TYPE_CREATED]  # the small one only


def test_a_request_whose_event_is_too_large_answers_413_naming_the_field() -> None:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield

    app = create_http_app("test", lifespan, lambda: {}, lambda: {})
    router = APIRouter()

    @router.post("/types")
    async def make() -> None:
        UnitOfWork(conn=None).publish(topics.MEMBERSHIP_TYPE_CREATED, "t-1", type_event(HUGE))  # type: ignore[arg-type]

    app.include_router(router, prefix="/v1/chains/{chain_id}", responses=ERROR_RESPONSES)

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as http:
            return await http.post("/v1/chains/ch-1/types")

    r = asyncio.run(post())
    assert r.status_code == 413
    assert r.json()["error"] == "event_too_large" and r.json()["field"] == "location_ids"
    declared = app.openapi()["paths"]["/v1/chains/{chain_id}/types"]["post"]["responses"]
    assert "413" in declared
    assert json.dumps(declared["413"]).count("ErrorOut") == 1
