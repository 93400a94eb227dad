"""The load: paid visits of the scenario's chain through the real broker, first as fast as the bench
can publish a fixed count, then at fixed rates for a fixed time; each phase waits until every effect of
its visits is done before the next begins."""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from bench import counters, limits
from bench.effects import Counts, Effects, Mark, Notices, PhaseTraces
from bench.knobs import Knobs
from bench.limits import Limits
from bench.probes import Probes, Usage
from bench.quotes import Quotes
from bench.stack import BenchStack
from bench.tier import TierCpu, start_tier
from deploy import scenario
from deploy.kafka_io import Kafka
from shared import auth
from shared.kafka import client_kwargs

POLL = 0.1  # how often a phase looks whether it is done: the end time is this accurate
STALL = 120.0  # a phase whose effects stop growing for this long has failed


@dataclass
class PhaseResult:
    replicas: int
    name: str  # "max", or the offered rate as "200/s"
    rate: int | None  # offered visits/s; None: as fast as the bench publishes
    visits: int
    first_visit: int  # the scenario's visit numbers of this phase start here
    started: float  # epoch seconds: the first visit.paid's Kafka timestamp
    published: float  # the last visit.paid's Kafka timestamp
    ended: float  # when every effect of every visit was seen
    visits_per_s: float  # visits / (ended - started): end to end, every effect done
    latency_ms: dict[str, float]  # visit.paid -> its last SMS on notification.sms
    effects: Counts
    resources: dict[str, Usage] = field(default_factory=dict)
    db_waits: dict[str, float] = field(default_factory=dict)  # busy backends by what they wait for, mean
    # Per visit, per service: SQL statements, Kafka messages consumed and published (the services' own
    # counters), and per process (services, kafka, postgres...) the CPU ms it spent.
    per_visit: dict[str, dict[str, float]] = field(default_factory=dict)
    # The checkout quotes asked meanwhile (bench/quotes.py): their latency percentiles, and how many failed.
    quote_ms: dict[str, float] = field(default_factory=dict)
    quote_errors: int = 0
    quote_part_p99_ms: dict[str, float] = field(default_factory=dict)  # each part as the gateway timed it
    quote_tier: str = ""  # the HTTP tier's CPU while the quotes were asked: dedicated or shared (bench/tier.py)

    @property
    def published_per_s(self) -> float:
        return self.visits / max(self.published - self.started, 1e-3)


@dataclass
class Load:
    kafka: Kafka
    plan: scenario.Plan
    chain_id: str
    effects: Effects
    notices: Notices
    probes: Probes
    stack: BenchStack
    quotes: Quotes | None = None  # asked while each phase plays
    next_visit: int = 0  # every phase plays visits never played before

    async def phase(self, replicas: int, count: int, rate: int | None = None) -> PhaseResult:
        first, self.next_visit = self.next_visit, self.next_visit + count
        visits = list(scenario.visits(self.plan, self.chain_id, count, first))
        traces, headers = self.notices.expect(visits)
        mark = await self.effects.mark()
        before = await counters.snapshot(self.stack)
        name = "max" if rate is None else f"{rate}/s"
        print(f"  {replicas} replica(s), {name}: {count} visits ...", flush=True)
        if self.quotes is not None:
            await self.quotes.start()
        if rate is None:
            stamps = await scenario.publish(self.kafka, visits, headers)
        else:
            stamps = await paced(self.kafka, visits, headers, rate)
        for visit_id, ms in stamps.items():
            traces.visits[visit_id].paid_ms = ms
        started, published = min(stamps.values()) / 1000, max(stamps.values()) / 1000
        counts, ended = await self.done(visits, traces, mark)
        quoted, quote_errors, parts = await self.quotes.stop() if self.quotes is not None else ([], 0, {})
        result = PhaseResult(
            replicas,
            name,
            rate,
            count,
            first,
            started,
            published,
            ended,
            round(count / (ended - started), 1),
            percentiles(traces.latencies_ms()),
            counts,
            self.probes.resources.usage(started, ended),
            self.probes.waits.mean(started, ended),
        )
        result.per_visit = counters.per_visit(before, await counters.snapshot(self.stack), count)
        result.quote_ms, result.quote_errors, result.quote_part_p99_ms = percentiles(quoted), quote_errors, parts
        result.quote_tier = self.quotes.cpu.mode if self.quotes is not None else ""
        for process, usage in result.resources.items():  # % of one core over the phase -> ms per visit
            cpu_ms = usage.cpu_mean / 100 * (ended - started) * 1000 / count
            result.per_visit.setdefault(process, {})["cpu_ms"] = round(cpu_ms, 2)
        print(
            f"    {result.visits_per_s:,.0f} visits/s end to end, p99 {result.latency_ms.get('p99', 0):,.0f} ms; "
            f"{len(quoted)} quotes, p99 {result.quote_ms.get('p99', 0):,.1f} ms",
            flush=True,
        )
        return result

    async def done(self, visits: list[scenario.Visit], traces: PhaseTraces, mark: Mark) -> tuple[Counts, float]:
        """Waits until every effect of `visits` is done; answers the counts and the moment it was so.

        The required notices on notification.sms come first (counted in memory, free): they come after
        the deductions and accruals that caused them. Only then are the services' tables asked, each
        until its count is complete: inventory's operations are the one effect no notice follows."""
        want = Counts(
            deductions=sum(v.deductions for v in visits),
            accruals=sum(v.accruals for v in visits),
            operations=sum(v.operations for v in visits),
            notices=traces.required,
        )
        counters: dict[str, Callable[[], Awaitable[int]]] = {
            "deductions": lambda: self.effects.deductions(mark),
            "accruals": lambda: self.effects.accruals(mark),
            "operations": lambda: self.effects.operations(visits),
        }
        have = Counts()
        progress, stalled_since = -1, time.monotonic()
        while True:
            if traces.required_seen >= traces.required:
                for what, count in counters.items():
                    if getattr(have, what) < getattr(want, what):
                        setattr(have, what, await count())
                if all(getattr(have, what) >= getattr(want, what) for what in counters):
                    ended = time.time()
                    break
            now = traces.seen + have.deductions + have.accruals + have.operations
            if now != progress:
                progress, stalled_since = now, time.monotonic()
            elif time.monotonic() - stalled_since > STALL:
                raise RuntimeError(
                    f"phase stalled: have {have}, {traces.required_seen} of {traces.required} "
                    f"notices on notification.sms; want {want}"
                )
            await asyncio.sleep(POLL)
        required = {t for v in visits for t in v.notice_types}
        have.notices, have.all_notices = await self.effects.notices(mark, required)
        if have.notices < want.notices:
            raise RuntimeError(f"{have.notices} notices recorded of {want.notices} seen on notification.sms")
        # The extra notices (activation, discount, level) may still be on their way: the latency of a
        # visit is to its LAST notice.
        for _ in range(int(30 / POLL)):
            if traces.seen >= have.all_notices:
                break
            await asyncio.sleep(POLL)
        return have, ended


