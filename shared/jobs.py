"""Time-driven work (expiry, auto-activation, burning, inactivity, reminders), run chain by chain, two ways:

- by itself: an APScheduler interval job per registered job, every `JOBS_INTERVAL_SECONDS`, as of now:
  the job's `chains` (one query across chains) answers which chains have work, and each chain runs in a
  transaction of its own. A chain whose run fails is rolled back, logged (`job_chain_failed`: job,
  chain_id, the error's type and where it was raised; never a value, so never a phone or a name),
  counted (`perkstream_job_chain_failures_total{service,job}`) and skipped: the other chains complete,
  and the failed one is tried again on the next run;
- on demand: `POST /v1/chains/{chain_id}/jobs/{job}/run {"as_of": "<time>"}`, for one chain, as of the
  given moment (an operator's "run it now", and how tests pin the clock). It needs a key with the
  `admin` scope (403 `insufficient_scope` otherwise), and `as_of` may not be later than now plus
  `JOBS_AS_OF_SKEW_SECONDS` (default 300; 422 `as_of_in_the_future`).

One scheduled runner at a time across replicas: a scheduled run holds a session advisory lock on the
job's name (a replica that finds it taken skips: another is on it). Within a process the scheduled jobs
take turns, so the schedule holds one connection of the background pool at a time, never all of it.
Each chain's transaction holds an advisory lock on (job, chain), so an HTTP run and the scheduled run of
the same chain take turns, and an HTTP run waits for that one chain only, not for the whole round.
A job's `run` must be idempotent for the same `as_of` and answer what it changed.

Each scheduled run that this process makes is measured (shared/metrics.py): `perkstream_job_runs_total`
by outcome, the time of the last completed one, its duration, and the job's interval (so an alert can
say "not completed for three intervals" for every job at once).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import traceback
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, Field

from shared import metrics, tracing
from shared.auth import AdminChainId
from shared.db import UNREACHABLE
from shared.errors import Invalid, NotFound
from shared.uow import UnitOfWork

log = structlog.get_logger("jobs")

# (connection, as_of) -> the chains with work as of that moment (a query across chains, on purpose)
ChainsFn = Callable[[asyncpg.Connection, datetime], Awaitable[list[str]]]
# (unit of work, chain id, as_of) -> what changed in that chain
RunFn = Callable[[UnitOfWork, str, datetime], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class PerChain:
    """What a job does: which chains have work, and one chain's work (in a transaction of its own)."""

    chains: ChainsFn
    run: RunFn


