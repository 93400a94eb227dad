"""The consume pattern every service uses: nothing lost, nothing applied twice.

For each batch FastStream takes from Kafka (`getmany`, across the partitions this member owns):

1. parse and validate every record; a record that fails becomes a dead letter (`<topic>.dlq`, the
   original bytes, the reason in the `x-error` header);
2. in ONE transaction: claim the inbox keys of every valid record (`event:<event_id>` plus the
   subscription's business keys); a record whose key was already there is a duplicate and changes
   nothing; run the handler of every new record, write the outbox rows they published and the dead
   letters;
3. only then commit the offsets (AckPolicy.MANUAL: FastStream's default would commit before step 2).

A handler that raises for one record must not cost the others: the batch is rolled back and replayed
record by record, each inside a savepoint, and the one that fails goes to the DLQ alone. A transient
failure (PostgreSQL down, a deadlock, a serialization failure) rolls the whole batch back and retries
it with backoff, without committing; the inbox makes the replay harmless. Offsets are therefore never
committed past a record that was not durably applied or dead-lettered.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg
import structlog
from aiokafka import ConsumerRebalanceListener, ConsumerRecord
from aiokafka.errors import CommitFailedError, IllegalStateError
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from shared import metrics
from shared.db import UNREACHABLE, terminated_after
from shared.topics import dlq
from shared.uow import TRACEPARENT, OutboxMessage, UnitOfWork, enqueue

log = structlog.get_logger("consumer")

E = TypeVar("E", bound=BaseModel)
Handler = Callable[[UnitOfWork, E], Awaitable[None]]

# A batch that cannot be stored is retried, 0.2 s, 0.4 s, ... then every 5 s: gentle on a database that is
# coming back, and it catches up within seconds of it being back.
BACKOFF_MAX_SECONDS = 5

# One attempt at a batch (its transaction, or its offset commit) may take this long at most; taking a
# connection from the pool, this long. A normal batch takes well under a second. A connection that a
# database restart left wedged (asyncpg can wait forever on one, cancellation and statement timeouts
# notwithstanding) is terminated past the deadline: the attempt is retried on a new connection instead
# of the partition stopping for good.
ATTEMPT_SECONDS = 60
ACQUIRE_SECONDS = 10

# Failures worth retrying the whole batch for: the next attempt may well succeed.
TRANSIENT: tuple[type[BaseException], ...] = (
    *UNREACHABLE,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.LockNotAvailableError,
)


@dataclass
class Subscription(Generic[E]):
    topic: str
    model: type[E]
    handler: Handler[E]
    # Business idempotency keys besides the event id (e.g. a visit is applied once, whatever its event id).
    keys: Callable[[E], Iterable[str]] = field(default=lambda _e: ())
    description: str = ""


@dataclass
class Parsed:
    record: ConsumerRecord
    event: BaseModel | None = None
    error: str | None = None
    keys: list[str] = field(default_factory=list)

    @property
    def traceparent(self) -> bytes | None:
        return dict(self.record.headers or ()).get(TRACEPARENT)


def dead_letter(record: ConsumerRecord, reason: str, group_id: str) -> OutboxMessage:
    """The original bytes and headers, plus why and who: several services consume one topic, and each
    dead-letters on its own (`x-consumer-group` tells them apart in `<topic>.dlq`)."""
    # Header names are text in the outbox: a NUL (which PostgreSQL text refuses) must not block it.
    headers = [(k.replace("\x00", "\ufffd"), v) for k, v in (record.headers or ()) if not k.startswith("x-")]
    headers += [
        ("x-error", reason.encode()[:4000]),
        ("x-consumer-group", group_id.encode()),
        ("x-original-topic", record.topic.encode()),
        ("x-original-partition", str(record.partition).encode()),
        ("x-original-offset", str(record.offset).encode()),
    ]
    # The key travels as text in the outbox; a NUL (which PostgreSQL text refuses) must not block it.
    key = record.key.decode(errors="replace").replace("\x00", "\ufffd") if record.key else None
    return OutboxMessage(dlq(record.topic), key, record.value or b"", headers)


def describe(error: ValidationError) -> str:
    """`field.path: message` for each problem: the reason a dead letter carries."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<message>'}: {e['msg']}" for e in error.errors()
    )


