"""Publishing the hostile suite's messages (tests/integration/hostile.py) and reading back what each
consumer group made of them: its dead letters, compared as Kafka holds them, and its inbox.

Every message of the suite goes to the partition of one client's key (even one whose own key is not
UTF-8): consumed in order by each group, dead-lettered in order, so an end marker published after the
rest is dead-lettered after them by every group that reads the topic ("nothing more" proven by it)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.errors import MessageSizeTooLargeError

from deploy.kafka_io import Kafka
from shared import topics
from shared.topics import MAX_MESSAGE_BYTES
from tests import raw_records
from tests.integration import hostile
from tests.integration.conftest import Chain, Stack
from tests.integration.hostile import Hostile
from tests.integration.proof import Raw, read_raw

# Who consumes what (services/*/handlers.py): each refuses a bad message on its own.
GROUPS = {
    topics.VISIT_PAID: {"perkstream.memberships", "perkstream.loyalty", "perkstream.inventory", "perkstream.wallet"},
    topics.VISIT_ARRIVED: {"perkstream.memberships", "perkstream.loyalty", "perkstream.inventory"},
    topics.VISIT_NO_SHOW: {"perkstream.memberships", "perkstream.loyalty"},
    topics.VISIT_CANCELLED: {"perkstream.memberships", "perkstream.wallet"},
    topics.MEMBERSHIP_SOLD: {"perkstream.memberships"},
    topics.NOTIFICATION_DELIVERY: {"perkstream.notifications"},
}
SERVICE_OF_GROUP = {g: g.removeprefix("perkstream.") for gs in GROUPS.values() for g in gs}
END = b"the end of the hostile run"  # not JSON: every group dead-letters it, after the cases before it
X_HEADERS = {
    "x-error",
    "x-error-reason",
    "x-consumer-group",
    "x-original-topic",
    "x-original-partition",
    "x-original-offset",
}

Step = tuple[str, dict[str, Any] | Hostile]


async def partition_of(kafka: Kafka, topic: str, key: bytes) -> int:
    return await raw_records.partition_of(kafka.producer, topic, key)


async def send(kafka: Kafka, h: Hostile, partition_key: bytes) -> None:
    """One hostile message on `partition_key`'s partition, its key and headers as given (bytes aiokafka's
    producer will not write through tests/raw_records.py); one too large must be refused by Kafka."""
    partition = await partition_of(kafka, h.topic, partition_key)
    producer = kafka.producer
    if h.too_large:
        with pytest.raises(MessageSizeTooLargeError):
            await producer.send_and_wait(h.topic, h.value, key=h.key, partition=partition, headers=h.headers)
        return
    if not h.raw:
        await producer.send_and_wait(h.topic, h.value, key=h.key, partition=partition, headers=h.headers)
        return
    await raw_records.send_raw(producer, h.topic, partition, h.key, h.value, h.headers, MAX_MESSAGE_BYTES)


async def play(kafka: Kafka, steps: Iterable[Step], key: str, keys: dict[str, str] | None = None) -> None:
    """Each step on `key`'s partition; a good message of a chain in `keys` (another chain's) on its key."""
    for topic, step in steps:
        if isinstance(step, Hostile):
            await send(kafka, step, key.encode())
        else:
            await kafka.publish(topic, step, key=(keys or {}).get(step.get("chain_id", ""), key))


def interleaved(rng: random.Random, goods: Iterable[Step], bads: Iterable[Hostile]) -> list[Step]:
    steps: list[Step] = [*goods, *((b.topic, b) for b in bads)]
    rng.shuffle(steps)
    return steps


def case_of(chain: Chain, n: int | str) -> bytes:
    return f"{chain.id}:{n}".encode()


async def end_markers(kafka: Kafka, chain: Chain, key: str) -> None:
    for topic in GROUPS:
        await kafka.publish(topic, END, key=key, headers=[(hostile.MARKER, case_of(chain, "end"))])


async def dead_letters(kafka: Kafka, chain: Chain, topic: str) -> list[Raw]:
    """Our chain's dead letters on `topic`'s DLQ, as Kafka holds them: the marked ones, and any good
    message of ours (none), up to the end marker's of every group that reads `topic`."""

    def ours(r: Raw) -> bool:
        return (r.header(hostile.MARKER) or b"").startswith(
            case_of(chain, "")
        ) or f'"chain_id": "{chain.id}"'.encode() in (r.value or b"")

    def every_end(found: list[Raw]) -> bool:
        ends = {r.header("x-consumer-group") for r in found if r.header(hostile.MARKER) == case_of(chain, "end")}
        return ends >= {g.encode() for g in GROUPS[topic]}

    return await read_raw(kafka, topics.dlq(topic), ours, until=every_end, timeout=180)


