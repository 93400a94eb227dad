"""Applying one batch: in one transaction, or record by record in savepoints, each under its deadline.

`Applier.whole` runs every record of a batch in one transaction; a record whose handler fails or that
overruns CONSUMER_RECORD_SECONDS raises `Isolate` (the transaction rolled back). `Applier.one_by_one` then
runs each record in a savepoint of one transaction, under its own deadline: a failing record is
dead-lettered alone (`processing_failed`), one that overruns is tried again until it has overrun
CONSUMER_RECORD_ATTEMPTS times in all, then dead-lettered as `timeout`. A statement cancelled at its
deadline gets CANCEL_GRACE_SECONDS to stop; past that its connection is terminated (a failure that the
batch's retry treats like the database's, the overrun counted against the record).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

from shared import tracing
from shared.consumer.inbox import claim
from shared.consumer.records import Parsed, Reason, Refusal, dead_letter
from shared.consumer.subscription import Subscription
from shared.db import UNREACHABLE, terminated_after
from shared.logging import SECRETS_KEY, TRACEPARENT_KEY, Secrets
from shared.uow import TRACEPARENT, OutboxMessage, UnitOfWork, enqueue

log = structlog.get_logger("consumer")

# One attempt at a batch (its transaction, or its offset commit) may take this long at most; taking a
# connection from the pool, this long. A normal batch takes well under a second. A connection that a
# database restart left wedged (asyncpg can wait forever on one, cancellation and statement timeouts
# notwithstanding) is terminated past the deadline: the attempt is retried on a new connection, and record
# by record, so that a batch which is merely long is not retried whole for ever.
ATTEMPT_SECONDS = 60
ACQUIRE_SECONDS = 10
# A record's statement cancelled at its deadline gets this long to stop before its connection is terminated.
CANCEL_GRACE_SECONDS = 5

# Failures that may pass on another try and may be one record's doing (a lock it waits on, a conflict).
CONFLICTS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.LockNotAvailableError,
)
# A record past its deadline (ours, or a statement timeout).
DEADLINE: tuple[type[BaseException], ...] = (TimeoutError, asyncpg.exceptions.QueryCanceledError)
OVERRUNS = (*DEADLINE, *CONFLICTS)
# Failures worth retrying the whole batch for: the next attempt may well succeed.
TRANSIENT: tuple[type[BaseException], ...] = (*UNREACHABLE, *CONFLICTS)


class Applier:
    def __init__(
        self, pool: Callable[[], asyncpg.Pool], group_id: str, record_seconds: float, record_attempts: int
    ) -> None:
        self._pool = pool
        self.group_id = group_id
        self.record_seconds = record_seconds
        self.record_attempts = record_attempts

    async def whole(self, sub: Subscription[Any], batch: list[Parsed]) -> Outcome:
        """The whole batch in one transaction."""
        return (await self.whole_many([(sub, batch)]))[0]

    async def whole_many(self, groups: list[tuple[Subscription[Any], list[Parsed]]]) -> list[Outcome]:
        """The batches of several topics (one fetch) in ONE transaction, topic after topic: one commit, one
        wait for the WAL, instead of one per topic. Raises as `whole` does: the caller then takes the topics
        one at a time."""
        state: dict[Any, Any] = {}  # UnitOfWork.batch: one per transaction, shared by its topics
        async with (
            self._pool().acquire(timeout=ACQUIRE_SECONDS) as conn,
            terminated_after(conn, ATTEMPT_SECONDS),
            conn.transaction(),
        ):
            return [await self._whole_in(conn, sub, batch, state) for sub, batch in groups]

    async def _whole_in(
        self, conn: asyncpg.Connection, sub: Subscription[Any], batch: list[Parsed], state: dict[Any, Any]
    ) -> Outcome:
        """One topic's batch, inside the caller's transaction: a span per record (tracing on), the first
        record's current for the batch's own statements (the inbox, the outbox), each record's for its handler."""
        spans = self._traced(sub, batch)
        try:
            with tracing.current(batch[0].span):
                outcome = await self._whole_of(conn, sub, batch, state)
        except BaseException as exc:
            tracing.end(spans, exc)
            raise
        tracing.end(spans)
        return outcome

    def _traced(self, sub: Subscription[Any], batch: list[Parsed]) -> list[Span | None]:
        """Starts each record's span, the child of its `traceparent` (tracing on; else none)."""
        if not tracing.enabled():
            return []
        for p in batch:
            r = p.record
            p.span = tracing.consumer_span(sub.topic, self.group_id, r.partition, r.offset, p.traceparent)
        return [p.span for p in batch]

    async def _whole_of(
        self, conn: asyncpg.Connection, sub: Subscription[Any], batch: list[Parsed], state: dict[Any, Any]
    ) -> Outcome:
        outcome = Outcome()
        overran: Parsed | None = None
        try:
            outbox: list[OutboxMessage] = []
            valid = [p for p in batch if p.event is not None]
            try:
                claimed = await claim(conn, sub.topic, valid)
            except TRANSIENT:
                raise
            except Exception as exc:  # e.g. a key PostgreSQL refuses: find the record, alone
                log.warning("batch_claim_failed", topic=sub.topic, error=repr(exc))
                raise Isolate("claim failed") from exc
            outcome.duplicates += claimed.duplicates
            for p in claimed.reused:
                outcome.refuse(p, reused(p))
            for p in batch:
                if p.refusal is not None:
                    outcome.refuse(p, p.refusal)
            # A batch handler takes the fresh records at once, a record's handler one at a time; each call is
            # under a deadline of its records' share.
            calls = [claimed.fresh] if sub.batch_handler is not None else [[p] for p in claimed.fresh]
            for records in calls if claimed.fresh else ():
                with bound(*records):
                    try:
                        async with asyncio.timeout(self.record_seconds * len(records)):
                            outbox += await self._run(conn, sub, records, state)
                    except DEADLINE as exc:
                        if sub.batch_handler is None:
                            overran = records[0]
                        raise Isolate(f"{'a batch' if sub.batch_handler else 'a record'} overran: {exc!r}") from exc
                    except TRANSIENT:
                        raise
                    except Exception as exc:
                        log.exception("handler_failed", topic=sub.topic)
                        raise Isolate("a handler failed") from exc
                outcome.applied += len(records)
            await enqueue(conn, outbox + self._letters(outcome))
        except Isolate:
            if overran is not None:  # its transaction rolled back: the database answers, the record was slow
                overran.overruns += 1
            raise
        return outcome

    async def one_by_one(self, sub: Subscription[Any], batch: list[Parsed], bare: bool) -> Outcome:
        """Record by record, each in a savepoint under its own deadline, in one transaction."""
        outcome = Outcome()
        budget = ATTEMPT_SECONDS + len(batch) * self.record_attempts * (self.record_seconds + CANCEL_GRACE_SECONDS)
        async with (
            self._pool().acquire(timeout=ACQUIRE_SECONDS) as conn,
            terminated_after(conn, budget),
            conn.transaction(),
        ):
            for p in batch:
                spans = self._traced(sub, [p])
                if p.refusal is not None:
                    outcome.refuse(p, p.refusal)
                else:
                    try:
                        with bound(p):
                            await self._apply_one(conn, sub, p, outcome)
                    except BaseException as exc:
                        tracing.end(spans, exc)
                        raise
                tracing.end(spans)
            await enqueue(conn, self._letters(outcome, bare))
        return outcome

    async def _apply_one(self, conn: asyncpg.Connection, sub: Subscription[Any], p: Parsed, outcome: Outcome) -> None:
        last: BaseException | None = None
        while p.overruns < self.record_attempts:
            started = time.monotonic()
            try:
                # A savepoint: a failure undoes this record only. A rolled-back savepoint also drops what
                # it read and locked: no state across records.
                async with terminated_after(conn, self.record_seconds + CANCEL_GRACE_SECONDS), conn.transaction():
                    async with asyncio.timeout(self.record_seconds):
                        claimed = await claim(conn, sub.topic, [p])
                        if claimed.fresh:
                            await enqueue(conn, await self._run(conn, sub, [p], {}))
            except OVERRUNS as exc:  # its savepoint rolled back: the database answers, the record is slow
                p.overruns += 1
                last = exc
                log.warning("record_overran", topic=sub.topic, attempt=p.overruns, error=repr(exc))
                continue
            except UNREACHABLE:
                if time.monotonic() - started >= self.record_seconds + CANCEL_GRACE_SECONDS:
                    p.overruns += 1  # our watchdog ended it (a statement that would not cancel)
                raise
            except Exception as exc:
                outcome.refuse(p, Refusal(Reason.PROCESSING_FAILED, f"processing failed: {type(exc).__name__}: {exc}"))
                return
            if claimed.reused:
                outcome.refuse(p, reused(p))
            elif claimed.duplicates:
                outcome.duplicates += 1
            else:
                outcome.applied += 1
            return
        outcome.refuse(p, self._overran(p, last))

    def _overran(self, p: Parsed, last: BaseException | None) -> Refusal:
        attempts = f"{p.overruns} attempts"
        if isinstance(last, CONFLICTS) and not isinstance(last, asyncpg.exceptions.LockNotAvailableError):
            return Refusal(Reason.PROCESSING_FAILED, f"processing failed: {type(last).__name__}: {last} ({attempts})")
        return Refusal(Reason.TIMEOUT, f"timeout: took longer than {self.record_seconds:g} s, {attempts}")

    async def _run(
        self, conn: asyncpg.Connection, sub: Subscription[Any], records: list[Parsed], state: dict[Any, Any]
    ) -> list[OutboxMessage]:
        """The handler on `records`: a batch handler on all of them at once, a record's handler on one."""
        if sub.batch_handler is not None:
            uow = UnitOfWork(conn, None, state)
            uow.causes = {id(p.event): p.carried for p in records}
            await sub.batch_handler(uow, [p.event for p in records])
        else:
            assert sub.handler is not None and len(records) == 1
            uow = UnitOfWork(conn, records[0].carried, state)
            await sub.handler(uow, records[0].event)
        return uow.take()

    def _letters(self, outcome: Outcome, bare: bool = False) -> list[OutboxMessage]:
        """The dead letters, in their records' order on each partition (a marker after them stays after)."""
        letters = []
        for p, refusal in sorted(outcome.refused, key=lambda pr: (pr[0].record.partition, pr[0].record.offset)):
            with bound(p):  # which event and chain; and its personal data kept out of the line
                log.error(
                    "dead_lettered",
                    topic=p.record.topic,
                    partition=p.record.partition,
                    offset=p.record.offset,
                    reason=refusal.reason.value,
                    error=refusal.error,
                )
            letter = dead_letter(p.record, refusal, self.group_id)
            if bare:  # only what the outbox always takes: the value, our x- headers, the key as bytes
                headers = [h for h in letter.headers if h[0].startswith("x-")]
                if p.record.key is not None and "x-original-key" not in dict(headers):
                    headers.append(("x-original-key", p.record.key))
                letter = OutboxMessage(letter.topic, None, letter.value, headers)
            elif p.span is not None and (carried := p.carried):  # its dead letter: the child of its span
                letter.headers = [*(h for h in letter.headers if h[0] != TRACEPARENT), (TRACEPARENT, carried)]
            letters.append(letter)
        return letters


