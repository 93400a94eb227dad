"""PostgreSQL: one asyncpg pool per service, bound to the service's own schema, and schema migrations.

Migrations are plain SQL files applied by yoyo-migrations (with its lock, so two replicas starting at
once don't race). Every service schema gets the shared messaging tables (inbox, outbox) first, then
its own files."""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog

from shared import metrics

MIGRATIONS = Path(__file__).parent / "migrations"
log = structlog.get_logger("db")

# The database cannot be reached right now (down, restarting, out of connections, the network): the
# same work may well succeed later. Consumers retry their batch; the HTTP API answers 503.
UNREACHABLE: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    # The client's side of a connection broken mid-statement ("cannot switch to state ..."): a new
    # connection will do.
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
)


def columns(rows: Iterable[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows as one list per column: what `unnest($1, $2, ...)` zips back into rows (a batch's keys or
    values in one statement)."""
    out: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for column, value in zip(out, row, strict=True):
            column.append(value)
    return out


async def hold_keys(conn: asyncpg.Connection, namespace: str, keys: Collection[tuple[str, ...]]) -> None:
    """Transaction advisory locks on `keys` (each `namespace:k1/k2/...`, hashed to a bigint), taken in hash
    order (two transactions holding some of the same keys never wait on each other in a cycle) by a
    statement of its own: what the transaction reads after it sees what the holders before it committed."""
    if not keys:
        return
    width = len(next(iter(keys)))
    names = ", ".join(f"${i + 1}::text[]" for i in range(width))
    joined = " || '/' || ".join(f"k.c{i}" for i in range(width))
    await conn.execute(
        f"""SELECT pg_advisory_xact_lock(h) FROM (
                SELECT DISTINCT hashtextextended('{namespace}:' || {joined}, 0) AS h
                FROM unnest({names}) AS k({", ".join(f"c{i}" for i in range(width))}) ORDER BY 1) AS held""",
        *columns(set(keys), width),
    )


def as_uuid(value: str) -> uuid.UUID | None:
    """An id from a path or a message that should be a UUID: None (so: no such row, a 404) when it is
    not, instead of a database error."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@asynccontextmanager
async def terminated_after(conn: asyncpg.Connection, seconds: float) -> AsyncIterator[None]:
    """Terminates `conn` if the block is still running after `seconds`, which fails whatever waits on
    it. For work that must never hang on a connection wedged by a server restart: asyncpg can wait
    forever on one, its statement timeout and task cancellation notwithstanding."""

    def overdue() -> None:
        log.error("connection_terminated_overdue", seconds=seconds)
        conn.terminate()

    watchdog = asyncio.get_running_loop().call_later(seconds, overdue)
    try:
        yield
    finally:
        watchdog.cancel()


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python objects; Decimal stays Decimal inside (money never becomes a float).
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda v: json.dumps(v, default=str),
        decoder=json.loads,
        format="text",
    )


@functools.cache
def counted(service: str) -> type[asyncpg.Connection]:
    """A connection class that counts its statements in perkstream_sql_statements_total{service}: the
    figure `make bench` divides by the visits (round trips are what the hot path costs)."""
    counter = metrics.SQL_STATEMENTS.labels(service)

    class Counted(asyncpg.Connection):
        async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
            if not args:  # with arguments it goes through _execute, counted there
                counter.inc()
            return await super().execute(query, *args, timeout=timeout)

        async def _execute(self, *args: Any, **kwargs: Any) -> Any:
            counter.inc()
            return await super()._execute(*args, **kwargs)

        async def _executemany(self, *args: Any, **kwargs: Any) -> Any:
            counter.inc()
            return await super()._executemany(*args, **kwargs)

        async def copy_records_to_table(self, *args: Any, **kwargs: Any) -> Any:
            counter.inc()
            return await super().copy_records_to_table(*args, **kwargs)

    return Counted


class PoolBusy(TimeoutError):
    """Every connection of a pool stayed taken for its whole acquire timeout: a passing state (503)."""


class _Acquire:
    """A pool's acquire that says PoolBusy when it timed out (not a statement's timeout)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __aenter__(self) -> asyncpg.Connection:
        try:
            return await self.inner.__aenter__()
        except TimeoutError as exc:
            raise PoolBusy("no database connection came free in time") from exc

    async def __aexit__(self, *exc: object) -> None:
        await self.inner.__aexit__(*exc)

    def __await__(self) -> Any:
        return self.__aenter__().__await__()


class BoundedPool(asyncpg.Pool):
    """An asyncpg pool whose acquire waits `acquire_timeout` seconds at most, unless told otherwise; also
    for its own fetch/fetchval/execute, which acquire through it."""

    acquire_timeout: float | None = None

    def acquire(self, *, timeout: float | None = None) -> Any:
        return _Acquire(super().acquire(timeout=self.acquire_timeout if timeout is None else timeout))

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection inside a read-only REPEATABLE READ transaction: every statement of a read sees
        the same moment (a card's balance and its transactions, a page and its total), never half of a
        batch that commits between two of them."""
        async with self.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            yield conn


async def _keep_session(conn: asyncpg.Connection) -> None:
    """A released connection's reset without the session reset query (asyncpg still rolls back a transaction
    left open): for a pool whose users leave no session state behind."""


async def create_pool(
    database_url: str,
    schema: str,
    size: int = 10,
    *,
    role: str = "",
    acquire_timeout: float | None = None,
    stateless: bool = False,
) -> asyncpg.Pool:
    """A pool of `size` connections to `schema`; `role` names it to PostgreSQL (application_name
    perkstream-<schema>[-<role>], as pg_stat_activity shows it); `acquire_timeout`: how long an acquire
    waits for a free connection before PoolBusy (None: as long as it takes). `stateless`: its users never
    leave session state on a connection (no LISTEN, no session advisory lock, no SET, no cursor outside a
    transaction: tests/unit/test_session_state.py holds the code to it), so a connection given back is
    not sent asyncpg's reset query (unlock all advisory locks, close all cursors, unlisten, reset all): a round trip
    saved on every release, two on most HTTP requests (the key's check, then the work)."""
    pool = BoundedPool(
        database_url,
        min_size=1,
        max_size=size,
        init=_init_connection,
        # A connection once opened is kept (the pool's size bounds them): asyncpg's defaults replaced one after
        # 50,000 queries and closed one idle for 5 minutes, and the request that then opened a new one paid
        # its start (the backend's fork, the type introspection, every statement prepared again on a cold
        # catalog cache: 20-26 ms statements in the bench's PostgreSQL log, the quote's p99).
        max_queries=100_000_000,
        max_inactive_connection_lifetime=0,
        loop=None,
        connection_class=counted(schema),
        record_class=asyncpg.Record,
        server_settings={
            "search_path": schema,
            "timezone": "UTC",
            "application_name": f"perkstream-{schema}" + (f"-{role}" if role else ""),
        },
        command_timeout=30,
        reset=_keep_session if stateless else None,
    )
    pool.acquire_timeout = acquire_timeout
    await pool
    return pool


def _yoyo_url(database_url: str, schema: str) -> str:
    parts = urlsplit(database_url)
    scheme = "postgresql+psycopg"
    query = f"{parts.query}&schema={schema}" if parts.query else f"schema={schema}"
    return urlunsplit((scheme, parts.netloc, parts.path, query, parts.fragment))


def migrate(database_url: str, schema: str, *sources: Path) -> int:
    """Applies the pending migrations of `sources` to `schema`; answers how many it applied."""
    import psycopg
    from yoyo import get_backend, read_migrations

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    backend = get_backend(_yoyo_url(database_url, schema))
    migrations = read_migrations(*(str(s) for s in sources))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return len(pending)


def migrate_service(database_url: str, schema: str, service_migrations: Path) -> int:
    return migrate(database_url, schema, MIGRATIONS / "messaging", service_migrations)


def migrate_auth(database_url: str) -> int:
    return migrate(database_url, "auth", MIGRATIONS / "auth")
