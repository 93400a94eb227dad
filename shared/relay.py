"""The outbox relay: publishes outbox rows to Kafka, in id order, and deletes them once Kafka has them.

One relay per service schema publishes at a time: the holder of the schema's lease (shared/lease.py),
renewed every second, so a replica whose host hangs or dies is replaced within seconds and one key's
events stay in order across replicas. The relay wakes on the `outbox_<schema>` notification that the
insert trigger sends, and polls every `poll_seconds` in case a notification was missed.

No row stops the others: a row Kafka or the producer refuses for good is set aside with its reason in
`outbox_refused` (shared/outbox.py) and the rows after it go on, in order per key. A failure that says
nothing about a row (the broker away) makes rows wait instead, in order, however long it lasts.

Delivery is at least once: a crash between Kafka's ack and the DELETE publishes those rows again, which
consumers absorb through their inbox (every event carries its `event_id`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from tenacity import AsyncRetrying, stop_after_delay, wait_fixed

from shared import metrics, outbox, tracing
from shared.db import counted, terminated_after
from shared.lease import Lease

log = structlog.get_logger("outbox")
ROUND_SECONDS = 60  # one round (read, publish, delete) at most; past it the connection is terminated
METADATA_SECONDS = 5  # how long a round waits to learn a topic's partitions
HOLD_SECONDS = 30  # then the rows of a topic Kafka does not know (yet) wait this long, the others go on
COUNT_EVERY = 10  # seconds between two counts of the refused rows and of the backlog (gauges)
BACKLOG_CAP = 100_000  # a count of the backlog stops there (its cost grows with it; that many already alerts)


class LeaseLost(Exception):
    pass


@dataclass
class Round:
    acked: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    suspects: list[asyncpg.Record] = field(default_factory=list)  # failed for a reason of their own, maybe


class OutboxRelay:
    def __init__(
        self,
        service: str,
        schema: str,
        database_url: str,
        make_producer: Callable[[], AIOKafkaProducer],
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        lease: Lease | None = None,
    ) -> None:
        self.service = service
        self.schema = schema
        self.database_url = database_url
        self.make_producer = make_producer
        self.producer: AIOKafkaProducer | None = None
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.lease = lease or Lease()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[int, asyncio.Future[object]] = {}  # sent, not acknowledged yet: not sent again
        self._held: dict[str, float] = {}  # topic -> loop time until which its rows wait
        self._counted = 0.0
        self.is_leader = False
        self._stopping = False  # stop(): the leader publishes what is in the outbox, then the relay ends

    async def start(self) -> None:
        """Starts the producer (Kafka may still be starting: waits for it a while), then the relay."""
        async for attempt in AsyncRetrying(stop=stop_after_delay(60), wait=wait_fixed(1), reraise=True):
            with attempt:
                self.producer = await self._started(self.make_producer())
        self._leading(False)
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.schema}")

    async def stop(self, timeout: float = 5.0) -> None:
        """Lets the leader finish its round and publish what the outbox holds (at most `timeout` seconds:
        a row published, not yet deleted, would be published again by the next leader), then ends."""
        if self._task:
            self._stopping = True
            self._wake.set()
            if self.is_leader:  # (another replica's relay publishes what this one would)
                await asyncio.wait([self._task], timeout=max(timeout, 0.1))
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            # A clean stop hands the lease over at once instead of when it expires.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(3):
                    conn = await asyncpg.connect(self.database_url, server_settings={"search_path": self.schema})
                    try:
                        await self.lease.release(conn)
                    finally:
                        conn.terminate()
        if self.producer:
            with contextlib.suppress(TimeoutError):  # the broker away: what it did not take is still in the outbox
                async with asyncio.timeout(10):
                    await self.producer.stop()

    @staticmethod
    async def _started(producer: AIOKafkaProducer) -> AIOKafkaProducer:
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        return producer

    def _leading(self, leading: bool) -> None:
        self.is_leader = leading
        metrics.OUTBOX_LEADER.labels(self.service).set(1 if leading else 0)
        if not leading:  # the leader reports the outbox; a former one's last reading would mislead
            for gauge in (metrics.OUTBOX_PENDING, metrics.OUTBOX_BACKLOG, metrics.OUTBOX_LAG):
                gauge.labels(self.service).set(0)

    async def _run(self) -> None:
        pause = 0.5
        while not self._stopping:
            started = asyncio.get_running_loop().time()
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection lost, Kafka down...: start over after a pause
                # Longer pauses while the failure persists (PostgreSQL or Kafka down), short after a run.
                ran = asyncio.get_running_loop().time() - started
                pause = 0.5 if ran > 30 else min(pause * 2, 5.0)
                log.warning("relay_restart", error=repr(exc), retry_in=pause)
                await asyncio.sleep(pause)

    async def _lead(self) -> None:
        # command_timeout: a statement on a connection wedged by a database restart fails instead of hanging.
        # synchronous_commit off: what this connection writes (published rows deleted, refused ones set aside,
        # the lease renewed) may be lost in a crash of PostgreSQL without harm: lost deletes publish those
        # rows again (consumers' inboxes absorb them), a lost lease renewal only expires sooner. Each round
        # no longer waits for the WAL to reach the disk (an fsync a round, and the latency of every event).
        conn = await asyncpg.connect(
            self.database_url,
            server_settings={"search_path": self.schema, "synchronous_commit": "off"},
            command_timeout=30,
            connection_class=counted(self.service),
        )
        try:
            await conn.add_listener(f"outbox_{self.schema}", lambda *_: self._wake.set())
            while not self._stopping:
                # Another replica leads while its lease lasts: try again every poll.
                while not await self.lease.take(conn):
                    if self._stopping:
                        return
                    await asyncio.sleep(min(self.poll_seconds, self.lease.seconds / 5))
                self._leading(True)
                log.info("relay_leading", holder=self.lease.holder)
                try:
                    await self._publish_while_leading(conn)
                except LeaseLost:
                    self._leading(False)
                    self._inflight.clear()
                    log.warning("relay_lease_lost", holder=self.lease.holder)
        finally:
            self._leading(False)
            conn.terminate()  # a graceful close could wait on a dead server

    async def _publish_while_leading(self, conn: asyncpg.Connection) -> None:
        while True:
            if self.lease.due() and not await self.lease.take(conn):
                raise LeaseLost
            # Cleared before the round reads, not after it: a commit notified during the round starts
            # the next one at once (cleared after, its wake-up was lost and its rows waited for the poll).
            self._wake.clear()
            async with terminated_after(conn, ROUND_SECONDS):
                sent = await self._publish_batch(conn)
            if sent < self.batch_size:
                if self._stopping:  # all the outbox held is published
                    return
                with contextlib.suppress(TimeoutError):  # wake at least once a second: the lease is renewed
                    await asyncio.wait_for(self._wake.wait(), min(self.poll_seconds, 1.0))

    async def _publish_batch(self, conn: asyncpg.Connection) -> int:
        now = asyncio.get_running_loop().time()
        held = [t for t, until in self._held.items() if until > now]
        rows = await conn.fetch(
            "SELECT id, topic, key, value, header_names, header_values, "
            "extract(epoch FROM now() - created_at) AS age FROM outbox WHERE topic <> ALL($2::text[]) "
            "ORDER BY id LIMIT $1",
            self.batch_size,
            held,
        )
        # What this round found waiting (at most a batch) and how old the oldest row is (a held one too).
        metrics.OUTBOX_PENDING.labels(self.service).set(len(rows))
        oldest = rows[0]["age"] if rows else 0
        if held:
            oldest = await conn.fetchval(
                "SELECT extract(epoch FROM now() - created_at) FROM outbox ORDER BY id LIMIT 1"
            )
        metrics.OUTBOX_LAG.labels(self.service).set(float(oldest or 0))
        if not held and len(rows) < self.batch_size:  # every row waiting was read: the backlog, exactly
            metrics.OUTBOX_BACKLOG.labels(self.service).set(len(rows))
        done = Round()
        if rows:
            await self._send(rows, done)
            if done.suspects:
                await self._isolate(done)
        if done.refused:
            async with conn.transaction():
                await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", done.acked)
                await outbox.set_aside(conn, done.refused)
        elif done.acked:  # one statement: no transaction around it (two round trips fewer a round)
            await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", done.acked)
        metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(done.acked))
        for row_id, reason in done.refused:
            metrics.OUTBOX_REFUSED.labels(self.service, reason.split(":", 1)[0]).inc()
            log.error("outbox_row_refused", id=row_id, reason=reason)
        if done.refused or now - self._counted > COUNT_EVERY:
            self._counted = now
            refused, backlog = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM outbox_refused), (SELECT count(*) FROM (SELECT FROM outbox LIMIT $1) w)",
                BACKLOG_CAP,
            )
            metrics.OUTBOX_REFUSED_ROWS.labels(self.service).set(refused)
            metrics.OUTBOX_BACKLOG.labels(self.service).set(backlog)
        return len(done.acked) + len(done.refused)

    async def _send(self, rows: list[asyncpg.Record], done: Round) -> None:
        """Sends every row in id order (a row sent in an earlier round and not acknowledged yet is not sent
        again), then waits for Kafka's acknowledgements while the lease lasts."""
        producer = await self._producer()
        topics = {r["topic"] for r in rows if outbox.problem(r) is None}
        ready = {t for t in topics if await self._topic_ready(t)}
        blocked: set[tuple[str, str | None]] = set()  # a key whose row failed: its later rows wait for it
        sent: list[tuple[asyncpg.Record, asyncio.Future[object]]] = []
        for r in rows:
            if self.lease.left() <= 0:
                break
            if problem := outbox.problem(r):
                done.refused.append((r["id"], problem))
                continue
            if r["topic"] not in ready:
                continue
            if (r["topic"], r["key"]) in blocked:
                done.suspects.append(r)
                continue
            future = self._inflight.get(r["id"])
            if future is None:
                try:
                    async with asyncio.timeout(self.lease.left()):  # a full buffer may block: not past the lease
                        future = await self._send_one(producer, r)
                except Exception as exc:
                    if outbox.waits(exc):
                        break  # the rest waits for the next round, in order
                    blocked.add((r["topic"], r["key"]))
                    done.suspects.append(r)
                    continue
                self._inflight[r["id"]] = future
            sent.append((r, future))
        if sent:
            await asyncio.wait([f for _, f in sent], timeout=self.lease.left())
        for r, future in sent:
            if not future.done():
                continue  # still in flight: the next round waits for it
            self._inflight.pop(r["id"], None)
            if future.cancelled():
                continue  # its producer was stopped: sent again next round
            if (failure := future.exception()) is None:
                done.acked.append(r["id"])
            elif not outbox.waits(failure):
                done.suspects.append(r)

    async def _isolate(self, done: Round) -> None:
        """Rows whose send failed for good: each is sent again alone, in id order, on a new producer (a
        batch the broker refused leaves the old one's sequence on that partition with a gap, which fails
        every later batch there). One that fails alone too is refused; the others are published."""
        await self._new_producer()
        for r in sorted(done.suspects, key=lambda r: r["id"]):
            if self.lease.left() <= 0:
                return
            try:
                future = await self._send_one(await self._producer(), r)
                await asyncio.wait([future], timeout=self.lease.left())
                if not future.done():
                    self._inflight[r["id"]] = future
                    return  # not acknowledged in time: it and the rest wait for the next round
                future.result()
            except Exception as exc:
                if outbox.waits(exc):
                    return
                done.refused.append((r["id"], outbox.refusal(exc)))
                await self._new_producer()
            else:
                done.acked.append(r["id"])

    async def _new_producer(self) -> None:
        old, self.producer = self.producer, None
        self._inflight.clear()
        if old is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(10):
                    await old.stop()
        await self._producer()

    async def _producer(self) -> AIOKafkaProducer:
        if self.producer is None:  # replaced, and the new one could not start then (the broker away)
            self.producer = await self._started(self.make_producer())
        return self.producer

    @staticmethod
    async def _send_one(producer: AIOKafkaProducer, r: asyncpg.Record) -> asyncio.Future[object]:
        # Tracing on: a span per row sent, the child of the span it was written under; the row carries it.
        span, headers = tracing.producer_span(r["topic"], list(zip(r["header_names"], r["header_values"], strict=True)))
        try:
            future: asyncio.Future[object] = await producer.send(
                r["topic"], value=r["value"], key=r["key"].encode() if r["key"] is not None else None, headers=headers
            )
        except BaseException as exc:
            tracing.end([span], exc)
            raise
        if span is not None:
            future.add_done_callback(lambda f: tracing.end_sent(span, f))
        return future

    async def _topic_ready(self, topic: str) -> bool:
        """Whether Kafka knows `topic` (cached after the first time). If it does not (not created yet, or
        the broker away before this producer ever sent there), its rows wait a while, the others go on."""
        try:
            async with asyncio.timeout(METADATA_SECONDS):
                await (await self._producer()).partitions_for(topic)
            return True
        except Exception as exc:
            self._held[topic] = asyncio.get_running_loop().time() + HOLD_SECONDS
            log.warning("outbox_topic_unavailable", topic=topic, error=repr(exc), retry_in=HOLD_SECONDS)
            return False