class BatchConsumer:
    def __init__(self, service: str, broker: KafkaBroker, pool: Callable[[], asyncpg.Pool],
                 max_records: int, batch_timeout_ms: int) -> None:
        self.service = service
        self.broker = broker
        self._pool = pool
        self.max_records = max_records
        self.batch_timeout_ms = batch_timeout_ms
        self.subscriptions: list[Subscription[Any]] = []

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

        inflight = asyncio.Lock()  # held from getmany's batch to its offset commit

        @self.broker.subscriber(
            *by_topic,
            group_id=self.group_id,
            batch=True,
            max_records=self.max_records,
            batch_timeout_ms=self.batch_timeout_ms,
            auto_offset_reset="earliest",  # a new group starts from the beginning: nothing missed
            ack_policy=AckPolicy.MANUAL,
            decoder=raw,
            listener=_FinishBatchOnRevoke(inflight, ",".join(by_topic)),
            include_in_schema=False,  # the AsyncAPI document is built from the contract models instead
        )
        async def consume(body: Any, message: KafkaMessage) -> None:
            async with inflight:
                per_topic: dict[str, list[ConsumerRecord]] = {}
                for record in message.raw_message:  # type: ignore[union-attr]
                    per_topic.setdefault(record.topic, []).append(record)
                for topic, records in per_topic.items():
                    await self.process(by_topic[topic], records)
                try:
                    async with asyncio.timeout(ATTEMPT_SECONDS):
                        await message.ack()
                except (CommitFailedError, IllegalStateError) as exc:
                    # The group rebalanced while we worked: the new owner gets these records again, and
                    # the inbox turns them into no-ops.
                    log.warning("commit_failed_after_rebalance", topic=",".join(by_topic), error=str(exc))
                except TimeoutError:
                    # The broker is away (restarting): these records are applied, so the next batch's
                    # commit, which covers their positions too, is as good; a crash first replays them.
                    log.warning("commit_timed_out", topic=",".join(by_topic))

    # --- processing --------------------------------------------------------------------------

    def parse(self, sub: Subscription[Any], record: ConsumerRecord) -> Parsed:
        parsed = Parsed(record)
        try:
            payload = json.loads(record.value)
        except (TypeError, ValueError, RecursionError) as exc:  # RecursionError: [[[[... nested too deep
            parsed.error = f"not JSON: {exc}"
            return parsed
        if not isinstance(payload, dict):
            parsed.error = "not a JSON object"
            return parsed
        try:
            event = sub.model.model_validate(payload)
        except ValidationError as exc:
            parsed.error = f"invalid {sub.topic}: {describe(exc)}"
            return parsed
        parsed.event = event
        parsed.keys = [f"event:{event.event_id}", *sub.keys(event)]  # type: ignore[attr-defined]
        return parsed

    async def process(self, sub: Subscription[Any], records: Iterable[ConsumerRecord]) -> None:
        batch = [self.parse(sub, r) for r in records]
        if not batch:
            return
        labels = (self.service, sub.topic)
        metrics.CONSUMED.labels(*labels).inc(len(batch))
        started = time.perf_counter()
        isolate = False
        # Never give up on a batch: a transient failure (or, after isolation, anything else, such as the
        # database refusing a dead letter) is retried with backoff, loudly (log + metric), and the
        # offsets stay uncommitted. A stuck partition shows as lag; a skipped message would not show.
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_exponential(multiplier=0.2, max=BACKOFF_MAX_SECONDS),
            before_sleep=lambda rs: self._retrying(sub, rs.outcome.exception() if rs.outcome else None),
        ):
            with attempt:
                try:
                    outcome = await self._apply(sub, batch, isolate)
                except _HandlerFailed:
                    isolate = True  # replay record by record, so only the bad one is dead-lettered
                    outcome = await self._apply(sub, batch, isolate)
        metrics.BATCH_SECONDS.labels(*labels).observe(time.perf_counter() - started)
        metrics.PROCESSED.labels(*labels).inc(outcome.applied)
        metrics.DUPLICATES.labels(*labels).inc(outcome.duplicates)
        metrics.DEAD_LETTERED.labels(*labels).inc(outcome.dead)

    def _retrying(self, sub: Subscription[Any], error: BaseException | None) -> None:
        metrics.BATCH_RETRIES.labels(self.service, sub.topic).inc()
        log.warning("batch_retry", topic=sub.topic, error=repr(error))

    async def _apply(self, sub: Subscription[Any], batch: list[Parsed], isolate: bool) -> _Outcome:
        outcome = _Outcome()
        state: dict[Any, Any] = {}  # UnitOfWork.batch: one per transaction
        pool = self._pool()
        async with pool.acquire(timeout=ACQUIRE_SECONDS) as conn, terminated_after(conn, ATTEMPT_SECONDS), \
                conn.transaction():
            outbox: list[OutboxMessage] = []
            valid = [p for p in batch if p.event is not None]
            for p in batch:
                if p.error is not None:
                    self._dead(p, p.error, outbox, outcome)
            if isolate:
                for p in valid:
                    # A savepoint rolled back also drops what it read and locked: no state across records.
                    await self._apply_isolated(conn, sub, p, outbox, outcome, {})
            else:
                try:
                    fresh = await claim(conn, sub.topic, valid)
                except TRANSIENT:
                    raise
                except Exception as exc:  # e.g. a key PostgreSQL refuses: find the record, alone
                    log.warning("batch_claim_failed", topic=sub.topic, error=repr(exc))
                    raise _HandlerFailed from exc
                outcome.duplicates += len(valid) - len(fresh)
                for p in fresh:
                    with _bound(p):
                        try:
                            outbox += await self._run(conn, sub, p, state)
                        except TRANSIENT:
                            raise
                        except Exception as exc:
                            log.exception("handler_failed", topic=sub.topic)
                            raise _HandlerFailed from exc
                    outcome.applied += 1
            await enqueue(conn, outbox)
        return outcome

    async def _apply_isolated(self, conn: asyncpg.Connection, sub: Subscription[Any], p: Parsed,
                              outbox: list[OutboxMessage], outcome: _Outcome, state: dict[Any, Any]) -> None:
        with _bound(p):
            try:
                async with conn.transaction():  # a savepoint: a failure undoes this record only
                    if not await claim(conn, sub.topic, [p]):
                        outcome.duplicates += 1
                        return
                    await enqueue(conn, await self._run(conn, sub, p, state))
                outcome.applied += 1
            except TRANSIENT:
                raise
            except Exception as exc:
                self._dead(p, f"processing failed: {type(exc).__name__}: {exc}", outbox, outcome)

    async def _run(self, conn: asyncpg.Connection, sub: Subscription[Any], p: Parsed,
                   state: dict[Any, Any]) -> list[OutboxMessage]:
        uow = UnitOfWork(conn, p.traceparent, state)
        await sub.handler(uow, p.event)
        return uow.take()

    def _dead(self, p: Parsed, reason: str, outbox: list[OutboxMessage], outcome: _Outcome) -> None:
        log.error("dead_lettered", topic=p.record.topic, partition=p.record.partition,
                  offset=p.record.offset, reason=reason)
        outbox.append(dead_letter(p.record, reason, self.group_id))
        outcome.dead += 1


