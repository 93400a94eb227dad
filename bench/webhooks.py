"""`make bench-webhooks`: a burst of Altegio webhooks at the gateway, on the bench's own stack (fsync on).
BENCH_WEBHOOKS (1,000), BENCH_WEBHOOK_CONCURRENCY (50), BENCH_GATEWAY_REPLICAS (1).

Altegio gives up on a delivery after 10 s and retries only twice, so what matters is that every delivery
of a burst (a branch's day of records re-sent at once, a partner app's many branches) is answered well
within that, and then applied. It posts N distinct record webhooks (the real Altegio payload, each its own
record, marked arrived: no call to their API is needed) from C concurrent connections, and prints each
answer's latency percentiles, the burst's rate, and how long until every delivery was applied and its
`visit.status_arrived` was in the outbox."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from bench.stack import STATE, bench_stack
from deploy import local, processes
from shared import auth

REAL = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "booking-webhooks"


async def burst(settings_url: str, gateways: list[str], deliveries: int, concurrency: int) -> dict[str, float]:
    """The deliveries spread over the gateway replicas (as a load balancer would), `concurrency` at a time."""
    gateway = gateways[0]
    conn = await asyncpg.connect(settings_url)
    try:
        key = await auth.create_key(conn, "bench-webhooks", "bench")
    finally:
        await conn.close()
    base = json.loads((REAL / "altegio_record_update_arrived_paid.json").read_text())
    changed = (datetime.now(UTC) + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%S+0500")
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as http:
        connection = {
            "system": "altegio",
            "name": "bench",
            "api_base_url": "https://api.alteg.io",
            "partner_token": "t",
            "user_token": "t",
            "locations": [{"company_id": base["company_id"], "location_id": "loc-1", "time_zone": "Asia/Almaty"}],
        }
        r = await http.post(
            f"{gateway}/v1/chains/bench-webhooks/connections",
            headers={"Authorization": f"Bearer {key}"},
            json=connection,
        )
        r.raise_for_status()
        urls, secret = [f"{g}{r.json()['webhook_path']}" for g in gateways], r.json()["secret"]
        bodies = []
        for i in range(deliveries):
            body = copy.deepcopy(base)
            body["resource_id"] = body["data"]["id"] = 10**9 + i
            body["data"].update(attendance=1, visit_attendance=1, paid_full=0, last_change_date=changed)
            bodies.append(json.dumps(body).encode())
        gate = asyncio.Semaphore(concurrency)
        latencies: list[float] = []

        async def post(i: int, body: bytes) -> None:
            url = urls[i % len(urls)]
            async with gate:
                started = time.perf_counter()
                answer = await http.post(
                    url, params={"secret": secret}, content=body, headers={"Content-Type": "application/json"}
                )
                latencies.append(time.perf_counter() - started)
                answer.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(post(i, b) for i, b in enumerate(bodies)))
        answered = time.perf_counter() - started
    conn = await asyncpg.connect(settings_url)
    try:
        while True:  # polled: the deliveries are applied by another process
            left = await conn.fetchval("SELECT count(*) FROM gateway.deliveries WHERE state IN ('pending', 'waiting')")
            if not left:
                break
            await asyncio.sleep(0.1)
        applied = time.perf_counter() - started
        events = await conn.fetchval("SELECT count(*) FROM gateway.deliveries WHERE state = 'applied'")
    finally:
        await conn.close()
    q = statistics.quantiles(latencies, n=100)
    return {
        "deliveries": deliveries,
        "concurrency": concurrency,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "max_ms": max(latencies) * 1000,
        "answered_per_s": deliveries / answered,
        "all_applied_s": applied,
        "applied": events,
    }


def main() -> None:
    deliveries = int(os.environ.get("BENCH_WEBHOOKS", "1000"))
    concurrency = int(os.environ.get("BENCH_WEBHOOK_CONCURRENCY", "50"))
    replicas = int(os.environ.get("BENCH_GATEWAY_REPLICAS", "1"))
    with bench_stack() as stack:
        gateways = [processes.start("gateway", stack.env, STATE / "logs", local.free_port()) for _ in range(replicas)]
        stack.running += gateways
        processes.wait_ready(gateways)
        figures = asyncio.run(burst(stack.settings.database_url, [g.url for g in gateways], deliveries, concurrency))
    print(
        f"webhooks: {figures['deliveries']} deliveries from {figures['concurrency']} connections to {replicas} "
        f"gateway process(es): answered "
        f"p50 {figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms, max {figures['max_ms']:.0f} ms "
        f"({figures['answered_per_s']:.0f}/s); all applied after {figures['all_applied_s']:.1f} s "
        f"({figures['applied']} with events)"
    )


if __name__ == "__main__":
    main()
