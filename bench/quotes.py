"""The checkout quote under the bench's load: while a phase plays its visits, a process of its own asks a
gateway for quotes at a steady rate (BENCH_QUOTES_PER_S, default 20; 0: none), each for one of the
scenario's clients and the visit the scenario pays (the massage its membership would pay, the oil, the
client's card), and measures each answer's latency (gateway and its three parts, in parallel, end to end):
in the bench's own event loop, busy with the visits and their effects, it would measure that loop too. A
quote that answers anything but 200, or with a part unavailable, counts as an error beside the
percentiles; so does one not asked because MAX_IN_FLIGHT were still waiting."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench import counters
from bench.tier import PARTS, TierCpu
from deploy import processes, scenario

MAX_IN_FLIGHT = 16


def body(plan: scenario.Plan, i: int) -> dict[str, Any]:
    return {
        "location_id": scenario.LOCATION,
        "client": plan.client(i),
        "loyalty_card_id": plan.card_number(i),
        "lines": [
            {"kind": "service", "item_id": scenario.MASSAGE, "category_id": "cat-body", "quantity": 1,
             "sold": scenario.VISIT_PRICE},
            {"kind": "product", "item_id": scenario.OIL, "quantity": 1, "sold": scenario.OIL_PRICE},
        ],
    }  # fmt: skip


@dataclass
class Quotes:
    """Asks from a process of its own (`python -m bench.quotes`): in the bench's event loop, busy producing
    the visits and reading their effects, a quote's latency would include that loop's own delays."""

    tier: list[processes.ServiceProcess]  # the gateway last (start_tier)
    chain_id: str
    key: str
    plan: scenario.Plan
    cpu: TierCpu  # the tier's CPU: its own, or shared with the load (bench/tier.py)
    rate: float = float(os.environ.get("BENCH_QUOTES_PER_S", "20"))
    _asker: subprocess.Popen[bytes] | None = None
    _parts: counters.Buckets = field(default_factory=dict)  # the gateway's part histogram at `start`

    async def warm(self, count: int = 200, concurrency: int = 8) -> None:
        """Quotes asked before the first phase, unmeasured: the tier as a deployment finds it, warm (its
        pools' connections open, every path's first-call costs paid), not as it starts."""
        if self.rate <= 0:
            return
        async with httpx.AsyncClient(
            base_url=f"{self.tier[-1].url}/v1/chains/{self.chain_id}",
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=30,
        ) as http:
            for first in range(0, count, concurrency):
                await asyncio.gather(
                    *(http.post("/checkout/quote", json=body(self.plan, i)) for i in range(first, first + concurrency))
                )

    async def start(self) -> None:
        if self.rate <= 0:  # BENCH_QUOTES_PER_S=0: no quotes asked
            return
        self._parts = await counters.quote_parts(self.tier[-1].url)
        self._asker = self._spawn()
        await self.cpu.start([p.process.pid for p in self.tier] + [self._asker.pid])

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "bench.quotes", self.tier[-1].url, self.chain_id, str(self.rate),
             str(self.plan.clients), self.plan.tag],
            env={**os.environ, "BENCH_QUOTE_KEY": self.key},
            stdout=subprocess.PIPE,
        )  # fmt: skip

    async def stop(self) -> tuple[list[float], int, dict[str, float]]:
        """Stops asking; answers the latencies (ms) and the errors since `start`, and the p99 (ms, a bucket's
        bound) of each part's answers as the gateway timed them."""
        if self._asker is None:
            return [], 0, {}
        asker, self._asker = self._asker, None
        await self.cpu.stop()
        asker.send_signal(signal.SIGTERM)
        out, _ = await asyncio.to_thread(asker.communicate, timeout=60)
        found = json.loads(out or b'{"latencies_ms": [], "errors": 0}')
        parts = counters.part_p99_ms(self._parts, await counters.quote_parts(self.tier[-1].url))
        return found["latencies_ms"], found["errors"], parts


@dataclass
class Asker:
    url: str
    chain_id: str
    key: str
    plan: scenario.Plan
    rate: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    _next: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        pending: set[asyncio.Task[None]] = set()
        started = time.monotonic()
        sent = 0
        async with httpx.AsyncClient(
            base_url=f"{self.url}/v1/chains/{self.chain_id}",
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=5,
            limits=httpx.Limits(max_connections=MAX_IN_FLIGHT),
        ) as http:
            while not stop.is_set():
                due = int((time.monotonic() - started) * self.rate) + 1
                for _ in range(due - sent):
                    if len(pending) >= MAX_IN_FLIGHT:
                        self.errors += 1  # not asked: the gateway is that far behind
                        continue
                    task = asyncio.create_task(self._one(http, self._next % self.plan.clients))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                    self._next += 1
                sent = due
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(0.005, started + sent / self.rate - time.monotonic()))
            await asyncio.gather(*pending, return_exceptions=True)

    async def _one(self, http: httpx.AsyncClient, i: int) -> None:
        began = time.perf_counter()
        try:
            r = await http.post("/checkout/quote", json=body(self.plan, i))
        except httpx.HTTPError:
            self.errors += 1
            return
        self.latencies_ms.append((time.perf_counter() - began) * 1000)
        if r.status_code != 200 or any(r.json()[part].get("available") is False for part in PARTS):
            self.errors += 1


async def _main(url: str, chain_id: str, rate: str, clients: str, tag: str) -> None:
    asker = Asker(url, chain_id, os.environ["BENCH_QUOTE_KEY"], scenario.Plan(int(clients), tag), float(rate))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await asker.run(stop)
    print(json.dumps({"latencies_ms": asker.latencies_ms, "errors": asker.errors}))


if __name__ == "__main__":
    asyncio.run(_main(*sys.argv[1:6]))