class _FinishBatchOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """aiokafka rebalances eagerly (no cooperative protocol): before it takes partitions away, let the
    batch in hand finish and commit, so the next owner starts exactly after it. Bounded: a batch that
    takes longer is redelivered to the next owner instead, and the inbox absorbs it."""

    def __init__(self, inflight: asyncio.Lock, topic: str, wait_seconds: float = 20) -> None:
        self.inflight = inflight
        self.topic = topic
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
        pass


@dataclass
class _Outcome:
    applied: int = 0
    duplicates: int = 0
    dead: int = 0


class _HandlerFailed(Exception):
    pass


async def claim(conn: asyncpg.Connection, topic: str, batch: list[Parsed]) -> list[Parsed]:
    """Inserts every inbox key of `batch` in one statement; answers the records all of whose keys were
    new. Within one batch the first record with a key wins, as a later one would in a later batch."""
    if not batch:
        return []
    chains, keys = [], []
    for p in batch:
        for k in p.keys:
            chains.append(p.event.chain_id)  # type: ignore[union-attr]
            keys.append(k)
    rows = await conn.fetch(
        """INSERT INTO inbox (chain_id, key, topic)
           SELECT c, k, $3 FROM unnest($1::text[], $2::text[]) AS t(c, k)
           ON CONFLICT DO NOTHING RETURNING chain_id, key""",
        chains, keys, topic,
    )
    inserted = {(r["chain_id"], r["key"]) for r in rows}
    fresh: list[Parsed] = []
    taken: set[tuple[str, str]] = set()
    for p in batch:
        mine = {(p.event.chain_id, k) for k in p.keys}  # type: ignore[union-attr]
        if mine <= inserted and not (mine & taken):
            fresh.append(p)
        taken |= mine
    return fresh


class _bound:
    """Binds event_id / chain_id / visit_id to every log line written while a record is handled."""

    def __init__(self, p: Parsed) -> None:
        e = p.event
        self.values = {
            "event_id": getattr(e, "event_id", None),
            "chain_id": getattr(e, "chain_id", None),
            "visit_id": getattr(e, "visit_id", None),
            "topic": p.record.topic,
        }

    def __enter__(self) -> None:
        structlog.contextvars.bind_contextvars(**self.values)

    def __exit__(self, *exc: object) -> None:
        structlog.contextvars.unbind_contextvars(*self.values)
