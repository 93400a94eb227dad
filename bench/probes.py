"""What the machine does while the load runs, sampled in the background: memory and CPU of every
process (psutil, every 0.5 s), each consumer group's lag and what PostgreSQL's backends wait for (every
second)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.stack import SERVICES, BenchStack
from deploy.kafka_io import lag_per_partition
from shared.kafka import client_kwargs

RESOURCES_EVERY = 0.5
LAG_EVERY = 1.0  # lag and database waits


@dataclass
class Usage:
    peak_rss_mb: float  # the largest single process of that name (a target is per process)
    cpu_mean: float  # % of one core, all processes of that name together, averaged over the window
    cpu_peak: float


class Resources:
    """RSS and CPU of the service processes (replicas summed for CPU), Kafka, PostgreSQL (postmaster and
    every backend) and the bench itself, which share the machine's cores; and as `others` the CPU the
    rest of the machine took meanwhile (other stacks on a shared machine: it shows when figures are low
    for want of CPU)."""

    def __init__(self, stack: BenchStack) -> None:
        self.stack = stack
        self.samples: list[tuple[float, dict[str, tuple[float, float]]]] = []  # t, name -> (rss MB, cpu %)
        self._known: dict[int, psutil.Process] = {}
        psutil.cpu_percent(None)  # starts the machine-wide clock

    def _processes(self) -> Iterator[tuple[str, int]]:
        for p in self.stack.running:
            yield p.name, p.process.pid
        yield "bench", os.getpid()
        if (kafka := self.stack.kafka_pid) is not None:
            yield "kafka", kafka
        if (postmaster := self.stack.postgres_pid) is not None:
            yield "postgres", postmaster
            with contextlib.suppress(psutil.Error):
                for child in psutil.Process(postmaster).children():
                    yield "postgres", child.pid

    def sample(self) -> None:
        now: dict[str, tuple[float, float]] = {}
        for name, pid in self._processes():
            try:
                proc = self._known.get(pid)
                if proc is None:  # the first cpu_percent of a process only starts its clock
                    proc = self._known[pid] = psutil.Process(pid)
                    proc.cpu_percent(None)
                rss, cpu = proc.memory_info().rss / 2**20, proc.cpu_percent(None)
            except psutil.Error:  # a backend that just ended
                continue
            peak, total = now.get(name, (0.0, 0.0))
            now[name] = (max(peak, rss), total + cpu)
        machine = psutil.cpu_percent(None) * (os.cpu_count() or 1)  # % of one core, like the processes'
        now["others"] = (0.0, max(0.0, machine - sum(cpu for _, cpu in now.values())))
        self.samples.append((time.time(), now))

    def usage(self, start: float, end: float) -> dict[str, Usage]:
        window = [s for t, s in self.samples if start <= t <= end]
        names = sorted({name for s in window for name in s})
        return {
            name: Usage(
                peak_rss_mb=round(max(s[name][0] for s in window if name in s), 1),
                cpu_mean=round(sum(s[name][1] for s in window if name in s) / len(window), 1),
                cpu_peak=round(max(s[name][1] for s in window if name in s), 1),
            )
            for name in names
        }


class Lag:
    """Per consumer group `perkstream.<service>`: the sum over the partitions of the topics it consumes
    of end offset minus committed offset (a partition never committed counts from 0: the groups start
    from the earliest offset)."""

    def __init__(self, stack: BenchStack) -> None:
        self.stack = stack
        self.samples: list[tuple[float, dict[str, int]]] = []
        security = client_kwargs(stack.settings)
        self.admin = AIOKafkaAdminClient(bootstrap_servers=stack.settings.kafka_bootstrap_servers, **security)
        self.offsets = AIOKafkaConsumer(
            bootstrap_servers=stack.settings.kafka_bootstrap_servers, group_id=None, **security
        )
        self.partitions: dict[str, list[TopicPartition]] = {}

    async def start(self) -> None:
        await self.admin.start()
        await self.offsets.start()
        for service, consumed in (await consumed_topics(self.stack.urls)).items():
            self.partitions[f"perkstream.{service}"] = [
                TopicPartition(t["topic"], p["partition"])
                for t in await self.admin.describe_topics(consumed)
                for p in t["partitions"]
            ]

    async def stop(self) -> None:
        await self.offsets.stop()
        await self.admin.close()

    async def sample(self) -> dict[str, int]:
        lags = {group: sum(behind.values()) for group, behind in (await self._per_partition()).items()}
        self.samples.append((time.time(), lags))
        return lags

    async def _per_partition(self) -> dict[str, dict[TopicPartition, int]]:
        return await lag_per_partition(self.admin, self.offsets, self.partitions)

    async def members(self) -> dict[str, int]:
        """Members of each group that is stable (not rebalancing); 0 for a group in a rebalance."""
        found = {}
        for group_id in self.partitions:
            # One group per request: aiokafka 0.14 decodes DescribeGroups v3 answers with the v2 schema,
            # which misses each group's trailing `authorized_operations`; with one group the field left
            # over is never read, with several the second group is read from the wrong bytes.
            [answer] = await self.admin.describe_consumer_groups([group_id])
            for group in answer.groups:
                _error, _id, state, _kind, _protocol, members = group[:6]
                found[group_id] = len(members) if state == "Stable" else 0
        return found

    async def settled(self, replicas: int, timeout: float = 120) -> None:
        """Waits until every group is stable with `replicas` members and has consumed everything."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            members = await self.members()
            if all(members.get(g) == replicas for g in self.partitions) and not any((await self.sample()).values()):
                return
            await asyncio.sleep(LAG_EVERY)
        raise RuntimeError(
            f"groups not settled with {replicas} replicas: {await self.members()}, lag {await self.behind()}"
        )

    async def behind(self) -> dict[str, dict[str, int]]:
        """The partitions each group has not consumed to the end, and by how much."""
        return {
            group: {f"{tp.topic}/{tp.partition}": lag for tp, lag in lags.items() if lag}
            for group, lags in (await self._per_partition()).items()
        }


