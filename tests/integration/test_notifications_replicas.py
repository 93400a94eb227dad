"""Two replicas handling the same domain event at the same time (a rebalance hands a batch in flight to
the other replica, which the inbox of the first has not committed yet) text the client once: the
notices' unique key (chain, source event, channel) makes the second insert wait for the first (the test
sees it waiting) and then record nothing, so only one outbox row is written."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from deploy.kafka_io import Kafka
from services.notifications import usecases
from shared import topics
from shared.events import MembershipDeducted
from shared.jobs import Jobs
from shared.uow import UnitOfWork, enqueue
from tests.integration.conftest import Chain, Stack, eventually, of_chain, publish
from tests.integration.notifications_helpers import caused_by, deducted, notices, notices_eventually, put_settings
from tests.integration.proof import until_marker

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_the_same_event_handled_by_two_replicas_at_once_texts_once(
    chain: Chain, kafka: Kafka, stack: Stack
) -> None:
    event = MembershipDeducted.model_validate(deducted(chain))
    pool = await asyncpg.create_pool(
        stack.settings.database_url, min_size=2, max_size=2, server_settings={"search_path": "notifications"}
    )
    assert pool is not None
    first_inserted = asyncio.Event()
    published: list[int] = []
    second: list[int] = []  # the second replica's backend

    async def replica(wait_for_first: bool) -> None:
        async with pool.acquire() as conn, conn.transaction():
            if wait_for_first:
                second.append(conn.get_server_pid())
                await first_inserted.wait()  # the other's insert is in, not yet committed
            uow = UnitOfWork(conn)
            await usecases.notify_deduction(uow, [event])
            if not wait_for_first:
                first_inserted.set()
                # Hold the transaction until the other replica is seen waiting for it: both handle the
                # event at the same time, for sure.
                await eventually(
                    lambda: watcher.fetchval("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", second[0]),
                    lambda waits: waits == "Lock",
                    timeout=10,
                    what="the second replica waiting",
                )
            messages = uow.take()
            published.append(len(messages))
            await enqueue(conn, messages)

    watcher = await asyncpg.connect(stack.settings.database_url)
    try:
        await asyncio.gather(replica(False), replica(True))
    finally:
        await watcher.close()
        await pool.close()
    assert sorted(published) == [0, 1]
    assert len(await notices(chain)) == 1
    marker = deducted(chain)  # Anna again, later: once hers is on the topic, the two replicas' would be
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, marker)
    sms = await until_marker(kafka, topics.NOTIFICATION_SMS, of_chain(chain), caused_by(marker))
    assert [m["source_event_id"] for m in sms] == [event.event_id]


async def test_the_scheduled_release_takes_every_chains_due_notices(chain: Chain, kafka: Kafka, stack: Stack) -> None:
    zone = ZoneInfo("America/New_York")
    await put_settings(chain, time_zone="America/New_York", send_window={"from": "08:00", "to": "20:00"})
    day = datetime.now(zone).date() + timedelta(days=3)
    await publish(
        kafka,
        topics.MEMBERSHIP_DEDUCTED,
        deducted(chain, occurred_at=datetime(day.year, day.month, day.day, 21, 0, tzinfo=zone).isoformat()),
    )
    [held] = await notices_eventually(chain, lambda ns: len(ns) == 1)
    opens = datetime.fromisoformat(held["due_at"])
    assert opens == datetime(day.year, day.month, day.day, 8, 0, tzinfo=zone) + timedelta(days=1)

    pool = await asyncpg.create_pool(
        stack.settings.database_url, min_size=1, max_size=1, server_settings={"search_path": "notifications"}
    )
    assert pool is not None
    try:
        jobs = Jobs("notifications", lambda: pool, 60, enabled=False)
        jobs.add("release_held", usecases.RELEASE_HELD)
        scheduled = await jobs.run_scheduled(jobs.jobs["release_held"], opens)  # every chain with notices due
    finally:
        await pool.close()
    assert scheduled is not None and chain.id in scheduled.chains and chain.id not in scheduled.failed
    [sms] = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain))
    assert sms["notification_id"] == held["id"]
