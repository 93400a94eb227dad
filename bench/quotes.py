"""The checkout quote under the bench's load: while a phase plays its visits, a gateway process asks for
quotes at a steady rate (BENCH_QUOTES_PER_S, default 20), each for one of the scenario's clients and the
visit the scenario pays (the massage its membership would pay, the oil, the client's card); the latency of
each answer is measured at the bench (gateway and its three parts, in parallel, end to end). A quote that
answers anything but 200, or with a part unavailable, counts as an error beside the percentiles; so does one
not asked because MAX_IN_FLIGHT were still waiting (the bench's own event loop must never drown in them)."""

from __future__ import annotations

import asyncio
import os
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
    return gateway


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
    url: str
    chain_id: str
    key: str
    plan: scenario.Plan
    rate: float = float(os.environ.get("BENCH_QUOTES_PER_S", "20"))
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    _task: asyncio.Task[None] | None = None
    _http: httpx.AsyncClient | None = None
    _next: int = 0

    def start(self) -> None:
        self.latencies_ms, self.errors = [], 0
        self._http = httpx.AsyncClient(
            base_url=f"{self.url}/v1/chains/{self.chain_id}",
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=5,
            limits=httpx.Limits(max_connections=MAX_IN_FLIGHT),
        )
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> tuple[list[float], int]:
        """Stops asking; answers the latencies (ms) and the errors since `start`."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
        return self.latencies_ms, self.errors

    async def _run(self) -> None:
        pending: set[asyncio.Task[None]] = set()
        started = time.monotonic()
        sent = 0
        try:
            while True:
                due = int((time.monotonic() - started) * self.rate) + 1
                for _ in range(due - sent):
                    if len(pending) >= MAX_IN_FLIGHT:
                        self.errors += 1  # not asked: the gateway is that far behind
                        continue
                    task = asyncio.create_task(self._one(self._next % self.plan.clients))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                    self._next += 1
                sent = due
                await asyncio.sleep(max(0.005, started + sent / self.rate - time.monotonic()))
        finally:
            await asyncio.gather(*pending, return_exceptions=True)

    async def _one(self, i: int) -> None:
        assert self._http is not None
        began = time.perf_counter()
        try:
            r = await self._http.post("/checkout/quote", json=body(self.plan, i))
        except httpx.HTTPError:
            self.errors += 1
            return
        self.latencies_ms.append((time.perf_counter() - began) * 1000)
        if r.status_code != 200 or any(r.json()[part].get("available") is False for part in PARTS):
            self.errors += 1
