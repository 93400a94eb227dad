"""The FastAPI side every service shares: probes, metrics, the AsyncAPI document, and errors that
answer clearly (401/404/409/422 naming the field) instead of a 500."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from http import HTTPStatus
from typing import Any, Literal

import asyncpg
import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.db import UNREACHABLE, PoolBusy
from shared.errors import ApiError
from shared.events.base import UNSTORABLE, unstorable
from shared.http_context import RequestContext
from shared.http_metrics import HttpMetrics

log = structlog.get_logger("http")

# Every path parameter is an id, a code, a number or a type's name (docs/contract.md, "Bounds").
MAX_PATH_PARAM = 128
# A body is refused (413) past this, before it is read whole: twice the largest a topic takes, and far
# more than any body within the bounds of its fields (tests/unit/test_api_bounds.py measures them).
MAX_BODY_BYTES = 4 * 1024 * 1024


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, bool]


class Body(BaseModel):
    """The base of every HTTP request body: unknown fields ignored (the contract's forward
    compatibility), and a field with an alias (`from`) accepted by its Python name too."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "<body>"


def _bad_paths(node: Any, path: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    if isinstance(node, str):
        return [path] if unstorable(node) else []
    if isinstance(node, dict):
        return [
            p for k, v in node.items() for p in ([(*path, k)] if unstorable(str(k)) else []) + _bad_paths(v, (*path, k))
        ]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _bad_paths(v, (*path, i))]
    return []


async def refuse_unstorable_text(request: Request) -> None:
    """A text the database cannot store answers 422 naming the field, not a 500 from the driver."""
    bad = [("path", k) for k, v in request.path_params.items() if unstorable(str(v))]
    bad += [("query", k) for k, v in request.query_params.multi_items() if unstorable(v) or unstorable(k)]
    if request.method in ("POST", "PUT", "PATCH"):
        raw = await request.body()  # cached: FastAPI reads the same request's body afterwards
        if b"\\u0000" in raw or b"\\ud" in raw.lower() or b"\x00" in raw:
            try:
                bad += [("body", *p) for p in _bad_paths(json.loads(raw), ())]
            except (ValueError, RecursionError):
                pass  # not JSON, or nested deeper than Python parses: FastAPI answers that one itself
    if bad:
        raise RequestValidationError([{"loc": loc, "msg": UNSTORABLE, "type": "string_unstorable"} for loc in bad])


async def refuse_long_path_params(request: Request) -> None:
    """A path parameter is stored or looked up as an id: longer than any id, it answers 422 naming it."""
    long = [k for k, v in request.path_params.items() if len(str(v)) > MAX_PATH_PARAM]
    if long:
        raise RequestValidationError(
            [
                {
                    "loc": ("path", k),
                    "msg": f"String should have at most {MAX_PATH_PARAM} characters",
                    "type": "string_too_long",
                }
                for k in long
            ]
        )


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes answers 413 (by its Content-Length, or once
    that many bytes arrived), so no service reads, parses or holds a body larger than any valid one."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    def refusal(self) -> str:
        return f"the request body is larger than {self.limit} bytes"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            response = JSONResponse({"error": _reason(413), "message": self.refusal()}, status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Any:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:  # a body sent in chunks, without its length: cut where it passes
                raise StarletteHTTPException(413, self.refusal())
            return message

        await self.app(scope, limited, send)


def _reason(status: int) -> str:
    # 413's phrase changed with Python 3.13 ("Content Too Large"): the reason a client reads stays put.
    return "payload_too_large" if status == 413 else HTTPStatus(status).phrase.lower().replace(" ", "_")


def create_http_app(
    title: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    readiness: Callable[[], Any],
    asyncapi: Callable[[], dict[str, Any]],
    service: str = "",
) -> FastAPI:
    app = FastAPI(
        title=title,
        version="1.0.0",
        lifespan=lifespan,
        dependencies=[Depends(refuse_long_path_params), Depends(refuse_unstorable_text)],
    )
    app.add_middleware(BodyLimit)
    app.add_middleware(RequestContext)  # the outermost but one, so every line of a request has its context
    app.add_middleware(HttpMetrics, service=service)  # added last: the outermost, it counts every answer
    probes = APIRouter(tags=["probes"])

    @probes.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @probes.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
    async def readyz() -> JSONResponse:
        checks = await readiness()
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503
        )

    @probes.get("/metrics", response_class=Response)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @probes.get("/asyncapi", summary="AsyncAPI 3.0 document of this service's topics")
    async def asyncapi_document() -> dict[str, Any]:
        return asyncapi()

    app.include_router(probes)

    @app.exception_handler(RequestValidationError)
    @app.exception_handler(ValidationError)  # a body valid alone but not once merged (a PATCH)
    async def invalid(_: Request, exc: RequestValidationError | ValidationError) -> JSONResponse:
        errors = [{"field": field_path(e["loc"]), "message": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse(
            {
                "error": "validation_failed",
                "message": "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                "fields": errors,
                "detail": jsonable_encoder(exc.errors(), custom_encoder={Exception: str}),
            },
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # 401 and 404 from the API key check, 400 for a body that is not UTF-8, 404/405 off the routes:
        # the same {"error", "message"} as every other refusal.
        return JSONResponse(
            {"error": _reason(exc.status_code), "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        body: dict[str, Any] = {"error": exc.code, "message": exc.message}
        if exc.field:
            body["field"] = exc.field
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(asyncpg.DataError)
    async def refused_by_database(_: Request, exc: asyncpg.DataError) -> JSONResponse:
        # A value the database refuses that validation let through: the client's to fix, not a 500.
        # Its message may hold the value (a phone, a name): the client gets it back, the log does not.
        log.warning(
            "data_error",
            error=type(exc).__name__,
            sqlstate=exc.sqlstate,
            column=getattr(exc, "column_name", None),
            constraint=getattr(exc, "constraint_name", None),
        )
        return JSONResponse({"error": "invalid_value", "message": str(exc)}, status_code=422)

    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        # The database is down or restarting: a passing state the client should retry, not a bug (500).
        log.warning("database_unreachable", error=repr(exc))
        return JSONResponse(
            {"error": "unavailable", "message": "the database cannot be reached; retry shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    for exc_class in UNREACHABLE:
        app.add_exception_handler(exc_class, unavailable)

    @app.exception_handler(PoolBusy)
    async def busy(_: Request, exc: PoolBusy) -> JSONResponse:
        # Every connection HTTP may take is taken (the consumers' are apart): retry in a moment.
        log.warning("database_busy", error=str(exc))
        return JSONResponse(
            {"error": "unavailable", "message": "every database connection is busy; retry shortly"},
            status_code=503,
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_http_error", error=repr(exc))
        return JSONResponse({"error": "internal_error", "message": "unexpected error, logged"}, status_code=500)

    return app


async def with_timeout(check: Any, seconds: float = 2.0) -> bool:
    try:
        return bool(await asyncio.wait_for(check, seconds))
    except Exception:
        return False