async def paced(
    kafka: Kafka, visits: list[scenario.Visit], headers: dict[str, list[tuple[str, bytes]]], rate: int
) -> dict[str, int]:
    """Publishes `visits` at `rate` per second: each visit at its due time (the ones due together in one
    send, at most every 10 ms), without waiting for the previous sends' acknowledgements."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    sends: list[asyncio.Task[dict[str, int]]] = []
    sent = 0
    while sent < len(visits):
        due = min(len(visits), int((loop.time() - start) * rate) + 1)
        if due > sent:
            sends.append(asyncio.create_task(scenario.publish(kafka, visits[sent:due], headers)))
            sent = due
        await asyncio.sleep(max(0.01, start + sent / rate - loop.time()))
    stamps: dict[str, int] = {}
    for stamped in await asyncio.gather(*sends):
        stamps.update(stamped)
    return stamps


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50": round(cuts[49], 1),
        "p95": round(cuts[94], 1),
        "p99": round(cuts[98], 1),
        "max": round(max(values), 1),
    }


@dataclass
class Results:
    knobs: Knobs
    machine: dict[str, Any]
    limits: Limits
    phases: list[PhaseResult]
    lag: list[tuple[float, dict[str, int]]]  # epoch seconds, lag per consumer group


async def play(stack: BenchStack, knobs: Knobs) -> Results:
    """The limits first (on the idle broker and database), then the services and the chain, then every
    phase once per replica count."""
    machine = about_machine()
    print("limits, with nothing of ours in between:", flush=True)
    bare = await limits.measure(stack.settings, knobs.visits)
    await asyncio.to_thread(stack.scale, 1)
    plan = scenario.Plan(clients=knobs.clients, tag="bench")
    chain_id = "bench"
    pool = await asyncpg.create_pool(stack.settings.database_url, min_size=1, max_size=3)
    assert pool is not None
    phases: list[PhaseResult] = []
    try:
        security = client_kwargs(stack.settings)
        async with Kafka(stack.settings.kafka_bootstrap_servers, security) as kafka:
            async with pool.acquire() as conn:
                key = await auth.create_key(conn, chain_id, "bench")
            started = time.perf_counter()
            await scenario.set_up(plan, chain_id, key, stack.urls, kafka, timeout=900)
            print(f"chain set up: {knobs.clients} clients in {time.perf_counter() - started:.0f} s", flush=True)
            quotes = Quotes(start_tier(stack), chain_id, key, plan, TierCpu(pool))
            await quotes.warm()
            async with (
                Probes(stack, pool) as probes,
                Notices(stack.settings.kafka_bootstrap_servers, security) as notices,
            ):
                load = Load(kafka, plan, chain_id, Effects(pool, chain_id), notices, probes, stack, quotes)
                for replicas in knobs.replicas:
                    await asyncio.to_thread(stack.scale, replicas)
                    await probes.lag.settled(replicas)
                    phases.append(await load.phase(replicas, knobs.visits))
                    for rate in knobs.rates:
                        phases.append(await load.phase(replicas, int(rate * knobs.seconds), rate))
                lag = probes.lag.samples
    finally:
        await pool.close()
    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return Results(knobs, machine, bare, phases, lag)


def about_machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
