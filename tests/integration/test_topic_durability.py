"""`create-topics` and the durability settings (TOPIC_REPLICATION_FACTOR, TOPIC_MIN_INSYNC_REPLICAS,
TOPIC_RETENTION_MS, TOPIC_DLQ_RETENTION_MS, TOPIC_PARTITIONS), on the real local broker (one node: RF 1).

The stack's own topics were made by conftest's `create_topics`; the other tests make topics of their own
under a unique prefix and point `create-topics` at them alone."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from tenacity import AsyncRetrying, stop_after_delay, wait_fixed

from shared import admin, topics
from shared.settings import Settings

from .conftest import Stack, eventually

DAY_MS = 86_400_000


@pytest_asyncio.fixture
async def client(stack: Stack) -> AsyncIterator[AIOKafkaAdminClient]:
    made = AIOKafkaAdminClient(bootstrap_servers=stack.settings.kafka_bootstrap_servers)
    await made.start()
    try:
        yield made
    finally:
        await made.close()


async def make_old_topics(client: AIOKafkaAdminClient, *made: NewTopic) -> None:
    """Topics as an older `create-topics` (or an operator) left them."""
    await client.create_topics(list(made))
    async for attempt in AsyncRetrying(stop=stop_after_delay(10), wait=wait_fixed(0.2), reraise=True):
        with attempt:  # a topic created a moment ago may not be described yet
            await admin.topic_configs(client, [t.name for t in made])


async def partitions(client: AIOKafkaAdminClient, name: str) -> int:
    [described] = await client.describe_topics([name])
    return len(described["partitions"])


def only(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """`create-topics` sees these topics as the system's (nothing else of the shared broker is touched)."""
    monkeypatch.setattr(topics, "all_topics", lambda: list(names))


async def test_dead_letters_are_kept_90_days_and_every_topic_sets_its_min_insync_replicas(
    stack: Stack, client: AIOKafkaAdminClient
) -> None:
    names = topics.all_topics()
    configs = await admin.topic_configs(client, names)
    for name in names:
        assert configs[name]["min.insync.replicas"] == ("1", True), name
        if name.endswith(".dlq"):
            assert configs[name]["retention.ms"] == (str(90 * DAY_MS), True), name
        else:  # TOPIC_RETENTION_MS unset: the broker's default
            assert configs[name]["retention.ms"][1] is False, name


async def test_a_topic_with_fewer_partitions_is_reported_and_grown_only_when_asked(
    stack: Stack, client: AIOKafkaAdminClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"durable-{uuid.uuid4().hex[:8]}.small"
    await make_old_topics(client, NewTopic(name, 2, 1))
    only(monkeypatch, name)
    settings = stack.settings.model_copy(update={"topic_partitions": 4})
    try:
        assert await admin.create_topics(settings) == []
        report = capsys.readouterr().out
        assert f"{name}: 2 partitions, setting 4" in report
        assert await partitions(client, name) == 2  # reported only: the keys' partitions stay as they were

        await admin.create_topics(settings, grow_partitions=True)
        assert f"{name}: grown from 2 to 4 partitions" in capsys.readouterr().out
        # the broker's metadata follows CreatePartitions a moment later
        await eventually(lambda: partitions(client, name), lambda n: n == 4, what="4 partitions")

        await admin.create_topics(settings.model_copy(update={"topic_partitions": 3}), grow_partitions=True)
        assert f"{name}: 4 partitions, setting 3 (never lowered)" in capsys.readouterr().out
        assert await partitions(client, name) == 4
    finally:
        await client.delete_topics([name])


async def test_drift_on_existing_topics_is_reported_and_what_an_operator_set_stays(
    stack: Stack, client: AIOKafkaAdminClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = f"durable-{uuid.uuid4().hex[:8]}"
    hand_set = f"{prefix}.hand.dlq"  # retention and min ISR set by an operator
    older = f"{prefix}.older.dlq"  # made by an older create-topics: nothing but its own cleanup.policy
    plain = f"{prefix}.plain"
    await make_old_topics(
        client,
        NewTopic(hand_set, 1, 1, topic_configs={"retention.ms": str(DAY_MS), "min.insync.replicas": "1"}),
        NewTopic(older, 1, 1, topic_configs={"cleanup.policy": "delete"}),
        NewTopic(plain, 1, 1),
    )
    only(monkeypatch, hand_set, older, plain)
    settings: Settings = stack.settings.model_copy(update={"topic_partitions": 1})
    try:
        await admin.create_topics(settings)
        report = capsys.readouterr().out
        configs = await admin.topic_configs(client, [hand_set, older, plain])
        # What an operator set is reported, never changed.
        assert f"{hand_set}: retention.ms {DAY_MS} set on the topic, setting {90 * DAY_MS}" in report
        assert configs[hand_set]["retention.ms"] == (str(DAY_MS), True)
        # What nobody set, and the setting makes safer, is filled in (the dead letters of an older cluster
        # no longer expire after the broker's 7 days), keeping the topic's own settings.
        assert f"{older}: retention.ms set to {90 * DAY_MS}" in report
        assert configs[older]["retention.ms"] == (str(90 * DAY_MS), True)
        assert configs[older]["cleanup.policy"] == ("delete", True)
        assert configs[plain]["min.insync.replicas"] == ("1", True)

        # Production values on a one-node cluster: nothing can be applied, all of it is said.
        production = settings.model_copy(
            update={"topic_replication_factor": 3, "topic_min_insync_replicas": 2, "topic_retention_ms": 2 * DAY_MS}
        )
        await admin.create_topics(production)
        report = capsys.readouterr().out
        assert f"{plain}: replication factor 1, setting 3" in report
        assert f"{plain}: min.insync.replicas 1 set on the topic, setting 2" in report
        assert f"{plain}: retention.ms {7 * DAY_MS} (broker default), setting {2 * DAY_MS} (never shortened)" in report
        after = await admin.topic_configs(client, [hand_set, older, plain])
        assert after == configs
    finally:
        await client.delete_topics([hand_set, older, plain])
