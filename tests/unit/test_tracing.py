"""Tracing off (the default): no span, headers unchanged, log lines carry the ids of the record's traceparent;
the root sampler leaves a database statement outside any span untraced."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import time
from typing import Any

import structlog
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision
from opentelemetry.trace import SpanKind

from shared import tracing
from shared.http_context import RequestContext
from shared.logging import TRACEPARENT_KEY, configure_logging

TRACE = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_off_by_default_no_span_and_the_headers_go_out_as_written() -> None:
    assert not tracing.enabled()
    assert tracing.consumer_span("visit.paid", "g", 0, 1, TRACE) is None
    headers = [("traceparent", TRACE), ("x-a", b"1")]
    assert tracing.producer_span("membership.deducted", headers) == (None, headers)
    assert tracing.current_traceparent() is None


def test_a_traceparent_names_its_trace_and_span_or_nothing() -> None:
    assert tracing.ids(TRACE) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert tracing.ids(TRACE.decode()) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    for bad in (b"00-1", b"\xff" * 55, TRACE.upper(), None, 7, b"01" + TRACE[2:]):
        assert tracing.ids(bad) is None
    assert tracing.parent(b"garbage") is None and tracing.parent(None) is None
    assert tracing.parent(TRACE) is not None


def test_a_log_line_carries_the_ids_of_the_record_at_hand() -> None:
    out = io.StringIO()
    configure_logging("test", stream=out)
    log = structlog.get_logger("t")
    with structlog.contextvars.bound_contextvars(**{TRACEPARENT_KEY: TRACE}):
        log.info("inside")
    with structlog.contextvars.bound_contextvars(**{TRACEPARENT_KEY: b"not one"}):
        log.info("malformed")
    log.info("outside")
    inside, malformed, outside = (json.loads(line) for line in out.getvalue().splitlines())
    assert (inside["trace_id"], inside["span_id"]) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert TRACEPARENT_KEY not in inside and "trace_id" not in malformed and "trace_id" not in outside


def test_a_statement_outside_any_span_is_not_a_trace_of_its_own() -> None:
    sampler = tracing._NoStrayStatements(ALWAYS_ON)
    stray = sampler.should_sample(None, 1, "SELECT", SpanKind.CLIENT, {"db.system": "postgresql"})
    assert stray.decision == Decision.DROP
    for kind, attributes in ((SpanKind.PRODUCER, {"messaging.system": "kafka"}), (SpanKind.SERVER, {})):
        assert sampler.should_sample(None, 1, "x", kind, attributes).decision == Decision.RECORD_AND_SAMPLE


STOP_WITH_COLLECTOR_AWAY = """
import socket, sys, time
from shared import tracing
from shared.http_context import RequestContext
from shared.settings import Settings
away = socket.socket()
away.bind(("127.0.0.1", 0))
away.listen()  # takes the connection, never answers: an export waits for its timeout
port = away.getsockname()[1]
assert tracing.setup("test", Settings(otel_exporter_otlp_endpoint=f"http://127.0.0.1:{port}"))
with tracing.span("work"):
    pass
started = time.monotonic()
tracing.shutdown(1.0)
print(round(time.monotonic() - started, 2))
"""


def test_a_stop_waits_for_a_collector_that_does_not_answer_a_bounded_time() -> None:
    started = time.monotonic()
    ran = subprocess.run(
        [sys.executable, "-c", STOP_WITH_COLLECTOR_AWAY], capture_output=True, text=True, timeout=60, check=True
    )
    assert float(ran.stdout.strip()) < 2.5, ran.stdout
    assert time.monotonic() - started < 8, "the process exits without waiting for the export"


def test_an_http_request_s_lines_carry_the_ids_of_its_traceparent() -> None:
    out = io.StringIO()
    configure_logging("test", stream=out)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        structlog.get_logger("t").info("handling")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def call(headers: list[tuple[bytes, bytes]]) -> None:
        scope = {"type": "http", "path": "/v1/chains/ch-1/x", "headers": headers, "query_string": b""}

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: dict[str, Any]) -> None:
            pass

        await RequestContext(app)(scope, receive, send)

    asyncio.run(call([(b"traceparent", TRACE)]))
    asyncio.run(call([]))
    traced, bare = (json.loads(line) for line in out.getvalue().splitlines())
    assert (traced["trace_id"], traced["span_id"]) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert "trace_id" not in bare
