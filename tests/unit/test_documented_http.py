"""The contract's 503 (docs/contract.md, HTTP API): "The database unreachable, or every database
connection HTTP may take busy for 5 s: 503 `unavailable` with `Retry-After` (seconds)". Each way a
request meets an absent database, as asyncpg and the OS report it, answers so, on a service's own app.
(The busy pool is also proven on a real stack: tests/integration/test_trust_http.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace

import asyncpg
import httpx
import pytest
from fastapi import APIRouter, FastAPI

from shared import http, http_context
from shared.db import PoolBusy
from shared.errors import ERROR_RESPONSES
from shared.http import create_http_app

# What a request may meet when PostgreSQL is down, restarting or cut off (shared.db.UNREACHABLE), and
# the HTTP pool with no connection free (PoolBusy).
ABSENT: list[BaseException] = [
    ConnectionRefusedError(111, "Connection refused"),  # the server is down
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation is in progress"),
    TimeoutError(),  # connecting took too long
    PoolBusy("no database connection came free in time"),
]


def _app(raised: BaseException) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield

    app = create_http_app("test", lifespan, lambda: {}, lambda: {})
    router = APIRouter()

    @router.get("/memberships/{code}")
    async def read(code: str) -> None:
        raise raised

    app.include_router(router, prefix="/v1/chains/{chain_id}", responses=ERROR_RESPONSES)
    return app


def _get(app: FastAPI) -> httpx.Response:
    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.get("/v1/chains/ch-1/memberships/4567")

    return asyncio.run(get())


@pytest.mark.parametrize("raised", ABSENT, ids=lambda e: type(e).__name__)
def test_a_database_out_of_reach_answers_503_unavailable_with_retry_after_in_seconds(raised: BaseException) -> None:
    r = _get(_app(raised))
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "unavailable" and r.json()["message"]
    assert "retry-after" in r.headers, dict(r.headers)
    assert r.headers["retry-after"].isdigit() and int(r.headers["retry-after"]) > 0, r.headers["retry-after"]


def test_any_other_failure_is_a_500_without_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 503 is for what passes: a bug is not one, and a client retrying it would retry for ever."""
    logged: list[str] = []  # (structlog's console renders a traceback in seconds when logging is not set up)
    for module in (http, http_context):
        monkeypatch.setattr(module, "log", SimpleNamespace(exception=lambda event, **_: logged.append(event)))
    r = _get(_app(RuntimeError("a bug")))
    assert "unhandled_http_error" in logged
    assert r.status_code == 500 and r.json()["error"] == "internal_error"
    assert "retry-after" not in r.headers
