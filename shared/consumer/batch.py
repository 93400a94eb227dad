"""BatchConsumer: a service's Kafka consumer (see __init__.py): one subscriber for all its topics, each
batch parsed, applied (apply.py) and retried until it is applied or dead-lettered, then committed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import AckStatus
from faststream.middlewares import AckPolicy
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from shared import metrics
from shared.consumer import fetch
from shared.consumer.apply import ATTEMPT_SECONDS, CONFLICTS, Applier, Isolate, Outcome
from shared.consumer.inbox import InboxPruner
from shared.consumer.records import REDRIVE_FOR, Parsed, parse
from shared.consumer.subscription import Subscription
from shared.consumer.wedge import commit_within
from shared.db import UNREACHABLE
from shared.settings import Settings, get_settings
from shared.shutdown import drain_seconds
from shared.topics import INBOUND

log = structlog.get_logger("consumer")

# A batch that cannot be stored is retried, 0.2 s, 0.4 s, ... then every 5 s: gentle on a database that is
# coming back, and it catches up within seconds of it being back.
BACKOFF_MAX_SECONDS = 5


class BatchConsumer:
    def __init__(
        self,
        service: str,
        broker: KafkaBroker,
        pool: Callable[[], asyncpg.Pool],
        max_records: int,
        batch_timeout_ms: int,
        settings: Settings | None = None,
    ) -> None:
        s = settings or get_settings()
        self.service = service
        self.broker = broker
        self._pool = pool
        self.max_records = max_records
        self.batch_timeout_ms = batch_timeout_ms
        self.record_attempts = s.consumer_record_attempts
        self.applier = Applier(pool, self.group_id, s.consumer_record_seconds, s.consumer_record_attempts)
        self.max_clock_skew_seconds = s.consumer_max_clock_skew_seconds
        self.group_instance_id = s.kafka_group_instance_id or None
        self.session_timeout_ms = s.kafka_session_timeout_ms
        self.subscriptions: list[Subscription[Any]] = []
        self._inflight = asyncio.Lock()  # held from getmany's batch to its offset commit
        self._stopping = False  # set by drain(): no batch is taken any more
        self.drain_seconds = drain_seconds(s.shutdown_grace_seconds)  # a batch in hand, its partitions going
        self.inbox = InboxPruner(
            service,
            pool,
            s.inbox_retention_days,
            s.inbox_prune_interval_seconds,
            s.inbox_prune_batch_rows,
            s.inbox_prune_round_rows,
        )
        fetch.install()

    @property
    def group_id(self) -> str:
        return f"perkstream.{self.service}"

    def subscribe_together(self, subscriptions: list[Subscription[Any]]) -> None:
        """One Kafka consumer (one group member) for the topics of `subscriptions`: a service consuming
        many topics joins its group once instead of once per topic (each join is a group-wide rebalance).
        Each batch is processed topic by topic, in the order the records came, then committed once."""
        self.subscriptions.extend(subscriptions)
        by_topic = {s.topic: s for s in subscriptions}

        async def raw(msg: Any) -> Any:  # the records stay bytes: parsing is ours, per record
            return None

        inflight = self._inflight

        @self.broker.subscriber(
            *by_topic,
            group_id=self.group_id,
            batch=True,
            max_records=self.max_records,
            batch_timeout_ms=self.batch_timeout_ms,
            auto_offset_reset="earliest",  # a new group starts from the beginning: nothing missed
            group_instance_id=self.group_instance_id,  # static membership when set (settings.py)
            session_timeout_ms=self.session_timeout_ms,
            ack_policy=AckPolicy.MANUAL,
            parser=fetch.keep_headers_raw,
            decoder=raw,
            listener=_FinishBatchOnRevoke(inflight, ",".join(by_topic), self.service, self.drain_seconds),
            include_in_schema=False,  # the AsyncAPI document is built from the contract models instead
        )
        async def consume(body: Any, message: KafkaMessage) -> None:
            async with inflight:
                if self._stopping:
                    # Fetched after the stop signal: neither applied nor committed, the next owner of these
                    # partitions takes them from the last committed offset.
                    return
                per_topic: dict[str, list[ConsumerRecord]] = {}
                for record in message.raw_message:
                    per_topic.setdefault(record.topic, []).append(record)
                await self.process_fetch([(by_topic[topic], records) for topic, records in per_topic.items()])
                try:
                    committed = await commit_within(lambda: commit_own(message), message.consumer, ATTEMPT_SECONDS)
                except (CommitFailedError, IllegalStateError) as exc:
                    # The group rebalanced while we worked: the new owner gets these records again, and
                    # the inbox turns them into no-ops.
                    log.warning("commit_failed_after_rebalance", topic=",".join(by_topic), error=str(exc))
                else:
                    if not committed:
                        # The broker is away (restarting): these records are applied, so the next batch's
                        # commit, which covers their positions too, is as good; a crash first replays them.
                        log.warning("commit_timed_out", topic=",".join(by_topic))

    async def drain(self, timeout: float) -> tuple[bool, bool]:
        """Takes no new batch; waits at most `timeout` for the batch in hand to be applied and its offsets
        committed, so that the group's next owner of its partitions starts right after it. Answers whether
        a batch was in hand, and whether everything taken is finished (False: the batch in hand overran,
        e.g. the database away; cut short, it is rolled back and redelivered)."""
        self._stopping = True
        in_hand = self._inflight.locked()
        try:
            async with asyncio.timeout(max(timeout, 0)):
                async with self._inflight:
                    pass
        except TimeoutError:
            log.warning("shutdown_batch_overran", seconds=timeout)
            return in_hand, False
        return in_hand, True

    # --- processing --------------------------------------------------------------------------

    def parse(self, sub: Subscription[Any], record: ConsumerRecord) -> Parsed:
        # Only the booking systems' clocks are checked: the services' own events carry their clock's time.
        skew = self.max_clock_skew_seconds if sub.topic in INBOUND else None
        return parse(record, sub.topic, sub.model, sub.keys, skew)

    def _parsed(self, sub: Subscription[Any], records: Iterable[ConsumerRecord]) -> list[Parsed]:
        mine = self.group_id.encode()
        batch = [self.parse(sub, r) for r in records if redriven_for(r) in (None, mine)]
        metrics.CONSUMED.labels(self.service, sub.topic).inc(len(batch))
        return batch

    async def process_fetch(self, groups: list[tuple[Subscription[Any], list[ConsumerRecord]]]) -> None:
        """One fetch's records, topic by topic in ONE transaction (one commit, one wait for the WAL: a hop's
        latency, and notifications gets many topics a fetch). Whatever makes that fail (a record to
        isolate, a conflict, the database away) sends every topic the way it always went: one transaction
        each, retried, isolated record by record (`process`). The inbox makes the replay harmless."""
        parsed = [(sub, batch) for sub, records in groups if (batch := self._parsed(sub, records))]
        if len(parsed) > 1:
            started = time.perf_counter()
            try:
                outcomes = await self.applier.whole_many(parsed)
            except Exception as exc:
                log.info("fetch_split_by_topic", error=repr(exc))
            else:
                took = time.perf_counter() - started
                for (sub, _), outcome in zip(parsed, outcomes, strict=True):
                    self._count(sub, outcome, took)
                return
        for sub, batch in parsed:
            await self._apply(sub, batch)

    async def process(self, sub: Subscription[Any], records: Iterable[ConsumerRecord]) -> None:
        """One topic's records, in their own transaction."""
        if batch := self._parsed(sub, records):
            await self._apply(sub, batch)

    def _count(self, sub: Subscription[Any], outcome: Outcome, seconds: float) -> None:
        labels = (self.service, sub.topic)
        metrics.BATCH_SECONDS.labels(*labels).observe(seconds)
        metrics.PROCESSED.labels(*labels).inc(outcome.applied)
        metrics.DUPLICATES.labels(*labels).inc(outcome.duplicates)
        for reason, count in outcome.dead.items():
            metrics.DEAD_LETTERED.labels(*labels, reason.value).inc(count)

    async def _apply(self, sub: Subscription[Any], batch: list[Parsed]) -> None:
        started = time.perf_counter()
        progress = _Progress()
        # A failure that the database's absence explains is retried with backoff for as long as it
        # lasts, loudly (log + metric), and the offsets stay uncommitted: a stuck partition shows as lag;
        # a skipped message would not show. Everything else is bounded: a record over its deadline or in
        # a conflict gets `record_attempts` tries, then its batch goes record by record and the record
        # is dead-lettered alone; a record-by-record pass failing anyway is retried `record_attempts`
        # times, then with dead letters stripped to what the outbox always takes.
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_exponential(multiplier=0.2, max=BACKOFF_MAX_SECONDS),
            before_sleep=lambda rs: self._retrying(sub, rs.outcome.exception() if rs.outcome else None),
        ):
            with attempt:
                outcome = await self._attempt(sub, batch, progress)
        self._count(sub, outcome, time.perf_counter() - started)

    def _retrying(self, sub: Subscription[Any], error: BaseException | None) -> None:
        metrics.BATCH_RETRIES.labels(self.service, sub.topic).inc()
        log.warning("batch_retry", topic=sub.topic, error=repr(error))

    async def _attempt(self, sub: Subscription[Any], batch: list[Parsed], progress: _Progress) -> Outcome:
        if not progress.isolate:
            started = time.monotonic()
            try:
                return await self.applier.whole(sub, batch)
            except Isolate as why:
                log.warning("batch_isolated", topic=sub.topic, cause=str(why))
                progress.isolate = True  # replay record by record, so only the bad one is dead-lettered
            except UNREACHABLE:
                # Our watchdog ended an attempt that overran (its connection terminated): next, record
                # by record, each under its own deadline. A database that went away is retried alike.
                progress.isolate = time.monotonic() - started >= ATTEMPT_SECONDS
                raise
            except CONFLICTS:
                progress.conflicts += 1
                progress.isolate = progress.conflicts >= self.record_attempts
                raise
            except Exception as exc:  # e.g. the database refusing an outbox row: find the record, alone
                log.warning("batch_failed", topic=sub.topic, error=repr(exc))
                progress.isolate = True
        try:
            return await self.applier.one_by_one(sub, batch, progress.bare)
        except UNREACHABLE:
            raise
        except Exception as exc:
            progress.failures += 1
            if progress.failures >= self.record_attempts and not progress.bare:
                log.error("dead_letters_stripped", topic=sub.topic, error=repr(exc))
                progress.bare = True
            raise


