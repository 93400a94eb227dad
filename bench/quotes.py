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
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from bench.stack import BenchStack
from deploy import local, processes, scenario

PARTS = ("memberships", "loyalty", "wallet")
MAX_IN_FLIGHT = 16


def start_gateway(stack: BenchStack) -> processes.ServiceProcess:
    """A gateway and, for each part, one process of that service that serves HTTP only
    (CONSUMER_ENABLED=false: as an ops team deploys a service's API apart from its event workers), which the
    gateway asks. They share the machine, the database and the broker with the consumers under load; the
    bench's resources count them as `gateway` and `<service>-api`."""
    api = [
        replace(processes.start(name, {**stack.env, "CONSUMER_ENABLED": "false"}, stack.logs, local.free_port()),
                name=f"{name}-api")
        for name in PARTS
    ]  # fmt: skip
    env = {**stack.env, **{f"{p.name.removesuffix('-api').upper()}_URL": p.url for p in api}}
    gateway = processes.start("gateway", env, stack.logs, local.free_port())
    stack.running += [*api, gateway]
    processes.wait_ready([*api, gateway])
    prioritize([*api, gateway], int(os.environ.get("BENCH_HTTP_PRIORITY", "0")))
    return gateway


def prioritize(http: list[processes.ServiceProcess], levels: int) -> None:
    """BENCH_HTTP_PRIORITY=N: the HTTP tier's processes N nice levels above the rest (as pods of their own,
    with CPU requests, would be kept apart from the event workers' bursts); 0, the default: none. Raising a
    priority needs root (CAP_SYS_NICE): without it, the run says so and goes on as it is."""
    if levels <= 0:
        return
    import psutil

    try:
        for p in http:
            psutil.Process(p.process.pid).nice(-levels)
    except psutil.AccessDenied:
        print(f"BENCH_HTTP_PRIORITY={levels}: not allowed here (needs root); the HTTP tier runs as the rest")
        return
    print(f"the HTTP tier (gateway and the parts' HTTP replicas) at nice -{levels}", flush=True)


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

    url: str
    chain_id: str
    key: str
    plan: scenario.Plan
    rate: float = float(os.environ.get("BENCH_QUOTES_PER_S", "20"))
    _asker: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.rate <= 0:  # BENCH_QUOTES_PER_S=0: no quotes asked
            return
        self._asker = subprocess.Popen(
            [sys.executable, "-m", "bench.quotes", self.url, self.chain_id, str(self.rate), str(self.plan.clients),
             self.plan.tag],
            env={**os.environ, "BENCH_QUOTE_KEY": self.key},
            stdout=subprocess.PIPE,
        )  # fmt: skip

    async def stop(self) -> tuple[list[float], int]:
        """Stops asking; answers the latencies (ms) and the errors since `start`."""
        if self._asker is None:
            return [], 0
        asker, self._asker = self._asker, None
        asker.send_signal(signal.SIGTERM)
        out, _ = await asyncio.to_thread(asker.communicate, timeout=60)
        found = json.loads(out or b'{"latencies_ms": [], "errors": 0}')
        return found["latencies_ms"], found["errors"]


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
