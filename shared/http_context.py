"""The context every log line of an HTTP request carries, and what it keeps out of them.

`RequestContext` (ASGI middleware, the outermost of the app's own) binds the request's path and chain, and
its secrets (shared/logging.py, `Secrets`): the bearer key, the desk user's name (X-User), the personal
fields of its query and of its JSON body (phone, name, ...), found only if a line is written. An error no
handler answered is logged here, inside that context, and answered 500 (instead of by Starlette's last
resort, outside it).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import structlog
from fastapi.responses import JSONResponse

from shared.logging import SECRETS_KEY, TRACEPARENT_KEY, Secrets

log = structlog.get_logger("http")
_CHAIN = re.compile(r"^/v1/chains/([^/]+)")


class RequestContext:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body: list[bytes] = []  # the chunks the app read (BodyLimit bounds them): their JSON, if a line needs it
        started = False

        async def keeping() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                body.append(message.get("body", b""))
            return message

        async def tracking(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or ()}
        bearer = headers.get("authorization", "").partition(" ")[2].strip()
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        secrets = Secrets(bearer, {"x-user": headers.get("x-user")}, query, lambda: b"".join(body))
        chain = _CHAIN.match(scope.get("path", ""))
        # Tracing off, the lines carry the ids of the caller's `traceparent` (on: the request's span's).
        traced = {TRACEPARENT_KEY: headers["traceparent"]} if "traceparent" in headers else {}
        with structlog.contextvars.bound_contextvars(
            path=scope.get("path"), chain_id=chain and chain[1], **{SECRETS_KEY: secrets}, **traced
        ):
            try:
                await self.app(scope, keeping, tracking)
            except Exception as exc:
                log.exception("unhandled_http_error", error=type(exc).__name__)
                if started:
                    raise
                await JSONResponse({"error": "internal_error", "message": "unexpected error, logged"}, status_code=500)(
                    scope, receive, send
                )
