"""The FastAPI side every service shares: probes, metrics, the AsyncAPI document, and errors that
answer clearly (401/404/409/422 naming the field) instead of a 500."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from shared.errors import ApiError

log = structlog.get_logger("http")


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "<body>"


def create_http_app(
    title: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    readiness: Callable[[], Any],
    asyncapi: Callable[[], dict[str, Any]],
) -> FastAPI:
    app = FastAPI(title=title, version="1.0.0", lifespan=lifespan)
    probes = APIRouter(tags=["probes"])

    @probes.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @probes.get("/readyz")
    async def readyz() -> JSONResponse:
        checks = await readiness()
        ok = all(checks.values())
        return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks},
                            status_code=200 if ok else 503)

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
            {"error": "validation_failed", "message": "; ".join(f"{e['field']}: {e['message']}" for e in errors),
             "fields": errors, "detail": jsonable_encoder(exc.errors(), custom_encoder={Exception: str})},
            status_code=422,
        )

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        body: dict[str, Any] = {"error": exc.code, "message": exc.message}
        if exc.field:
            body["field"] = exc.field
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_http_error", error=repr(exc))
        return JSONResponse({"error": "internal_error", "message": "unexpected error, logged"}, status_code=500)

    @app.middleware("http")
    async def bind_request(request: Request, call_next: Callable[..., Any]) -> Any:
        chain = request.path_params.get("chain_id") if request.path_params else None
        with structlog.contextvars.bound_contextvars(path=request.url.path, chain_id=chain):
            return await call_next(request)

    return app


async def with_timeout(check: Any, seconds: float = 2.0) -> bool:
    try:
        return bool(await asyncio.wait_for(check, seconds))
    except Exception:
        return False
