"""Time-driven work (expiry, auto-activation, burning, inactivity, reminders), run two ways:

- by itself: an APScheduler interval job per registered job, every `JOBS_INTERVAL_SECONDS`, for every
  chain, as of now;
- on demand: `POST /v1/chains/{chain_id}/jobs/{job}/run {"as_of": "<time>"}`, for one chain, as of the
  given moment (a back-office "run it now", and how tests pin the clock).

One runner at a time across replicas: every run holds a transaction-level advisory lock on the job's
name; a scheduled run that finds it taken skips (another replica is on it), an HTTP run waits for it.
A job function must be idempotent for the same `as_of` and answer what it changed.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, Field

from shared.auth import ChainId
from shared.errors import NotFound
from shared.uow import UnitOfWork, unit_of_work

log = structlog.get_logger("jobs")

# (unit of work, chain id or None for every chain, as_of) -> what changed
JobFn = Callable[[UnitOfWork, str | None, datetime], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Job:
    name: str
    fn: JobFn
    description: str = ""
    every_seconds: float | None = None  # None: the service's JOBS_INTERVAL_SECONDS

    @property
    def lock_id(self) -> int:
        return zlib.crc32(f"job:{self.name}".encode())


class RunJob(BaseModel):
    as_of: AwareDatetime | None = Field(None, description="The moment to run the job for; now if absent")


class JobRun(BaseModel):
    job: str
    as_of: datetime
    changed: dict[str, Any]


class Jobs:
    def __init__(self, service: str, pool: Callable[[], asyncpg.Pool], interval_seconds: float,
                 enabled: bool) -> None:
        self.service = service
        self._pool = pool
        self.interval_seconds = interval_seconds
        self.enabled = enabled
        self.jobs: dict[str, Job] = {}
        self._scheduler: AsyncIOScheduler | None = None

    def add(self, name: str, fn: JobFn, description: str = "", every_seconds: float | None = None) -> None:
        self.jobs[name] = Job(name, fn, description, every_seconds)

    async def run(self, job: Job, chain_id: str | None, as_of: datetime, *, wait: bool) -> dict[str, Any] | None:
        async with unit_of_work(self._pool()) as uow:
            if wait:
                await uow.conn.execute("SELECT pg_advisory_xact_lock($1)", job.lock_id)
            elif not await uow.conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", job.lock_id):
                return None  # another replica runs it now
            changed = await job.fn(uow, chain_id, as_of)
        log.info("job_ran", job=job.name, chain_id=chain_id, as_of=as_of.isoformat(), changed=changed)
        return changed

    def start(self) -> None:
        if not self.enabled or not self.jobs:
            return
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        for job in self.jobs.values():
            seconds = job.every_seconds or self.interval_seconds
            self._scheduler.add_job(self._scheduled, "interval", seconds=seconds, args=[job],
                                    id=job.name, max_instances=1, coalesce=True)
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)

    async def _scheduled(self, job: Job) -> None:
        try:
            await self.run(job, None, datetime.now(UTC), wait=False)
        except Exception:
            log.exception("job_failed", job=job.name)

    def router(self) -> APIRouter:
        router = APIRouter(tags=["jobs"])

        @router.post("/jobs/{job}/run", response_model=JobRun, summary="Run a time-driven job now, for a moment")
        async def run_job(chain_id: ChainId, job: str, request: Request, body: RunJob | None = None) -> JobRun:
            found = self.jobs.get(job)
            if found is None:
                raise NotFound("unknown_job", f"no job {job!r}; jobs: {', '.join(sorted(self.jobs))}")
            as_of = (body.as_of if body and body.as_of else datetime.now(UTC))
            changed = await self.run(found, chain_id, as_of, wait=True)
            return JobRun(job=job, as_of=as_of, changed=changed or {})

        return router
