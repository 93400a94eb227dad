"""What the broker knows about a service, as metrics: its consumer group's lag on every partition of the
topics it consumes (`perkstream_consumer_lag`), and how many dead letters each of those topics' `.dlq`
holds (`perkstream_dlq_depth`).

Read every METRICS_COLLECT_SECONDS by ONE process per service: the holder of its schema's relay lease
(shared/relay.py). So the whole group is reported once, however many replicas run (no double counting,
no partition missing while a rebalance moves it), even while no member consumes (the lag an autoscaler
or an operator most needs to see); the other replicas report nothing, and a process that loses the lease
removes its series. The work is bounded and off the consume path: a metadata request, two offset lists
and the group's committed offsets, on a timer, never per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared import metrics
from shared.kafka import client_kwargs
from shared.settings import Settings
from shared.topics import dlq

log = structlog.get_logger("metrics")
COLLECT_TIMEOUT = 10  # seconds one reading may take (the broker away: the next one tries again)


def partition_lag(
    ends: Mapping[TopicPartition, int], starts: Mapping[TopicPartition, int], committed: Mapping[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """Records of each partition the group has not committed: the end offset minus the committed one. A
    partition the group never committed on (or whose committed offset retention has passed) counts
    from its first record still kept: our groups start from the earliest offset."""
    return {tp: max(end - max(committed.get(tp, -1), starts.get(tp, 0)), 0) for tp, end in ends.items()}


class BrokerMetrics:
    def __init__(
        self,
        service: str,
        group_id: str,
        topics: Callable[[], list[str]],
        leading: Callable[[], bool],
        settings: Settings,
    ) -> None:
        self.service = service
        self.group_id = group_id
        self.topics = topics
        self.leading = leading
        self.settings = settings
        self.every = settings.metrics_collect_seconds
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._lag_labels: set[tuple[str, str]] = set()  # (topic, partition) this process reports
        self._dlq_labels: set[str] = set()

    def start(self) -> None:
        if self.topics():  # a service that consumes nothing (the gateway) has no group to report
            self._task = asyncio.create_task(self._run(), name=f"broker-metrics-{self.service}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close()
        self._clear()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            if not self.leading():
                self._clear()
                continue
            try:
                async with asyncio.timeout(COLLECT_TIMEOUT):
                    await self.collect()
            except Exception as exc:  # the broker away, a request timed out: the next round tries again
                log.warning("kafka_metrics_failed", error=repr(exc), retry_in=self.every)
                await self._close()

    async def collect(self) -> None:
        admin, offsets = await self._clients()
        consumed = self.topics()
        described = await admin.describe_topics([*consumed, *(dlq(t) for t in consumed)])
        partitions = [
            TopicPartition(t["topic"], p["partition"])
            for t in described
            if not t["error_code"]
            for p in t["partitions"]
        ]
        ends = await offsets.end_offsets(partitions)
        starts = await offsets.beginning_offsets(partitions)
        mine = [tp for tp in partitions if tp.topic in consumed]
        found = await admin.list_consumer_group_offsets(self.group_id, partitions=mine)
        committed = {tp: meta.offset for tp, meta in found.items()}
        lags = partition_lag({tp: ends[tp] for tp in mine}, starts, committed)
        depths: dict[str, int] = {}
        for tp in partitions:
            if tp.topic not in consumed:
                depths[tp.topic] = depths.get(tp.topic, 0) + ends[tp] - starts[tp]
        self._report(lags, depths)
        metrics.KAFKA_COLLECTED.labels(self.service).set(time.time())

    def _report(self, lags: dict[TopicPartition, int], depths: dict[str, int]) -> None:
        reported = {(tp.topic, str(tp.partition)) for tp in lags}
        for topic, partition in self._lag_labels - reported:  # partitions gone (a topic shrunk: never; deleted)
            metrics.CONSUMER_LAG.remove(self.service, self.group_id, topic, partition)
        for tp, lag in lags.items():
            metrics.CONSUMER_LAG.labels(self.service, self.group_id, tp.topic, str(tp.partition)).set(lag)
        self._lag_labels = reported
        for topic in self._dlq_labels - set(depths):
            metrics.DLQ_DEPTH.remove(self.service, topic)
        for topic, depth in depths.items():
            metrics.DLQ_DEPTH.labels(self.service, topic).set(depth)
        self._dlq_labels = set(depths)

    def _clear(self) -> None:
        """Not the leader (any more): another process reports the group; this one's series go."""
        self._report({}, {})
        with contextlib.suppress(KeyError):
            metrics.KAFKA_COLLECTED.remove(self.service)

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._offsets is None:
            kwargs = client_kwargs(self.settings)
            servers = self.settings.kafka_bootstrap_servers
            admin = AIOKafkaAdminClient(
                bootstrap_servers=servers, client_id=f"perkstream-{self.service}-metrics", **kwargs
            )
            offsets = AIOKafkaConsumer(
                bootstrap_servers=servers, client_id=f"perkstream-{self.service}-metrics", group_id=None, **kwargs
            )
            try:
                await admin.start()
                await offsets.start()
            except BaseException:
                await offsets.stop()
                await admin.close()
                raise
            self._admin, self._offsets = admin, offsets
        return self._admin, self._offsets

    async def _close(self) -> None:
        admin, offsets, self._admin, self._offsets = self._admin, self._offsets, None, None
        with contextlib.suppress(Exception):
            if offsets is not None:
                await offsets.stop()
            if admin is not None:
                await admin.close()
