"""The integration suite runs against real servers, never mocks.

Once per test run: a fresh Kafka broker and a fresh PostgreSQL cluster in `.local/test-<random>`
(removed at the end), on free ports, so neither the `make run` demo on 9092/55432 nor another test run
is ever touched; the migrations, the topics, and the four services as their own processes, on free
ports too. Each test works in a chain of its own, so tests never see each other's data.

To run against an existing cluster instead, set TEST_KAFKA_BOOTSTRAP_SERVERS and TEST_DATABASE_URL
(a database the run may write to).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
import pytest_asyncio

from deploy import local, processes
from deploy.kafka_io import Kafka
from shared import admin, auth
from shared.settings import DOMAIN_SERVICES, Settings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = DOMAIN_SERVICES  # started with every stack; the gateway only for the tests that ask for it
QUOTE_PARTS = ("memberships", "loyalty", "wallet")  # the services the gateway's checkout quote asks


T = TypeVar("T")


@dataclass
class Stack:
    settings: Settings
    services: dict[str, processes.ServiceProcess]
    logdir: Path
    # The Kafka broker and PostgreSQL server when this run started them (None: an external cluster).
    servers: local.Stack | None = None
    # Set for every service process of this stack besides the test settings (e.g. tracing's exporter).
    extra_env: dict[str, str] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return self.services[service].url

    def urls(self) -> dict[str, str]:
        return {name: proc.url for name, proc in self.services.items()}

    def start_replica(self, service: str, **env: str) -> processes.ServiceProcess:
        """Another process of a service, in the same consumer group (for concurrency tests)."""
        proc = processes.start(service, {**self.env(), **env}, self.logdir, local.free_port())
        processes.wait_ready([proc])
        return proc

    def ensure(self, service: str) -> processes.ServiceProcess:
        """A service the stack does not start for every test (the gateway): started on first use."""
        if service not in self.services:
            self.services[service] = self.start_replica(service)
        return self.services[service]

    def kill(self, service: str) -> None:
        """SIGKILL: no shutdown, no last commit, as a crash or an OOM kill would leave it."""
        proc = self.services[service].process
        proc.send_signal(signal.SIGKILL)
        proc.wait(20)

    def revive(self, service: str) -> processes.ServiceProcess:
        """A new process of a (killed) service on its port, in its consumer group, once it is ready."""
        new = processes.start(service, self.env(), self.logdir, self.services[service].port)
        self.services[service] = new  # later tests use the new process
        processes.wait_ready([new])
        return new

    def env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.settings.kafka_bootstrap_servers,
            "DATABASE_URL": self.settings.database_url,
            "LOG_LEVEL": "INFO",
            "CONSUMER_BATCH_TIMEOUT_MS": "50",
            # Tests run jobs through the API with a pinned as_of; the schedule stays out of their way
            # (test_the_jobs_run_by_themselves_on_schedule turns it on in a replica of its own).
            "JOBS_ENABLED": "false",
            # ... and some pin it later than now (a notice held till tomorrow, points burning in 11
            # days, 91 days away): a year ahead is allowed here (the default is 300 s).
            "JOBS_AS_OF_SKEW_SECONDS": str(366 * 86400),
            # Where the gateway finds the services whose checkout quote parts it composes (on free ports here).
            **{f"{name.upper()}_URL": self.services[name].url for name in QUOTE_PARTS if name in self.services},
            **self.extra_env,
        }


@contextmanager
def running_stack(state: Path, settings: Settings | None = None, env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Kafka and PostgreSQL (fresh ones in `state`, unless `settings` name existing servers), the
    migrations and topics, and the four services as their own processes on free ports (with `env` too)."""
    servers: local.Stack | None = None
    if settings is None:
        servers = local.Stack(state, kafka_port=local.free_port(pair=True), pg_port=local.free_port(), fast_disk=True)
        local.up(servers)
        settings = Settings(**{k.lower(): v for k, v in servers.env().items()})
    admin.migrate(settings)
    asyncio.run(admin.create_topics(settings))
    running = Stack(settings, {}, state / "logs", servers, dict(env or {}))
    started = [processes.start(name, running.env(), running.logdir, local.free_port()) for name in SERVICES]
    running.services = {p.name: p for p in started}
    try:
        processes.wait_ready(started)
        yield running
    finally:
        # A test may have replaced a service's process (the crash tests): stop whatever runs now too.
        processes.stop([*started, *running.services.values()])
        if servers is not None:
            local.down(servers)


