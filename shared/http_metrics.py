"""HTTP requests as metrics: `perkstream_http_requests_total` and `perkstream_http_request_seconds`, by
method, route TEMPLATE and status code.

The route is the template the request matched (`/v1/chains/{chain_id}/members/{client_id}`), never its
raw path: no id, chain or phone ever becomes a label, so the number of series stays bounded by the
routes. A request no route matched is `<unmatched>`, with any method name a client sent folded into
`OTHER`. A small ASGI middleware rather than prometheus-fastapi-instrumentator: it carries the `service`
label every other metric has, and only the two families an operator alerts on.
"""

from __future__ import annotations

import time
from typing import Any

from shared.metrics import HTTP_REQUESTS, HTTP_SECONDS

UNMATCHED = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class HttpMetrics:
    """ASGI middleware, the outermost: it counts every answer, those of the other middlewares too."""

    def __init__(self, app: Any, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # no response started: the server answers 500

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = route_of(scope)
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_SECONDS.labels(self.service, method, route).observe(time.perf_counter() - started)


def route_of(scope: Any) -> str:
    """The template of the route the router matched, as it wrote it into the scope. FastAPI (0.16x) keeps
    an included router's route unprefixed in `scope["route"]` and the whole template in its effective
    route context; Starlette's own routes carry theirs in `scope["route"]`. Either way a template, never
    a raw path (tests/unit/test_metrics_rules.py checks the prefix is there)."""
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    return getattr(context, "path_format", None) or getattr(scope.get("route"), "path", None) or UNMATCHED