@dataclass(frozen=True)
class Job:
    name: str
    work: PerChain
    description: str = ""
    every_seconds: float | None = None  # None: the service's JOBS_INTERVAL_SECONDS

    @property
    def lock_id(self) -> int:
        return zlib.crc32(f"job:{self.name}".encode())

    def chain_lock_id(self, chain_id: str) -> int:
        digest = hashlib.blake2b(f"job:{self.name}:{chain_id}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True)
class ScheduledRun:
    chains: list[str]  # the chains that had work
    failed: list[str]  # of those, the ones whose run failed (rolled back, skipped)


class RunJob(BaseModel):
    as_of: AwareDatetime | None = Field(
        None,
        description="The moment to run the job for; now if absent. At most now plus "
        "JOBS_AS_OF_SKEW_SECONDS (default 300 s): a job never runs for the future",
    )


class JobRun(BaseModel):
    job: str
    as_of: datetime
    changed: dict[str, Any]


def _raised_at(exc: BaseException) -> str:
    """Where an error was raised (file:line in function): enough to find it, with no value in it."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f"{'/'.join(Path(last.filename).parts[-2:])}:{last.lineno} in {last.name}"


class Jobs:
    def __init__(
        self,
        service: str,
        pool: Callable[[], asyncpg.Pool],
        interval_seconds: float,
        enabled: bool,
        as_of_skew_seconds: float = 300,
    ) -> None:
        self.service = service
        self._pool = pool
        self.interval_seconds = interval_seconds
        self.enabled = enabled
        self.as_of_skew_seconds = as_of_skew_seconds
        self.jobs: dict[str, Job] = {}
        self._scheduler: AsyncIOScheduler | None = None
        self._turn = asyncio.Lock()  # the scheduled jobs of this process, one at a time

    def add(self, name: str, work: PerChain, description: str = "", every_seconds: float | None = None) -> None:
        self.jobs[name] = Job(name, work, description, every_seconds)

    async def _run_chain(self, conn: asyncpg.Connection, job: Job, chain_id: str, as_of: datetime) -> dict[str, Any]:
        # Tracing on: a span per run over a chain (under the request's, run over HTTP), which what it
        # publishes carries.
        with tracing.span(f"job {job.name}", {"perkstream.job": job.name, "perkstream.chain_id": chain_id}):
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", job.chain_lock_id(chain_id))
                uow = UnitOfWork(conn)
                changed = await job.work.run(uow, chain_id, as_of)
                await uow.flush()
        return changed

    async def run(self, job: Job, chain_id: str, as_of: datetime, pool: asyncpg.Pool | None = None) -> dict[str, Any]:
        """One chain, now (waits for a run of the same job and chain to end first); on `pool` when given
        (an HTTP run takes the HTTP pool's connection, never one the consumers need)."""
        async with (pool or self._pool()).acquire() as conn:
            changed = await self._run_chain(conn, job, chain_id, as_of)
        log.info("job_ran", job=job.name, chain_id=chain_id, as_of=as_of.isoformat(), changed=changed)
        return changed

    async def run_scheduled(self, job: Job, as_of: datetime) -> ScheduledRun | None:
        """Every chain with work, each in a transaction of its own; None when another replica runs it."""
        async with self._pool().acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", job.lock_id):
                return None
            try:
                chains = await job.work.chains(conn, as_of)
                failed: list[str] = []
                for chain_id in chains:
                    try:
                        await self._run_chain(conn, job, chain_id, as_of)
                    except UNREACHABLE:
                        raise  # the database, not the chain: the whole run waits for the next time
                    except Exception as exc:
                        failed.append(chain_id)
                        metrics.JOB_CHAIN_FAILURES.labels(self.service, job.name).inc()
                        log.error(
                            "job_chain_failed",
                            job=job.name,
                            chain_id=chain_id,
                            as_of=as_of.isoformat(),
                            error=type(exc).__name__,
                            raised_at=_raised_at(exc),
                        )
            finally:
                if not conn.is_closed():
                    await conn.execute("SELECT pg_advisory_unlock($1)", job.lock_id)
        log.info("job_ran", job=job.name, as_of=as_of.isoformat(), chains=len(chains), failed=len(failed))
        return ScheduledRun(chains, failed)

    def start(self) -> None:
        if not self.enabled or not self.jobs:
            return
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        for job in self.jobs.values():
            seconds = job.every_seconds or self.interval_seconds
            metrics.JOB_INTERVAL.labels(self.service, job.name).set(seconds)
            self._scheduler.add_job(
                self._scheduled, "interval", seconds=seconds, args=[job], id=job.name, max_instances=1, coalesce=True
            )
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)

    async def _scheduled(self, job: Job) -> None:
        outcome = None
        try:
            async with self._turn:
                started = time.monotonic()
                ran = await self.run_scheduled(job, datetime.now(UTC))
            if ran is not None:  # None: another replica runs it (and counts it)
                metrics.JOB_SECONDS.labels(self.service, job.name).observe(time.monotonic() - started)
                metrics.JOB_LAST_SUCCESS.labels(self.service, job.name).set(time.time())
                outcome = "chains_failed" if ran.failed else "ok"
        except UNREACHABLE as exc:
            outcome = "postponed"
            log.warning("job_postponed", job=job.name, error=repr(exc))
        except Exception as exc:  # finding the chains failed: no value logged (it might be a client's)
            outcome = "failed"
            log.error("job_failed", job=job.name, error=type(exc).__name__, raised_at=_raised_at(exc))
        if outcome is not None:
            metrics.JOB_RUNS.labels(self.service, job.name, outcome).inc()

    def router(self) -> APIRouter:
        router = APIRouter(tags=["jobs"])

        @router.post(
            "/jobs/{job}/run",
            response_model=JobRun,
            summary="Run a time-driven job now for this chain, as of a moment (admin scope)",
        )
        async def run_job(chain_id: AdminChainId, job: str, request: Request, body: RunJob | None = None) -> JobRun:
            found = self.jobs.get(job)
            if found is None:
                raise NotFound("unknown_job", f"no job {job!r}; jobs: {', '.join(sorted(self.jobs))}")
            now = datetime.now(UTC)
            as_of = body.as_of if body and body.as_of else now
            if as_of > now + timedelta(seconds=self.as_of_skew_seconds):
                raise Invalid(
                    "as_of_in_the_future",
                    f"as_of may be at most {self.as_of_skew_seconds:g} s later than now ({now.isoformat()})",
                    field="as_of",
                )
            changed = await self.run(found, chain_id, as_of, request.app.state.pool)
            return JobRun(job=job, as_of=as_of, changed=changed)

        return router
