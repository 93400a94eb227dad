"""What the same broker and database can do with nothing of ours in between: the ceilings our
throughput is a fraction of.

- Kafka: the bench's `visit.paid` messages produced to a topic of their own and consumed by a group the
  way our consumers read (getmany batches of up to 500, a commit after each batch).
- PostgreSQL: transactions of one insert and one update per message (an outbox row, a balance), one
  message per transaction and then 100 per transaction (batched as our consumers batch), from a pool
  of 8 connections.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from tenacity import AsyncRetrying, stop_after_delay, wait_fixed

from deploy import scenario
from deploy.kafka_io import Kafka
from shared.kafka import client_kwargs
from shared.settings import Settings

TOPIC = "bench.limit.visit.paid"
GROUP = "bench.limit"
CONNECTIONS = 8
BATCH = 100  # messages per transaction when batched
SECONDS = 5.0  # each PostgreSQL measurement runs this long
WARM_UP = 2000  # messages through the Kafka loop before the one measured
MIN_KAFKA = 10_000
BALANCES = 10_000  # rows the updates spread over, as visits spread over memberships


@dataclass
class Limits:
    kafka_msgs_per_s: float
    pg_tx_per_s: float  # one message (insert + update) per transaction
    pg_batched_msgs_per_s: float  # BATCH messages per transaction


async def measure(settings: Settings, count: int) -> Limits:
    """`count` messages through the Kafka loop (at least MIN_KAFKA: a shorter loop measures its start)."""
    payloads = [json.dumps(paid).encode() for paid in _paid_messages(max(count, MIN_KAFKA))]
    kafka = await kafka_loop(settings, payloads)
    print(f"  Kafka produce -> consume (group, getmany <= 500, commit)  {kafka:>9,.0f} msgs/s", flush=True)
    single, batched = await postgres(settings, payloads[0])
    print(f"  PostgreSQL, 1 insert + 1 update per transaction          {single:>9,.0f} tx/s", flush=True)
    print(f"  PostgreSQL, {BATCH} of them per transaction                   {batched:>9,.0f} msgs/s", flush=True)
    return Limits(kafka, single, batched)


def _paid_messages(count: int) -> list[dict[str, object]]:
    plan = scenario.Plan(clients=1000, tag="limit")
    return [v.messages[0][1] for v in scenario.visits(plan, "bench-limit", count)]


async def kafka_loop(settings: Settings, payloads: list[bytes]) -> float:
    """msgs/s from the first send to the commit of the last message, producing and consuming at once."""
    await _create_topic(settings)
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **client_kwargs(settings),
    )
    await consumer.start()  # joins the group and waits for its partitions: not part of what is measured
    try:
        async with Kafka(settings.kafka_bootstrap_servers, client_kwargs(settings)) as kafka:
            # A broker just started is cold (JIT, fetch sessions); the phases meet a warm one.
            await _loop(kafka, consumer, payloads[:WARM_UP])
            return len(payloads) / await _loop(kafka, consumer, payloads)
    finally:
        await consumer.stop()


async def _create_topic(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **client_kwargs(settings))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, num_partitions=settings.topic_partitions, replication_factor=1)])
        # Until every partition has a leader: a consumer subscribing earlier only logs that the topic is missing.
        async for attempt in AsyncRetrying(stop=stop_after_delay(60), wait=wait_fixed(0.2), reraise=True):
            with attempt:
                [topic] = await admin.describe_topics([TOPIC])
                if topic["error_code"] or not all(p["leader"] >= 0 for p in topic["partitions"]):
                    raise RuntimeError(f"{TOPIC} has no leader yet")
    finally:
        await admin.close()


async def _loop(kafka: Kafka, consumer: AIOKafkaConsumer, payloads: list[bytes]) -> float:
    """Seconds to produce `payloads` and consume and commit them all."""
    started = time.perf_counter()
    produced = asyncio.create_task(_produce(kafka, payloads))
    consumed = 0
    while consumed < len(payloads):
        batch = await consumer.getmany(timeout_ms=100, max_records=500)
        consumed += sum(len(records) for records in batch.values())
        if batch:
            await consumer.commit()
    elapsed = time.perf_counter() - started
    await produced
    return elapsed


async def _produce(kafka: Kafka, payloads: list[bytes]) -> None:
    sends = [await kafka.producer.send(TOPIC, p, key=f"cl-{i % 1000}".encode()) for i, p in enumerate(payloads)]
    await asyncio.gather(*sends)


async def postgres(settings: Settings, payload: bytes) -> tuple[float, float]:
    pool = await asyncpg.create_pool(settings.database_url, min_size=CONNECTIONS, max_size=CONNECTIONS)
    assert pool is not None
    try:
        await pool.execute(f"""
            DROP SCHEMA IF EXISTS bench_limit CASCADE;
            CREATE SCHEMA bench_limit;
            CREATE TABLE bench_limit.outbox (id bigserial PRIMARY KEY, key text, value bytea NOT NULL);
            CREATE TABLE bench_limit.balances (id integer PRIMARY KEY, visits bigint NOT NULL);
            INSERT INTO bench_limit.balances SELECT g, 0 FROM generate_series(0, {BALANCES - 1}) g;""")
        single = await _transactions(pool, payload, per_transaction=1)
        batched = await _transactions(pool, payload, per_transaction=BATCH) * BATCH
        await pool.execute("DROP SCHEMA bench_limit CASCADE")
    finally:
        await pool.close()
    return single, batched


async def _transactions(pool: asyncpg.Pool, payload: bytes, per_transaction: int) -> float:
    """Transactions per second, CONNECTIONS of them in flight, for SECONDS."""
    done = 0
    deadline = time.perf_counter() + SECONDS

    async def worker() -> None:
        nonlocal done
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                # Sorted: two transactions lock their rows in the same order, so they never deadlock.
                ids = sorted(random.randrange(BALANCES) for _ in range(per_transaction))
                async with conn.transaction():
                    await conn.executemany(
                        "INSERT INTO bench_limit.outbox (key, value) VALUES ($1, $2)", [(str(i), payload) for i in ids]
                    )
                    await conn.executemany(
                        "UPDATE bench_limit.balances SET visits = visits + 1 WHERE id = $1", [(i,) for i in ids]
                    )
                done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return done / (time.perf_counter() - started)
