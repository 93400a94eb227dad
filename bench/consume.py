"""`make bench`: throughput, latency and memory of the consume path, on a fresh local stack.

Starts its own Kafka and PostgreSQL (in `.local/bench`, wiped first, on free ports) and the four
services, then measures:
1. memberships: `membership.sold` issued per second (sale → membership row + outbox event);
2. memberships: `visit.paid` applied per second, each deducting one visit from a membership;
3. the consume path with nothing to do (visits without membership lines): inbox + batch commit;
4. end-to-end latency: `visit.paid` published → SMS on `notification.sms` (deduction, outbox relay,
   notifications consume, render, relay), median and 95th percentile;
5. resident memory of each service process after the load.

These are figures to watch, not pass/fail tests. Set BENCH_N to change the load (default 10,000).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from deploy import local, processes
from shared import admin, auth, topics
from shared.settings import DEFAULT_PORTS, Settings

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".local" / "bench"
N = int(os.environ.get("BENCH_N", "10000"))




def envelope(chain: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC).isoformat(), "chain_id": chain,
            "location_id": "loc-1", **fields}


async def publish_all(producer: AIOKafkaProducer, topic: str, messages: list[tuple[str, dict[str, Any]]]) -> None:
    futures = [await producer.send(topic, json.dumps(m).encode(), key=k.encode()) for k, m in messages]
    await asyncio.gather(*futures)


async def wait_count(pool: asyncpg.Pool, sql: str, args: tuple[Any, ...], want: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await pool.fetchval(sql, *args) >= want:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {want} rows: {sql}")


def line(label: str, count: int, seconds: float) -> None:
    print(f"  {label:58} {count:>7} in {seconds:6.2f} s = {count / seconds:9,.0f} /s", flush=True)


async def measure(settings: Settings, urls: dict[str, str], pids: dict[str, int]) -> None:
    chain = f"bench-{uuid.uuid4().hex[:6]}"
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
    assert pool is not None
    async with pool.acquire() as conn:
        key = await auth.create_key(conn, chain, "bench")
    async with httpx.AsyncClient(base_url=f"{urls['memberships']}/v1/chains/{chain}",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        r = await http.post("/membership-types", json={
            "name": "Bench", "balance": "overall", "services": [{"service_id": "svc-1"}], "total_visits": 1000,
            "price": "1000"})
        r.raise_for_status()
        type_id = r.json()["id"]

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=5,
                                max_batch_size=262144)
    await producer.start()
    try:
        print(f"\nload: {N} messages per step (BENCH_N), one node each for Kafka and PostgreSQL, 2 cores shared")
        clients = [f"cl-{i}" for i in range(N)]

        sales = [(c, envelope(chain, sale_id=f"s-{c}", membership_type_id=type_id, code=f"B{i:07d}",
                              client={"id": c, "phone": f"+3620{i:07d}"}, price="1000"))
                 for i, c in enumerate(clients)]
        started = time.perf_counter()
        await publish_all(producer, topics.MEMBERSHIP_SOLD, sales)
        await wait_count(pool, "SELECT count(*) FROM memberships.memberships WHERE chain_id = $1", (chain,), N)
        line("membership.sold -> memberships issued", N, time.perf_counter() - started)

        visits = [(c, envelope(chain, visit_id=f"v-{c}", client={"id": c, "phone": f"+3620{i:07d}", "name": "B"},
                               lines=[{"kind": "service", "item_id": "svc-1", "quantity": 1, "sold": "100",
                                       "paid": "0", "membership": {"code": f"B{i:07d}"}}]))
                  for i, c in enumerate(clients)]
        started = time.perf_counter()
        await publish_all(producer, topics.VISIT_PAID, visits)
        await wait_count(pool, "SELECT count(*) FROM memberships.membership_history WHERE chain_id = $1 "
                               "AND kind = 'deduction'", (chain,), N)
        line("visit.paid -> memberships deducted (one visit each)", N, time.perf_counter() - started)
        await wait_count(pool, "SELECT count(*) FROM notifications.notices WHERE chain_id = $1", (chain,), N)
        line("   ... and notifications texted (from the same start)", N, time.perf_counter() - started)

        plain = [(c, envelope(chain, visit_id=f"p-{c}", client={"id": c},
                              lines=[{"kind": "service", "item_id": "svc-2", "quantity": 1, "sold": "100",
                                      "paid": "100"}])) for c in clients]
        started = time.perf_counter()
        await publish_all(producer, topics.VISIT_PAID, plain)
        await wait_count(pool, "SELECT count(*) FROM memberships.inbox WHERE chain_id = $1 "
                               "AND key LIKE 'visit.paid:p-%'", (chain,), N)
        line("visit.paid, nothing to deduct (inbox + commit only)", N, time.perf_counter() - started)

        latencies = await end_to_end(settings, producer, chain, samples=30)
        p95 = sorted(latencies)[int(len(latencies) * 0.95) - 1]
        print(f"  {'end to end: visit.paid -> SMS on notification.sms':58} median "
              f"{statistics.median(latencies):5.0f} ms, p95 {p95:5.0f} ms (30 visits, one at a time)")
    finally:
        await producer.stop()
        await pool.close()
    for name, pid in pids.items():
        rss = psutil.Process(pid).memory_info().rss / 2**20
        print(f"  memory of {name:14} {rss:6.0f} MiB resident")


async def end_to_end(settings: Settings, producer: AIOKafkaProducer, chain: str, samples: int) -> list[float]:
    consumer = AIOKafkaConsumer(topics.NOTIFICATION_SMS, bootstrap_servers=settings.kafka_bootstrap_servers,
                                group_id=None, auto_offset_reset="latest")
    await consumer.start()
    await consumer.seek_to_end()
    latencies = []
    try:
        for i in range(samples):
            c = f"cl-{i}"
            visit = envelope(chain, visit_id=f"lat-{i}", client={"id": c, "phone": f"+3620{i:07d}", "name": "B"},
                             lines=[{"kind": "service", "item_id": "svc-1", "quantity": 1, "sold": "100",
                                     "paid": "0", "membership": {"code": f"B{i:07d}"}}])
            started = time.perf_counter()
            await producer.send_and_wait(topics.VISIT_PAID, json.dumps(visit).encode(), key=c.encode())
            while True:
                batch = await consumer.getmany(timeout_ms=1000)
                if any(json.loads(r.value)["client_id"] == c for rs in batch.values() for r in rs):
                    break
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        await consumer.stop()
    return latencies


def main() -> None:
    shutil.rmtree(STATE, ignore_errors=True)
    stack = local.Stack(STATE, kafka_port=local.free_port(pair=True), pg_port=local.free_port(), fast_disk=False)
    local.up(stack)
    settings = Settings(kafka_bootstrap_servers=stack.bootstrap_servers, database_url=stack.database_url)
    services: list[processes.ServiceProcess] = []
    try:
        admin.migrate(settings)
        asyncio.run(admin.create_topics(settings))
        env = {**stack.env(), "LOG_LEVEL": "WARNING"}
        services = [processes.start(name, env, STATE / "logs", local.free_port()) for name in DEFAULT_PORTS]
        processes.wait_ready(services)
        asyncio.run(measure(settings, {s.name: s.url for s in services},
                            {s.name: s.process.pid for s in services}))
    finally:
        processes.stop(services)
        local.down(stack)
        shutil.rmtree(STATE, ignore_errors=True)


if __name__ == "__main__":
    main()
