"""Two waits of the consumer the README bounds (issue "Proof that can fail", point 7), on the very
closure a service subscribes (shared/consumer/batch.py), with the broker and its message stood in for:

- "an offset commit that Kafka does not answer within 60 s is left to the next batch's commit": a commit
  that never answers does not hold the consumer (nor, through it, a rebalance) for longer than that;
- "a `ConsumerRebalanceListener` lets the batch in hand finish and commit before its partitions are
  revoked (bounded at 20 s)": the revocation waits for the batch's commit, and no longer than its bound.

Through the real Kafka: tests/integration/test_documented_consumer.py (a rebalance in the middle of a
batch redelivers nothing)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from pydantic import BaseModel

from shared.consumer import batch
from shared.consumer.batch import BatchConsumer, _FinishBatchOnRevoke
from shared.consumer.subscription import Subscription
from shared.settings import Settings


class Ping(BaseModel):
    event_id: str
    chain_id: str


async def _nothing(uow: Any, e: Ping) -> None:
    return None


class _Broker:
    """Stands in for FastStream's KafkaBroker: keeps what subscribe_together registers."""

    def __init__(self) -> None:
        self.consume: Callable[..., Any] | None = None
        self.options: dict[str, Any] = {}

    def subscriber(self, *topics: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        self.options = options

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.consume = fn
            return fn

        return register


@dataclass
class _Consumer:
    commit_answer: Callable[[], Any]
    committed: list[dict[Any, int]] = field(default_factory=list)

    async def commit(self, offsets: dict[Any, int]) -> None:
        await self.commit_answer()
        self.committed.append(offsets)


class _Message:
    """A batch (its records handled already: only the commit is left), and the consumer its commit goes to."""

    def __init__(self, commit: Callable[[], Any], records: list[Any] | None = None) -> None:
        self.consumer = _Consumer(commit)
        self.raw_message = tuple(records if records is not None else [_record("documented.ping", 0, 41)])
        self.committed: Any = None

    @property
    def acked(self) -> bool:
        return bool(self.consumer.committed)


def _record(topic: str, partition: int, offset: int) -> Any:
    return SimpleNamespace(topic=topic, partition=partition, offset=offset)


def _subscribed() -> tuple[Callable[..., Any], _FinishBatchOnRevoke]:
    broker = _Broker()
    consumer = BatchConsumer("documented", broker, lambda: None, 10, 10, Settings())  # type: ignore[arg-type]
    consumer.subscribe_together([Subscription("documented.ping", Ping, _nothing)])

    async def handled(groups: Any) -> None:  # the records are handled already: only the commit is left
        return None

    consumer.process_fetch = handled  # type: ignore[method-assign]
    assert broker.consume is not None
    return broker.consume, broker.options["listener"]


def test_a_commit_kafka_never_answers_is_given_up_after_the_attempt_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "ATTEMPT_SECONDS", 0.5)  # 60 s in the services
    consume, listener = _subscribed()

    async def never() -> None:
        await asyncio.Event().wait()  # the broker away: no answer, no error

    async def run() -> tuple[float, float]:
        message = _Message(never)
        started = time.monotonic()
        await asyncio.wait_for(consume(None, message), 10)
        took = time.monotonic() - started
        assert not message.acked
        # The batch is over for the consumer: a rebalance now has nothing to wait for.
        revoke_started = time.monotonic()
        await asyncio.wait_for(listener.on_partitions_revoked(set()), 1)
        return took, time.monotonic() - revoke_started

    took, revoke = asyncio.run(run())
    assert 0.5 <= took < 2, took
    assert revoke < 0.1, revoke


def test_a_rebalance_waits_for_the_batch_in_hand_to_commit_before_its_partitions_go() -> None:
    consume, listener = _subscribed()
    events: list[str] = []

    async def run() -> None:
        may_commit = asyncio.Event()

        async def commit() -> None:
            await may_commit.wait()  # the batch's commit, still on its way
            events.append("committed")

        handling = asyncio.create_task(consume(None, _Message(commit)))
        await asyncio.sleep(0)  # the batch is in hand

        async def revoke() -> None:
            await listener.on_partitions_revoked(set())
            events.append("revoked")

        revoking = asyncio.create_task(revoke())
        await asyncio.sleep(0.2)
        events.append("commit answered")
        may_commit.set()
        await asyncio.wait_for(asyncio.gather(handling, revoking), 5)

    asyncio.run(run())
    assert events == ["commit answered", "committed", "revoked"]


def test_a_rebalance_waits_for_the_batch_in_hand_no_longer_than_its_bound() -> None:
    async def run() -> float:
        inflight = asyncio.Lock()
        await inflight.acquire()  # a batch that never ends
        listener = _FinishBatchOnRevoke(inflight, "documented.ping", "documented", wait_seconds=0.3)
        started = time.monotonic()
        await asyncio.wait_for(listener.on_partitions_revoked(set()), 5)
        return time.monotonic() - started

    took = asyncio.run(run())
    assert 0.3 <= took < 1, took


def test_the_services_bound_is_20_seconds() -> None:
    _, listener = _subscribed()
    assert listener.wait_seconds == 20


def test_a_batch_commits_the_positions_after_its_records_on_its_own_partitions_only() -> None:
    """A plain commit sends every assigned partition's position (notifications owns ~100): the broker
    writes an offset record for each, batch after batch. Only the batch's partitions change."""

    async def answered() -> None:
        return None

    message = _Message(answered, [_record("a", 0, 7), _record("a", 0, 9), _record("a", 3, 2), _record("b", 0, 5)])
    asyncio.run(batch.commit_own(message))  # type: ignore[arg-type]
    assert message.consumer.committed == [
        {TopicPartition("a", 0): 10, TopicPartition("a", 3): 3, TopicPartition("b", 0): 6}
    ]
