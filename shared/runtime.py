"""One service process: its PostgreSQL pool, Kafka consumers (FastStream), outbox relay and HTTP API.

A service's composition root (services/<name>/app.py) builds a `Service`, registers its subscriptions,
published topics and routers, and `main` calls `run()`. Startup order: pool, producer, relay, consumers;
shutdown is the reverse, so a consumer never runs without the outbox that records its effects.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from shared import asyncapi, tracing
from shared.broker_metrics import BrokerMetrics
from shared.consumer import BatchConsumer, BatchHandler, Handler, Subscription
from shared.db import create_pool
from shared.errors import ERROR_RESPONSES
from shared.http import create_http_app, with_timeout
from shared.jobs import Jobs, PerChain
from shared.kafka import make_broker, make_producer, require_access
from shared.logging import configure_logging
from shared.relay import OutboxRelay
from shared.settings import Settings, get_settings
from shared.shutdown import Server, make_server, reserve_seconds, serve

log = structlog.get_logger("runtime")


class Service:
    def __init__(self, name: str, migrations: Path, settings: Settings | None = None) -> None:
        self.name = name
        self.schema = name
        self.migrations = migrations
        self.settings = settings or get_settings()
        self.broker = make_broker(self.settings, name)
        self.consumer = BatchConsumer(
            name,
            self.broker,
            lambda: self.pool,
            self.settings.consumer_max_records,
            self.settings.consumer_batch_timeout_ms,
            self.settings,
        )
        self._publishes: list[tuple[str, type[BaseModel], str]] = []
        self.subscriptions: list[Subscription[Any]] = []
        self._on_start: list[Callable[[], None]] = []
        self._on_stop: list[Callable[[], Awaitable[None]]] = []
        self.http: FastAPI = create_http_app(
            f"Perkstream {name}", self._lifespan, self._readiness, self.asyncapi, service=name
        )
        self.jobs = Jobs(
            name,
            lambda: self.pool,
            self.settings.jobs_interval_seconds,
            self.settings.jobs_enabled,
            self.settings.jobs_as_of_skew_seconds,
        )
        self.include_router(self.jobs.router())
        self._pool: asyncpg.Pool | None = None  # the consumers' and jobs' (self.pool)
        self._http_pool: asyncpg.Pool | None = None  # HTTP requests' (app.state.pool)
        self.relay: OutboxRelay | None = None
        self._server: Server | None = None  # run()'s; it knows when the stop signal came
        self.stopped_cleanly = False  # every batch taken finished, within SHUTDOWN_GRACE_SECONDS

    # --- composition -------------------------------------------------------------------------

    def subscribe(
        self,
        topic: str,
        model: type[BaseModel],
        handler: Handler[Any] | None = None,
        *,
        batch: BatchHandler[Any] | None = None,
        keys: Callable[[Any], Iterable[str]] | None = None,
        description: str = "",
    ) -> None:
        """Consume `topic` with `handler` (one event at a time) or `batch` (a batch's events at once, see
        shared/consumer/subscription.py). All of a service's topics share one Kafka consumer (registered
        at start): one group member per replica, so a replica joining rebalances the group once, not once
        per topic."""
        assert (handler is None) != (batch is None), "a handler or a batch handler"
        sub = Subscription(topic, model, handler, description=description, batch_handler=batch)
        if keys is not None:
            sub.keys = keys
        self.subscriptions.append(sub)

    def on_start(self, callback: Callable[[], None]) -> None:
        """Called once the service is consuming (e.g. to resume background work a stopped process left)."""
        self._on_start.append(callback)

    def on_stop(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Awaited as the service stops, before its consumers and pools (background work ends first)."""
        self._on_stop.append(callback)

    def job(self, name: str, work: PerChain, description: str = "", every_seconds: float | None = None) -> None:
        """A time-driven job: run on schedule chain by chain, and by POST .../jobs/{name}/run (admin)."""
        self.jobs.add(name, work, description, every_seconds)

    def publishes(self, topic: str, model: type[BaseModel], description: str = "") -> None:
        self._publishes.append((topic, model, description))

    @property
    def published(self) -> list[tuple[str, type[BaseModel], str]]:
        """What `publishes` registered: (topic, model, description); read by the contract export."""
        return list(self._publishes)

    def include_router(self, router: APIRouter) -> None:
        self.http.include_router(router, prefix="/v1/chains/{chain_id}", responses=ERROR_RESPONSES)

    def asyncapi(self) -> dict[str, Any]:
        consumes = [(s.topic, s.model, s.description) for s in self.subscriptions]
        return asyncapi.build(self.name, self.settings.kafka_bootstrap_servers, consumes, self._publishes)

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "the service has not started"
        return self._pool

    # --- lifecycle ---------------------------------------------------------------------------

    @asynccontextmanager
    async def _lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        s = self.settings
        # `kill -USR1 <pid>` writes where every task of this process waits: a stuck consumer says where.
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, _log_tasks)
        await require_access(s, self.name)  # a refused password or TLS handshake stops the start, saying so
        # Two pools: HTTP requests never take the connections the consumers and jobs need (settings.py).
        self._pool = await create_pool(s.database_url, self.schema, s.db_work_pool_size, role="work")
        self._http_pool = await create_pool(
            s.database_url,
            self.schema,
            s.db_http_pool_size,
            role="http",
            acquire_timeout=s.db_acquire_timeout_seconds,
            stateless=True,
        )
        app.state.pool = self._http_pool
        # The relay makes its own producer (and a new one after a refused batch); Kafka may still be
        # starting (compose, a fresh local stack): it waits for it a while.
        self.relay = OutboxRelay(
            self.name,
            self.schema,
            s.database_url,
            lambda: make_producer(s, self.name),
            s.outbox_batch_size,
            s.outbox_poll_seconds,
        )
        await self.relay.start()
        if s.consumer_enabled and self.subscriptions and not self.consumer.subscriptions:
            self.consumer.subscribe_together(self.subscriptions)
        await self.broker.start()
        self.jobs.start()
        self.consumer.inbox.start()  # prunes the inbox past its replay window
        relay = self.relay
        # The group's lag and the dead letters, from the broker, while this process leads the relay.
        self.broker_metrics = BrokerMetrics(
            self.name,
            self.consumer.group_id,
            lambda: [sub.topic for sub in self.subscriptions],
            lambda: relay.is_leader,
            s,
        )
        self.broker_metrics.start()
        for callback in self._on_start:
            callback()
        # What starting built (modules, the app's routes and schemas, the pools) is kept for the process's
        # life: out of the collector's reach, a full collection walks only what came after (it walked all
        # of it, some 50 ms on a 2-core runner, stalling every request in flight: the quote's tail).
        gc.freeze()
        log.info(
            "service_started",
            port=s.port_for(self.name),
            group_id=self.consumer.group_id,
            topics=[sub.topic for sub in self.consumer.subscriptions],
        )
        try:
            yield
        finally:
            # Graceful shutdown (shared/shutdown.py): the consumer's batch in hand first, while everything
            # it needs runs; the rest (leaving the group, the relay's last round, the pools) keeps a reserve.
            stopping = time.monotonic()
            grace = s.shutdown_grace_seconds
            deadline = self._server.deadline() if self._server is not None else stopping + grace
            log.info("shutdown_draining", grace_seconds=grace)
            in_hand, finished = await self.consumer.drain(deadline - reserve_seconds(grace) - time.monotonic())
            for stop in self._on_stop:
                await stop()
            self.jobs.stop()
            await self.broker_metrics.stop()
            await self.consumer.inbox.stop()
            await self.broker.stop()  # the consumer leaves its group (not a static member: settings.py)
            await self.relay.stop(deadline - 1 - time.monotonic())
            await self._pool.close()
            await self._http_pool.close()
            tracing.shutdown()  # the spans not exported yet
            self.stopped_cleanly = finished and time.monotonic() < deadline
            log.info(
                "shutdown_drained",
                batch_in_hand=in_hand,
                batch_finished=finished,
                seconds=round(time.monotonic() - stopping, 3),
                within_grace=time.monotonic() < deadline,
            )
            log.info("service_stopped")

    async def _readiness(self) -> dict[str, bool]:
        # A probe is an HTTP request too (and needs no key): it never takes a consumer's connection.
        pool = self._http_pool
        postgres = pool is not None and await with_timeout(pool.fetchval("SELECT true"))
        kafka = await with_timeout(self.broker.ping(timeout=2.0), 2.5)
        return {"postgres": postgres, "kafka": kafka}

    def run(self) -> None:
        s = self.settings
        configure_logging(self.name, s.log_level)
        if tracing.setup(self.name, s):  # OTEL_EXPORTER_OTLP_ENDPOINT set: spans exported (shared/tracing.py)
            tracing.instrument_http(self.http)
        self._server = make_server(self.http, s.http_host, s.port_for(self.name), s.shutdown_grace_seconds)
        serve(self._server, lambda: self.stopped_cleanly)  # exits: 0 once stopped cleanly


def _log_tasks() -> None:
    for task in asyncio.all_tasks():
        log.warning("task_stack", task=task.get_name(), stack=_awaiting(task.get_coro()))


def _awaiting(coro: Any) -> list[str]:
    """Where a task waits: its coroutines down the `await` chain (a task's own stack shows only the top)."""
    where: list[str] = []
    while coro is not None and len(where) < 40:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            where.append(f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None) or getattr(coro, "gi_yieldfrom", None)
    return where
