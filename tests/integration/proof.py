"""Proofs that cannot pass by timing out: what is absent, what a replica did, what was replayed.

A read that waits a second and accepts an empty answer proves nothing on a busy stack. To prove that an
event published nothing (or nothing more), a test publishes a *marker* after it on the same partition
path (the same Kafka key; the same topic, or one the same consumer handles after it) whose effect is a
message with the same key on the topic in question. A service consumes a partition in order and its
outbox relay publishes in the order the rows were written: once the marker's message is on the topic,
whatever the event under test published is there too. Only then does the test look (`until_marker`).

The rest reads what a test needs to see without guessing: a topic's records as bytes (`read_raw`), a
service's own counters (`metric`), a consumer group's members and what each was given (`members`), and
a group's committed offsets moved back, as a crash before each offset commit would leave them (`rewind`),
and which server processes wait on a lock the test holds (`blocked_by`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from prometheus_client.parser import text_string_to_metric_families

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import eventually


async def until_marker(
    kafka: Kafka,
    topic: str,
    match: Callable[[dict[str, Any]], bool],
    marker: Callable[[dict[str, Any]], bool],
    *,
    timeout: float = 60,
) -> list[dict[str, Any]]:
    """The messages of `topic` that `match` accepts, besides the marker's, once the marker's message (the
    one `marker` accepts) is on it: everything published before the marker, on its partition path.
    A marker's path may cross three services on a busy stack, hence the minute; a miss names what
    `match` finds dead-lettered and how far behind each group is, so a failure in CI says why."""
    if not await kafka.read(topic, marker, timeout=timeout):
        raise AssertionError(
            f"the marker's message did not reach {topic} within {timeout}s; {await what_stopped(kafka, match)}"
        )
    return await kafka.read_to_end(topic, lambda m: match(m) and not marker(m))


async def what_stopped(kafka: Kafka, match: Callable[[dict[str, Any]], bool]) -> str:
    """For a failure message: the dead letters `match` accepts (topic, reason) and each group's lag."""
    dead = []
    for t in topics.all_topics():
        if t.endswith(".dlq"):
            for m in await kafka.read_to_end(t, match, timeout=10):
                reasons = {k: v[:300] for k, v in m.get("_headers", {}).items() if k.startswith("x-error")}
                dead.append(f"{t}: {reasons}")
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers, **kafka.security)
    await admin.start()
    try:
        groups = sorted(g for g, *_ in await admin.list_consumer_groups())
    finally:
        await admin.close()
    lag = {g: n for g, n in (await kafka.lag(groups)).items() if n}
    return f"dead letters: {dead or 'none'}; groups behind: {lag or 'none'}"


@dataclass(frozen=True)
class Raw:
    """A record as Kafka holds it: no decoding, nothing replaced."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> bytes | None:
        return next((v for k, v in self.headers if k == name), None)


async def read_raw(
    kafka: Kafka, topic: str, match: Callable[[Raw], bool], *, until: Callable[[list[Raw]], bool], timeout: float = 90
) -> list[Raw]:
    """The records of `topic` that `match` accepts, as bytes: read from the start until `until` accepts
    what was found, then on to the end the topic had at that moment (so nothing published before it is
    missed). Raises if `until` is not satisfied within `timeout`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=None, enable_auto_commit=False)
    await consumer.start()
    found: list[Raw] = []
    try:
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends: dict[TopicPartition, int] | None = None
        deadline = time.monotonic() + timeout
        while True:
            if ends is None and until(found):
                ends = {
                    tp: end
                    for tp, end in (await consumer.end_offsets(partitions)).items()
                    if end > await consumer.position(tp)
                }
            if ends is not None and not ends:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: not found within {timeout:.0f}s; found {len(found)}")
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                for r in records:
                    raw = Raw(r.partition, r.offset, r.key, r.value, tuple(r.headers or ()))
                    if match(raw):
                        found.append(raw)
                if ends is not None and records and records[-1].offset + 1 >= ends.get(tp, 0):
                    ends.pop(tp, None)
    finally:
        await consumer.stop()


async def metric(url: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` (a counter's `..._total`) with `labels` on a service's /metrics:
    what that very process counted since it started."""
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.get(f"{url}/metrics")
    r.raise_for_status()
    return sum(
        s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


async def members(kafka: Kafka, group: str) -> tuple[str, list[set[TopicPartition]]]:
    """A consumer group's state (Stable, Empty, PreparingRebalance...) and, per member, its partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    [described] = response.groups
    state, found = described[2], described[5]
    return state, [set(ConsumerProtocolMemberAssignment.decode(m[4]).partitions()) if m[4] else set() for m in found]


async def rewind(kafka: Kafka, group: str, offsets: dict[TopicPartition, int], *, timeout: float = 60) -> None:
    """Commits `offsets` for `group` once it has no member left (a killed member is dropped when its
    session times out): its next member starts from there, as after a crash that came after each of
    those records' transactions but before any of their offset commits."""
    await eventually(
        lambda: members(kafka, group),
        lambda m: m[0] in ("Empty", "Dead"),
        timeout=timeout,
        what=f"{group} without members",
    )
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()
    committed = (await kafka.committed([group]))[group]
    assert all(committed.get(tp) == offset for tp, offset in offsets.items()), committed


async def blocked_by(db: asyncpg.Pool, holder: asyncpg.Connection) -> list[int]:
    """The server processes waiting for a lock `holder` has: a service caught in the middle of its work
    by a row or table the test holds, seen waiting there rather than assumed to be after a sleep."""
    return [
        r["pid"]
        for r in await db.fetch(
            "SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", holder.get_server_pid()
        )
    ]