class Waits:
    """What the database's busy backends are doing, every second: on CPU, or waiting for a lock another
    transaction holds (`Lock:...`), for the WAL to reach the disk at commit (`IO:WALSync`), ..."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.samples: list[tuple[float, dict[str, int]]] = []

    async def sample(self) -> None:
        rows = await self.pool.fetch(
            """SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS what, count(*) AS n
               FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'
               AND pid <> pg_backend_pid() GROUP BY 1"""
        )
        self.samples.append((time.time(), {r["what"]: r["n"] for r in rows}))

    def mean(self, start: float, end: float) -> dict[str, float]:
        """Backends busy with each thing, on average over the window, most first."""
        window = [s for t, s in self.samples if start <= t <= end]
        totals: dict[str, float] = {}
        for s in window:
            for what, n in s.items():
                totals[what] = totals.get(what, 0) + n
        return {what: round(n / len(window), 2) for what, n in sorted(totals.items(), key=lambda kv: -kv[1])}


async def consumed_topics(urls: dict[str, str]) -> dict[str, list[str]]:
    """What each service consumes, as its AsyncAPI document says (the `receive` operations)."""
    found = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for service in SERVICES:
            doc = (await http.get(f"{urls[service]}/asyncapi")).raise_for_status().json()
            found[service] = [
                op["channel"]["$ref"].rsplit("/", 1)[1]
                for op in doc["operations"].values()
                if op["action"] == "receive"
            ]
    return found


class Probes:
    """Both samplers, running in the background for as long as the `async with` lasts."""

    def __init__(self, stack: BenchStack, pool: asyncpg.Pool) -> None:
        self.resources = Resources(stack)
        self.lag = Lag(stack)
        self.waits = Waits(pool)
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Probes:
        await self.lag.start()
        self._tasks = [
            asyncio.create_task(_every(RESOURCES_EVERY, self._resources)),
            asyncio.create_task(_every(LAG_EVERY, self.lag.sample)),
            asyncio.create_task(_every(LAG_EVERY, self.waits.sample)),
        ]
        return self

    async def _resources(self) -> None:
        self.resources.sample()

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.lag.stop()


async def _every(seconds: float, probe: Callable[[], Awaitable[object]]) -> None:
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    while True:
        try:
            await probe()
        except Exception as exc:  # one sample missed (a broker hiccup) must not end the sampling
            print(f"  probe failed: {exc!r}", flush=True)
        next_at += seconds
        await asyncio.sleep(max(0.0, next_at - loop.time()))