def redriven_for(record: ConsumerRecord) -> bytes | None:
    """The consumer group a re-driven dead letter is meant for (`x-redrive-for`, shared/redrive.py), None for
    any other record. Another group's re-driven copy is passed over (its offset committed with the batch):
    that group had applied the original, and its inbox may have forgotten it since (INBOX_RETENTION_DAYS)."""
    for name, value in record.headers or ():
        if name == REDRIVE_FOR:
            return value or b""
    return None


async def commit_own(message: KafkaMessage) -> None:
    """Commits the positions after the batch's records, on the batch's own partitions (what FastStream's
    `ack` does, except that it sends every assigned partition's position: notifications owns about a
    hundred, and the broker writes an offset record for each, batch after batch)."""
    offsets: dict[TopicPartition, int] = {}
    for r in message.raw_message:
        tp = TopicPartition(r.topic, r.partition)
        offsets[tp] = max(offsets.get(tp, 0), r.offset + 1)
    if offsets:
        await message.consumer.commit(offsets)  # type: ignore[call-arg]
    message.committed = AckStatus.ACKED


class _FinishBatchOnRevoke(ConsumerRebalanceListener):
    """aiokafka rebalances eagerly (no cooperative protocol): before it takes partitions away, let the
    batch in hand finish and commit, so the next owner starts exactly after it. Bounded: a batch that
    takes longer is redelivered to the next owner instead, and the inbox absorbs it."""

    def __init__(self, inflight: asyncio.Lock, topic: str, service: str, wait_seconds: float) -> None:
        self.inflight = inflight
        self.topic = topic
        self.service = service
        self.wait_seconds = wait_seconds

    async def on_partitions_revoked(self, revoked: Any) -> None:
        if not self.inflight.locked():
            return
        try:
            async with asyncio.timeout(self.wait_seconds):
                async with self.inflight:
                    pass
        except TimeoutError:
            log.warning("rebalance_before_batch_committed", topic=self.topic)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        metrics.PARTITIONS_ASSIGNED.labels(self.service).inc()


@dataclass
class _Progress:
    """What the attempts at one batch learned, kept across its retries."""

    isolate: bool = False
    conflicts: int = 0  # whole-batch attempts lost to a conflict
    failures: int = 0  # record-by-record passes that failed anyway
    bare: bool = False
