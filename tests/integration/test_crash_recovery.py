"""Nothing lost, nothing twice, across a crash: the notifications service is killed (SIGKILL, no
shutdown) in the middle of a burst, and a new process takes over from the committed offsets, moved back
to the start of the burst: it replays every record, and what was applied before the crash is applied
no second time."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from aiokafka import TopicPartition

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, eventually
from tests.integration.proof import metric, rewind

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

BURST = 2000
GROUP = "perkstream.notifications"


def deducted(chain: Chain, i: int) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2026-03-01T10:40:00+00:00",
        "chain_id": chain.id,
        "location_id": "loc-1",
        "membership_id": str(uuid.uuid4()),
        "code": f"C{i}",
        "type_name": "Massage",
        "client": {"id": f"cl-{i}", "phone": f"+3620{i:07d}", "name": "Anna"},
        "visit_id": f"v-{i}",
        "service_id": "svc-massage",
        "units": 1,
        "visits_left": 9,
        "balance": {"svc-massage": 9},
        "service_cost": None,
        "valid_until": None,
    }


async def test_a_killed_consumer_loses_nothing_and_applies_nothing_twice(
    chain: Chain, kafka: Kafka, stack: Stack, db: asyncpg.Pool
) -> None:
    events = [deducted(chain, i) for i in range(BURST)]

    async def notices() -> int:
        return await db.fetchval(  # type: ignore[no-any-return]
            "SELECT count(*) FROM notifications.notices WHERE chain_id = $1", chain.id
        )

    await asyncio.gather(*(kafka.publish(topics.MEMBERSHIP_DEDUCTED, e, key=e["client"]["id"]) for e in events))
    await eventually(notices, lambda n: n > 0, timeout=30, what="the first notices")
    stack.kill("notifications")  # mid-burst: no graceful stop, no last commit
    # The worst a crash can leave: every record of the burst applied so far but none of its offsets
    # committed. The group's offsets go back to where the burst begins, so the new process replays all
    # of them (a kill alone seldom lands between a transaction and its offset commit).
    burst = await kafka.read_to_end(topics.MEMBERSHIP_DEDUCTED, lambda m: m.get("chain_id") == chain.id)
    assert len(burst) == BURST
    starts: dict[TopicPartition, int] = {}
    for m in burst:
        tp = TopicPartition(topics.MEMBERSHIP_DEDUCTED, m["_partition"])
        starts[tp] = min(starts.get(tp, m["_offset"]), m["_offset"])
    await rewind(kafka, GROUP, starts)
    done_before_crash = await notices()  # the killed process's transactions are over by now
    assert 0 < done_before_crash < BURST, "the crash came after the burst: nothing was proven"
    revived = stack.revive("notifications").url

    async def counted(name: str) -> float:
        return await metric(revived, name, service="notifications", topic=topics.MEMBERSHIP_DEDUCTED)

    async def outcome() -> tuple[float, float]:
        return (
            await counted("perkstream_messages_processed_total"),
            await counted("perkstream_messages_duplicate_total"),
        )

    applied, duplicates = await eventually(outcome, lambda o: sum(o) >= BURST, timeout=60, what="the burst replayed")
    # Every record was replayed; those applied before the crash were recognised (inbox) and changed
    # nothing, the others were applied now: once each, in all.
    assert (applied, duplicates) == (BURST - done_before_crash, done_before_crash)
    assert await notices() == BURST  # each event texted once
    sms = await kafka.read(topics.NOTIFICATION_SMS, lambda m: m.get("chain_id") == chain.id, count=BURST, timeout=60)
    # The relay publishes at least once: a crash between Kafka's ack and the DELETE may resend a
    # notice, always with the same notification_id (an aggregator dedupes on it).
    by_source: dict[str, set[str]] = {}
    for m in sms:
        by_source.setdefault(m["source_event_id"], set()).add(m["notification_id"])
    assert set(by_source) == {e["event_id"] for e in events}
    assert all(len(ids) == 1 for ids in by_source.values())