def error_of(dead: Raw) -> str:
    return (dead.header("x-error") or b"").decode(errors="replace")  # cut at 4,000 bytes: maybe mid-character


def as_text(raw: bytes) -> str:
    """A key or header name as a dead letter carries it: text, bytes not UTF-8 as \\xNN, NUL as U+FFFD."""
    return raw.decode("utf-8", "backslashreplace").replace("\x00", "\ufffd")


def problems_with(h: Hostile, letters: list[Raw]) -> list[str]:
    """What is wrong with `h`'s dead letters: each group that is to refuse it, once, with the reason (and
    its code), the original bytes, key and headers; none from a group that is to apply it."""
    what = f"{h.kind} #{h.n} on {h.topic}"
    groups = Counter((d.header("x-consumer-group") or b"").decode() for d in letters)
    refusing = Counter(g for g in GROUPS[h.topic] if h.expect(g) is not None and not h.too_large)
    if groups != refusing:
        errors = {(d.header("x-consumer-group") or b"").decode(): error_of(d)[:200] for d in letters}
        return [f"{what}: dead-lettered by {dict(groups)}, expected {dict(refusing)}: {errors}"]
    found: list[str] = []
    key = as_text(h.key)
    # Header names are text in the outbox; a null header value is empty bytes.
    published = [(as_text(k.encode()), v or b"") for k, v in h.headers]
    if key != h.key.decode("utf-8", "replace"):
        published.append(("x-original-key", h.key))  # the key's own bytes
    for d in letters:
        expected = h.expect((d.header("x-consumer-group") or b"").decode())
        assert expected is not None
        if not expected.explains(error_of(d)) or d.header("x-error-reason") != expected.code.value.encode():
            found.append(f"{what}: {d.header('x-error-reason')!r} {error_of(d)[:300]}")
        if d.value != h.value:
            found.append(f"{what}: bytes changed")
        if d.key != key.encode():
            found.append(f"{what}: key {d.key!r}")
        kept = [(k, v) for k, v in d.headers if not k.startswith("x-") or k == "x-original-key"]
        if kept != published:
            found.append(f"{what}: headers {d.headers!r}")
        if not X_HEADERS <= {k for k, _ in d.headers} or d.header("x-original-topic") != h.topic.encode():
            found.append(f"{what}: x- headers {d.headers!r}")
    # Every group names the same original record.
    if len({(d.header("x-original-partition"), d.header("x-original-offset")) for d in letters}) > 1:
        found.append(f"{what}: letters name different records")
    return found


async def inbox_events(db: asyncpg.Pool, service: str, chain: Chain, topic: str) -> set[str]:
    async with db.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT key FROM {service}.inbox WHERE chain_id = $1 AND topic = $2 AND key LIKE 'event:%'",
            chain.id,
            topic,
        )
    return {r["key"].removeprefix("event:") for r in rows}


async def all_alive_and_ready(stack: Stack) -> None:
    for name, proc in stack.services.items():
        assert proc.process.poll() is None, f"{name} died:\n{proc.log_tail()}"
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.get(f"{proc.url}/readyz")
        assert r.status_code == 200, f"{name}: {r.text}"
