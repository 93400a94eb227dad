"""Publishing events and reading topics from outside the services: the demo and the tests act as a
booking system and as an SMS aggregator through these."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.consumer import fetch
from shared.topics import MAX_DEAD_LETTER_BYTES

# The hostile suite leaves records with non-UTF-8 header names on the inbound topics: a reader here must
# read past them as the services do (aiokafka alone raises on them, shared/consumer/fetch.py).
fetch.install()


class Kafka:
    def __init__(self, bootstrap_servers: str, security: dict[str, Any] | None = None) -> None:
        """`security`: TLS and SASL as shared.kafka.client_kwargs makes them from the settings (none: PLAINTEXT)."""
        self.bootstrap_servers = bootstrap_servers
        self.security = security or {}
        # Allowed to try more than any topic accepts: the broker is the judge of a message's size.
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            max_request_size=2 * MAX_DEAD_LETTER_BYTES,
            **self.security,
        )

    async def __aenter__(self) -> Kafka:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def publish(
        self,
        topic: str,
        payload: dict[str, Any] | bytes,
        key: str | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        value = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        await self.producer.send_and_wait(topic, value, key=key.encode() if key else None, headers=headers)

    async def read(
        self,
        topic: str,
        match: Callable[[dict[str, Any]], bool] | None = None,
        *,
        count: int = 1,
        timeout: float = 30.0,
        settle: float = 0.0,
    ) -> list[dict[str, Any]]:
        """Reads `topic` from the start and answers the messages `match` accepts: at least `count`
        within `timeout`, then whatever else arrives within `settle` seconds (to prove "only one")."""
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=self.bootstrap_servers,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **self.security,
        )
        await consumer.start()
        found: list[dict[str, Any]] = []
        try:
            deadline = time.monotonic() + timeout
            settle_until: float | None = None
            while True:
                now = time.monotonic()
                if settle_until is None and len(found) >= count:
                    settle_until = now + settle
                if settle_until is not None and now >= settle_until:
                    break
                if now >= deadline:
                    break
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for r in records:
                        message = decode(r.value, r.headers)
                        if message is not None and (match is None or match(message)):
                            found.append(message)
        finally:
            await consumer.stop()
        return found

    async def read_to_end(
        self, topic: str, match: Callable[[dict[str, Any]], bool] | None = None, timeout: float = 120.0
    ) -> list[dict[str, Any]]:
        """Every message of `topic` that `match` accepts, from the start up to the end it has now (no
        waiting for more: for proving what is, or is not, on a topic once the work has settled).
        Each message gets `_partition`, `_offset` and `_timestamp` (ms) besides `_headers`."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers, group_id=None, enable_auto_commit=False, **self.security
        )
        await consumer.start()
        found: list[dict[str, Any]] = []
        try:
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            if not partitions:
                await consumer._client.force_metadata_update()  # a topic this client has not seen yet
                partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = {tp: end for tp, end in (await consumer.end_offsets(partitions)).items() if end > 0}
            deadline = time.monotonic() + timeout
            while ends:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{topic}: not read to its end within {timeout:.0f}s; left: {ends}")
                batch = await consumer.getmany(*ends, timeout_ms=1000)
                for tp, records in batch.items():
                    for r in records:
                        message = decode(r.value, r.headers)
                        if message is not None and (match is None or match(message)):
                            message.update(_partition=r.partition, _offset=r.offset, _timestamp=r.timestamp)
                            found.append(message)
                    if records and records[-1].offset + 1 >= ends.get(tp, 0):
                        ends.pop(tp, None)
        finally:
            await consumer.stop()
        return found

    async def committed(self, groups: list[str]) -> dict[str, dict[TopicPartition, int]]:
        """Per consumer group, the offset it has committed on each partition it has committed on."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, **self.security)
        await admin.start()
        try:
            return {
                g: {
                    tp: meta.offset
                    for tp, meta in (await admin.list_consumer_group_offsets(g)).items()
                    if meta.offset >= 0
                }
                for g in groups
            }
        finally:
            await admin.close()

    async def lag(self, groups: list[str]) -> dict[str, int]:
        """Per consumer group: how many records of its topics it has not committed yet, over the
        partitions it has committed on."""
        committed = await self.committed(groups)
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, **self.security)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers, group_id=None, **self.security)
        await admin.start()
        await consumer.start()
        try:
            per_partition = await lag_per_partition(admin, consumer, {g: list(o) for g, o in committed.items()})
        finally:
            await consumer.stop()
            await admin.close()
        return {g: sum(behind.values()) for g, behind in per_partition.items()}


async def lag_per_partition(
    admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, partitions: dict[str, list[TopicPartition]]
) -> dict[str, dict[TopicPartition, int]]:
    """Per consumer group, end offset minus committed offset on each of its `partitions` (one never
    committed counts from 0: our groups start from the earliest offset)."""
    every = [tp for tps in partitions.values() for tp in tps]
    ends = await consumer.end_offsets(every) if every else {}
    lags: dict[str, dict[TopicPartition, int]] = {}
    for group, tps in partitions.items():
        if not tps:
            lags[group] = {}
            continue
        committed = await admin.list_consumer_group_offsets(group, partitions=tps)
        # A partition never committed answers -1 (or is missing).
        lags[group] = {tp: ends[tp] - max(committed[tp].offset if tp in committed else 0, 0) for tp in tps}
    return lags


def decode(value: bytes | None, headers: Any) -> dict[str, Any] | None:
    try:
        message = json.loads(value or b"")
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses
        message = {"_raw": (value or b"").decode(errors="replace")}
    if not isinstance(message, dict):
        message = {"_raw": message}
    message["_headers"] = {k: (v or b"").decode(errors="replace") for k, v in (headers or ())}
    return message


def run(coro: Any) -> Any:
    return asyncio.run(coro)
