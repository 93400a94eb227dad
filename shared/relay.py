"""The outbox relay: publishes outbox rows to Kafka, in id order, and deletes them once Kafka has them.

One relay per service schema is the leader at a time (a PostgreSQL advisory lock held by its LISTEN
connection), which keeps rows of one key in order across replicas; the others wait and take over when
the leader's connection goes away. The relay wakes on the `outbox_<schema>` notification that the
insert trigger sends, and polls every `poll_seconds` in case a notification was missed.

Delivery is at least once: a crash between Kafka's ack and the DELETE publishes those rows again, which
consumers absorb through their inbox (every event carries its `event_id`).
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer

from shared import metrics
from shared.db import terminated_after

log = structlog.get_logger("outbox")
ROUND_SECONDS = 60  # one round (read, publish, delete) at most; past it the connection is terminated


class OutboxRelay:
    def __init__(self, service: str, schema: str, database_url: str, producer: AIOKafkaProducer,
                 batch_size: int = 500, poll_seconds: float = 1.0) -> None:
        self.service = service
        self.schema = schema
        self.database_url = database_url
        self.producer = producer
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.is_leader = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.schema}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        pause = 0.5
        while True:
            started = asyncio.get_running_loop().time()
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection lost, Kafka down...: start over after a pause
                self.is_leader = False
                # Longer pauses while the failure persists (PostgreSQL or Kafka down), short after a run.
                ran = asyncio.get_running_loop().time() - started
                pause = 0.5 if ran > 30 else min(pause * 2, 5.0)
                log.warning("relay_restart", error=repr(exc), retry_in=pause)
                await asyncio.sleep(pause)

    async def _lead(self) -> None:
        # command_timeout: a statement on a connection wedged by a database restart fails instead of hanging.
        conn = await asyncpg.connect(self.database_url, server_settings={"search_path": self.schema},
                                     command_timeout=30)
        try:
            lock_id = zlib.crc32(f"outbox:{self.schema}".encode())
            # Another replica leads while it holds the lock: poll for it.
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_id):  # noqa: ASYNC110
                await asyncio.sleep(self.poll_seconds)
            self.is_leader = True
            await conn.add_listener(f"outbox_{self.schema}", lambda *_: self._wake.set())
            while True:
                async with terminated_after(conn, ROUND_SECONDS):
                    sent = await self._publish_batch(conn)
                if sent < self.batch_size:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
        finally:
            self.is_leader = False
            conn.terminate()  # we only get here on a failure: a graceful close could wait on a dead server

    async def _publish_batch(self, conn: asyncpg.Connection) -> int:
        rows = await conn.fetch(
            "SELECT id, topic, key, value, header_names, header_values, "
            "extract(epoch FROM now() - created_at) AS age FROM outbox ORDER BY id LIMIT $1",
            self.batch_size,
        )
        # What this round found waiting (at most a batch) and how old the oldest of it is.
        metrics.OUTBOX_PENDING.labels(self.service).set(len(rows))
        metrics.OUTBOX_LAG.labels(self.service).set(float(rows[0]["age"]) if rows else 0.0)
        if not rows:
            return 0
        futures = [
            await self.producer.send(
                r["topic"], value=r["value"], key=r["key"].encode() if r["key"] is not None else None,
                headers=list(zip(r["header_names"], r["header_values"], strict=True)),
            )
            for r in rows
        ]
        await asyncio.gather(*futures)  # every row acknowledged by Kafka (acks=all) before it goes
        await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows])
        metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)
