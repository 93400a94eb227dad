"""The bench's own Kafka, PostgreSQL and service processes: `.local/bench`, wiped first, on free ports,
fsync on as in production (the tests turn it off; a bench must not)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from deploy import local, processes
from shared import admin
from shared.settings import DOMAIN_SERVICES, Settings

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".local" / "bench"
SERVICES = DOMAIN_SERVICES  # the bench produces to Kafka itself: no gateway


@dataclass
class BenchStack:
    servers: local.Stack
    settings: Settings
    running: list[processes.ServiceProcess] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        # WARNING: a log line per message would cost more than the work measured. No scheduled jobs:
        # they would run in the middle of a phase.
        return {**self.servers.env(), "LOG_LEVEL": "WARNING", "JOBS_ENABLED": "false"}

    @property
    def urls(self) -> dict[str, str]:
        """The first process of each service: the one the chain is set up through."""
        return {name: self.of(name)[0].url for name in SERVICES}

    @property
    def logs(self) -> Path:
        return self.servers.state / "logs"

    def of(self, service: str) -> list[processes.ServiceProcess]:
        return [p for p in self.running if p.name == service]

    def scale(self, replicas: int) -> None:
        """Starts processes until every service has `replicas` of them (same consumer group each)."""
        new = [
            processes.start(name, self.env, STATE / "logs", local.free_port())
            for name in SERVICES
            for _ in range(replicas - len(self.of(name)))
        ]
        self.running += new
        processes.wait_ready(new)

    @property
    def kafka_pid(self) -> int | None:
        return local.pid_alive(self.servers.state / "kafka" / "kafka.pid")

    @property
    def postgres_pid(self) -> int | None:
        return local.pid_alive(self.servers.state / "postgres" / "data" / "postmaster.pid")


@contextmanager
def bench_stack() -> Iterator[BenchStack]:
    """Kafka, PostgreSQL, the migrations and topics; the services are started by `scale`. The state is
    removed after a good run and kept (with every service's log) after a failed one."""
    shutil.rmtree(STATE, ignore_errors=True)
    servers = local.Stack(STATE, kafka_port=local.free_port(pair=True), pg_port=local.free_port(), fast_disk=False)
    local.up(servers)
    stack = BenchStack(
        servers, Settings(kafka_bootstrap_servers=servers.bootstrap_servers, database_url=servers.database_url)
    )
    ok = False
    try:
        admin.migrate(stack.settings)
        asyncio.run(admin.create_topics(stack.settings))
        yield stack
        ok = True
    finally:
        processes.stop(stack.running)
        local.down(servers)
        if ok and not os.environ.get("BENCH_KEEP"):  # BENCH_KEEP=1: the logs kept, to read after a run
            shutil.rmtree(STATE, ignore_errors=True)
        else:
            print(f"bench state kept in {STATE} (service logs in {STATE / 'logs'})")
