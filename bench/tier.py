"""The checkout quote's HTTP tier in the bench: a gateway and one HTTP-only process of each part's service,
and the CPU they run on.

Deployed, the tier runs in pods of its own (deploy/k8s/base/http-replicas.yaml) and PostgreSQL on a server
of its own; on this one machine everything shares two cores, which the event workers, Kafka and PostgreSQL
saturate in every phase. `BENCH_HTTP_TIER` says which of the two a run measures:

- `dedicated` (the default): the tier's processes, the PostgreSQL backends serving their connections and
  the asker (standing in for the booking system, on a machine of its own) are scheduled ahead of every
  other process (SCHED_RR, the lowest real-time priority), as CPU of their own would serve them. Nice
  levels do not do it: with `kernel.sched_autogroup_enabled` (the default on most distributions) a nice
  value counts only inside its session's group, and Kafka and PostgreSQL each run in a session of their
  own, so PostgreSQL's backends, all in one group, serve a quote's statements only on the group's share.
  The backends are found again every second (a pool opens connections as it needs them). Needs root
  (CAP_SYS_NICE): without it the run says so and measures `shared`.
- `shared`: the tier competes for the cores with everything else, as on an overloaded single machine.

Either way its CPU is counted in the run's resources (`gateway`, `<service>-api`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field, replace

import asyncpg
import psutil

from bench.stack import BenchStack
from deploy import local, processes

PARTS = ("memberships", "loyalty", "wallet")
MODES = ("dedicated", "shared")


def start_tier(stack: BenchStack) -> list[processes.ServiceProcess]:
    """A gateway (last) and, for each part, one process of that service that serves HTTP only
    (CONSUMER_ENABLED=false: as an ops team deploys a service's API apart from its event workers), which the
    gateway asks. They share the database and the broker with the consumers under load."""
    api = [
        replace(processes.start(name, {**stack.env, "CONSUMER_ENABLED": "false"}, stack.logs, local.free_port()),
                name=f"{name}-api")
        for name in PARTS
    ]  # fmt: skip
    env = {**stack.env, **{f"{p.name.removesuffix('-api').upper()}_URL": p.url for p in api}}
    gateway = processes.start("gateway", env, stack.logs, local.free_port())
    stack.running += [*api, gateway]
    processes.wait_ready([*api, gateway])
    return [*api, gateway]


@dataclass
class TierCpu:
    pool: asyncpg.Pool  # the bench's own, to find the backends
    mode: str = field(default_factory=lambda: os.environ.get("BENCH_HTTP_TIER", "dedicated"))
    _task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SystemExit(f"BENCH_HTTP_TIER must be one of {', '.join(MODES)}; got {self.mode!r}")

    async def start(self, pids: list[int]) -> None:
        """While a phase plays: the tier's processes (`pids`) and their backends dedicated, again every second."""
        if self.mode != "dedicated":
            return
        if not await dedicate(self.pool, pids):
            print("BENCH_HTTP_TIER=dedicated: not allowed here (needs root); measuring it shared", flush=True)
            self.mode = "shared"
            return
        self._task = asyncio.create_task(self._again(pids))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _again(self, pids: list[int]) -> None:
        while True:
            await asyncio.sleep(1)
            await dedicate(self.pool, pids)


async def dedicate(pool: asyncpg.Pool, pids: list[int]) -> bool:
    """`pids` and the PostgreSQL backends serving their TCP connections scheduled SCHED_RR (priority 1);
    False where that is not allowed."""
    ports: set[int] = set()
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            ports |= {c.laddr.port for c in psutil.Process(pid).net_connections(kind="tcp") if c.laddr}
    async with pool.acquire() as conn:
        backends = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])", sorted(ports)
        )
    try:
        for pid in [*pids, *(int(r["pid"]) for r in backends)]:
            with contextlib.suppress(ProcessLookupError):
                if os.sched_getscheduler(pid) != os.SCHED_RR:
                    os.sched_setscheduler(pid, os.SCHED_RR, os.sched_param(1))
    except PermissionError:
        return False
    return True