def reused(p: Parsed) -> Refusal:
    return Refusal(
        Reason.EVENT_ID_REUSED,
        f"event_id_reused: event_id {p.keys[0].removeprefix('event:')} was "
        "already used by a message with a different payload",
    )


@dataclass
class Outcome:
    applied: int = 0
    duplicates: int = 0
    refused: list[tuple[Parsed, Refusal]] = field(default_factory=list)

    def refuse(self, p: Parsed, refusal: Refusal) -> None:
        self.refused.append((p, refusal))

    @property
    def dead(self) -> Counter[Reason]:
        return Counter(r.reason for _, r in self.refused)


class Isolate(Exception):
    pass


class bound:
    """Binds event_id / chain_id / visit_id to every log line written while a record is handled (while a
    batch handler runs: the first record's ids and `records`, the batch's size), and makes its span the
    current one (tracing on; off, its `traceparent` gives the lines their trace and span ids)."""

    def __init__(self, p: Parsed, *more: Parsed) -> None:
        e = p.event
        self.span = p.span
        self._token: object = None
        self.values = {
            "event_id": getattr(e, "event_id", None),
            "chain_id": getattr(e, "chain_id", None),
            "visit_id": getattr(e, "visit_id", None),
            "topic": p.record.topic,
        }
        if more:
            self.values["records"] = 1 + len(more)
        if e is not None:
            # The messages' personal data (a client's name and phone), wherever a line would hold them
            # (an error's message): found in their bytes only if a line is written. Not for a record refused
            # before it was valid: its line holds only what we wrote (field paths, positions, no values),
            # and a hostile one may hold megabytes where a name goes (seconds of regex work per line).
            self.values[SECRETS_KEY] = Secrets(p.record.value, *(m.record.value for m in more))
        if p.span is None and (traceparent := p.traceparent):
            self.values[TRACEPARENT_KEY] = traceparent

    def __enter__(self) -> None:
        structlog.contextvars.bind_contextvars(**self.values)
        if self.span is not None:
            self._token = otel_context.attach(trace.set_span_in_context(self.span))

    def __exit__(self, *exc: object) -> None:
        structlog.contextvars.unbind_contextvars(*self.values)
        if self._token is not None:
            otel_context.detach(self._token)  # type: ignore[arg-type]
            self._token = None
