"""A commit that waits on a metadata update its client never runs is repaired (shared/consumer/wedge.py).

The fault suite caught it once in about six runs: the broker killed while memberships committed; the
consumer's coordinator awaited a metadata update that the client's synchronizer never ran, and the
consumer fetched on without ever committing again. The race that leaves the synchronizer so is not
reproducible on demand, so each test puts a real consumer's client in one of the two states that make the
update never come (the synchronizer waiting for a wake-up with an update pending; the synchronizer gone),
kills the broker under a commit, brings it back, and requires the commit to land. Without the repair the
commit never lands (each test was seen failing with `revive_metadata` answering None).

A broker of their own: they kill it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from deploy import local
from shared.consumer.wedge import commit_within
from tests.integration.conftest import keep_or_remove, new_state_dir

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def broker(request: pytest.FixtureRequest) -> Iterator[local.Stack]:
    state = new_state_dir()
    servers = local.Stack(state, kafka_port=local.free_port(pair=True), pg_port=0)
    local.start_kafka(servers)
    try:
        yield servers
    finally:
        local.stop_kafka(servers)
        keep_or_remove(state, request)


async def consuming(servers: local.Stack) -> tuple[AIOKafkaConsumer, TopicPartition, int]:
    """A group member that has consumed a record and not committed it: its partition and next offset."""
    topic = f"wedge-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=servers.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"a visit")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=servers.bootstrap_servers,
        group_id=f"g-{topic}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=10_000,
    )
    await consumer.start()
    for _ in range(30):
        batch = await consumer.getmany(timeout_ms=1000)
        if batch:
            [(tp, records)] = batch.items()
            return consumer, tp, records[-1].offset + 1
    raise AssertionError("nothing consumed")


async def committed(servers: local.Stack, group: str, tp: TopicPartition) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.bootstrap_servers)
    await admin.start()
    try:
        return (await admin.list_consumer_group_offsets(group))[tp].offset
    finally:
        await admin.close()


@pytest.mark.parametrize("state", ["stalled", "died"])
async def test_a_commit_behind_a_metadata_update_that_never_comes_lands(broker: local.Stack, state: str) -> None:
    consumer, tp, offset = await consuming(broker)
    client = consumer._client
    try:
        if state == "stalled":  # what the fault suite found: an update pending, nothing to wake the synchronizer
            client._md_update_fut = asyncio.get_running_loop().create_future()
            assert not client._md_update_waiter.done()
        else:  # the synchronizer task gone
            client._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await client._sync_task

        # The broker killed under the commit: the coordinator is marked dead, and looking it up again waits
        # for the metadata update; the broker comes back while it waits.
        await asyncio.to_thread(local.kill_kafka, broker)
        restart = asyncio.create_task(asyncio.to_thread(local.start_kafka, broker, 120))
        landed = await commit_within(lambda: consumer.commit({tp: offset}), consumer, 20)
        await restart

        assert landed, "the commit never landed"
        assert await committed(broker, consumer._group_id, tp) == offset
    finally:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(30):
                await consumer.stop()