def keep_or_remove(state: Path, request: pytest.FixtureRequest) -> None:
    """A failed run (or KEEP_TEST_STATE=1) keeps the service logs and data to look at."""
    if request.session.testsfailed or os.environ.get("KEEP_TEST_STATE"):
        print(f"\ntest stack kept in {state} (service logs in {state / 'logs'})")
    else:
        shutil.rmtree(state, ignore_errors=True)


def new_state_dir() -> Path:
    (ROOT / ".local").mkdir(exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="test-", dir=ROOT / ".local"))


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    external = os.environ.get("TEST_KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("TEST_DATABASE_URL")
    settings = Settings(kafka_bootstrap_servers=external[0], database_url=external[1]) if all(external) else None
    state = new_state_dir()
    try:
        with running_stack(state, settings) as running:
            yield running
    finally:
        keep_or_remove(state, request)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def kafka(stack: Stack) -> AsyncIterator[Kafka]:
    async with Kafka(stack.settings.kafka_bootstrap_servers) as k:
        yield k


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def db(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(stack.settings.database_url, min_size=1, max_size=4)
    assert pool is not None
    yield pool
    await pool.close()


@dataclass
class Chain:
    """A chain of its own for one test, with an API key and HTTP clients for the four services."""

    id: str
    key: str  # as `make key` makes it: read and write
    stack: Stack
    admin_key: str = ""  # the operator's: runs jobs

    def client(self, service: str, key: str | None = "default") -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.key if key == 'default' else key}"} if key else {}
        return httpx.AsyncClient(base_url=f"{self.stack.url(service)}/v1/chains/{self.id}", headers=headers, timeout=10)

    def admin(self, service: str) -> httpx.AsyncClient:
        """A client with the chain's admin key (`POST /jobs/{job}/run`)."""
        return self.client(service, key=self.admin_key)

    def event(self, **fields: Any) -> dict[str, Any]:
        """An envelope of this chain, with a fresh event_id, plus `fields`."""
        return {
            "event_id": f"e-{uuid.uuid4()}",
            "occurred_at": now_iso(),
            "chain_id": self.id,
            "location_id": "loc-1",
            **fields,
        }


async def new_chain(stack: Stack, db: asyncpg.Pool | None = None) -> Chain:
    """A chain of its own with an API key as `make key` makes it (read, write) and an admin key (jobs),
    made through `db`, or a connection of its own: the fault tests restart PostgreSQL under any pool
    they would keep."""
    chain_id = f"ch-{uuid.uuid4().hex[:10]}"

    async def keys(conn: asyncpg.Connection) -> tuple[str, str]:
        return (
            await auth.create_key(conn, chain_id, "test"),
            await auth.create_key(conn, chain_id, "test-admin", scopes=("admin",)),
        )

    if db is not None:
        async with db.acquire() as conn:
            key, admin_key = await keys(conn)
    else:
        conn = await asyncpg.connect(stack.settings.database_url)
        try:
            key, admin_key = await keys(conn)
        finally:
            await conn.close()
    return Chain(chain_id, key, stack, admin_key)


@pytest_asyncio.fixture(loop_scope="session")
async def chain(stack: Stack, db: asyncpg.Pool) -> Chain:
    return await new_chain(stack, db)


@pytest.fixture(scope="session")
def gateway(stack: Stack) -> str:
    """The gateway's base URL (its process started for the first test that needs it)."""
    return stack.ensure("gateway").url


def of_chain(chain: Chain, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    """Matches a topic's messages of this test's chain (and `fields`; `client_id` looks in `client`)."""

    def match(m: dict[str, Any]) -> bool:
        if m.get("chain_id") != chain.id:
            return False
        return all(
            (m.get("client") or {}).get("id") == v if k == "client_id" else m.get(k) == v for k, v in fields.items()
        )

    return match


async def publish(kafka: Kafka, topic: str, event: dict[str, Any], **kw: Any) -> None:
    """As the contract keys it: by client id, or by location where a message has no client."""
    key = (event.get("client") or {}).get("id") or event.get("location_id")
    await kafka.publish(topic, event, key=key, **kw)


def now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], *, timeout: float = 20, what: str = "condition"
) -> T:
    """Polls `probe` until `check` accepts its answer: effects of Kafka events are asynchronous."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if check(last):
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} not reached within {timeout}s; last: {last!r}")
