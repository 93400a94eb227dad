"""OpenTelemetry tracing: spans for HTTP requests, consumed records, database work and publishing, exported
over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT names a collector (README, "Tracing").

- An HTTP request: a SERVER span (FastAPI's instrumentation; not the probes nor /metrics), the child of the
  caller's `traceparent`; its path, never its query (which may hold a phone).
- A consumed record: a CONSUMER span `process <topic>` per record, the child of its `traceparent` header
  (the span that published it), current while its handler runs (while a batch handler runs, its first
  record's: as the log context is, shared/consumer/apply.py `bound`).
- A job's run over a chain: an INTERNAL span `job <name>` (under the request's, run over HTTP).
- Database work: a CLIENT span per statement (asyncpg's instrumentation; its SQL, never its values) inside a
  request's, a record's or a job's span; a statement outside any (the relay's lease, the inbox pruning)
  makes none.
- Publishing: a PRODUCER span `send <topic>` per outbox row the relay sends, the child of the span the row
  was written under; the row goes out with that span's `traceparent`, so the next service's record span is
  its child. A row written under a request's or a record's span carries that span's context (shared/uow.py),
  a notice held for its send window too (its stored `traceparent`).

Off (no endpoint; the default): no provider is set up, no span is made and nothing is instrumented; a
`traceparent` is carried on as it came, and log lines show it (its trace id and the span id it names).
Sampling, when on: the caller's decision (a `traceparent` whose sampled flag is 0 is not recorded); a trace
that starts here is kept with the probability OTEL_TRACES_SAMPLER_ARG.
"""

from __future__ import annotations

import re
import threading
from asyncio import Future
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider

    from shared.settings import Settings

TRACEPARENT = "traceparent"
_W3C = re.compile(rb"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_PROBES = "healthz,readyz,metrics"

_tracer: trace.Tracer | None = None  # set when tracing is on (setup)
_provider: TracerProvider | None = None


def enabled() -> bool:
    return _tracer is not None


def setup(service: str, settings: Settings) -> bool:
    """Once per process, before it serves: the tracer provider and the exporter, when an endpoint is set."""
    global _tracer, _provider
    endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/")
    if not endpoint or _tracer is not None:
        return _tracer is not None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    _provider = TracerProvider(
        resource=Resource.create({"service.name": f"perkstream-{service}"}),
        sampler=ParentBased(_NoStrayStatements(TraceIdRatioBased(settings.otel_traces_sampler_arg))),
        shutdown_on_exit=False,  # `shutdown`, bounded, at the service's stop
    )
    # Exported in batches from a thread of its own: a collector away costs dropped spans, never a wait.
    _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    trace.set_tracer_provider(_provider)
    AsyncPGInstrumentor().instrument(tracer_provider=_provider)
    _tracer = _provider.get_tracer("perkstream")
    return True


def instrument_http(app: FastAPI) -> None:
    """HTTP request spans (when tracing is on); the probes and /metrics make none."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_provider,
        excluded_urls=_PROBES,
        exclude_spans=["receive", "send"],
        server_request_hook=_without_query,
    )


def _without_query(span: Span, scope: dict[str, Any]) -> None:
    """A request's span names its path, never its query (a phone searched for: `?phone=...`)."""
    if span.is_recording() and scope.get("query_string"):
        path = scope.get("path", "")
        host, port = scope.get("server") or ("", None)
        span.set_attribute("http.target", path)
        span.set_attribute("http.url", f"{scope.get('scheme', 'http')}://{host}{f':{port}' if port else ''}{path}")


def shutdown(seconds: float = 2.0) -> None:
    """Exports what is left (a stopping process), for `seconds` at most: a collector away never holds up a
    stop (the SDK's own would wait 30 s)."""
    if _provider is not None:
        flushing = threading.Thread(target=_provider.shutdown, name="otel-shutdown", daemon=True)
        flushing.start()
        flushing.join(seconds)


class _NoStrayStatements(Sampler):
    """The root sampler: a database statement outside any span (the relay's lease renewed every second, the
    inbox pruning) is not a trace of its own; any other root span is sampled by `ratio`."""

    def __init__(self, ratio: Sampler) -> None:
        self.ratio = ratio

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if kind == SpanKind.CLIENT and attributes and ("db.system" in attributes or "db.system.name" in attributes):
            return SamplingResult(Decision.DROP)
        return self.ratio.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"NoStrayStatements{{{self.ratio.get_description()}}}"


# --- context carried in `traceparent` ------------------------------------------------------------------


def traceparent_of(span: Span) -> bytes | None:
    """The W3C `traceparent` naming `span` as the parent."""
    c = span.get_span_context()
    if not c.is_valid:
        return None
    return f"00-{c.trace_id:032x}-{c.span_id:016x}-{int(c.trace_flags):02x}".encode()


def current_traceparent() -> bytes | None:
    """The current span's `traceparent` (None when tracing is off or no span is current)."""
    return traceparent_of(trace.get_current_span()) if _tracer is not None else None


def parent(traceparent: bytes | None) -> Context | None:
    """The context a `traceparent` header names (None: absent or malformed, a span starts a new trace)."""
    if not traceparent:
        return None
    try:
        header = traceparent.decode("ascii")
    except (UnicodeDecodeError, AttributeError):
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    ctx = TraceContextTextMapPropagator().extract({TRACEPARENT: header})
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


def ids(traceparent: Any) -> tuple[str, str] | None:
    """The trace id and span id a `traceparent` names (for a log line while tracing is off)."""
    raw = traceparent.encode() if isinstance(traceparent, str) else traceparent
    m = _W3C.match(raw) if isinstance(raw, bytes) and len(raw) == 55 else None
    return (m[1].decode(), m[2].decode()) if m else None


# --- spans ---------------------------------------------------------------------------------------------


def consumer_span(topic: str, group: str, partition: int, offset: int, traceparent: bytes | None) -> Span | None:
    """A consumed record's span (not current: `current` makes it so), or None when tracing is off."""
    if _tracer is None:
        return None
    return _tracer.start_span(
        f"process {topic}",
        context=parent(traceparent),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": group,
            "messaging.destination.partition.id": str(partition),
            "messaging.kafka.offset": offset,
        },
    )


def end(spans: Sequence[Span | None], error: BaseException | None = None) -> None:
    for span in spans:
        if span is None:
            continue
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end()


@contextmanager
def current(span: Span | None) -> Iterator[None]:
    """`span` as the current one within the block (nothing when None)."""
    if span is None:
        yield
        return
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        yield
    finally:
        otel_context.detach(token)


@contextmanager
def span(name: str, attributes: dict[str, str] | None = None) -> Iterator[None]:
    """An INTERNAL span, current within the block (a job's run over a chain); nothing when tracing is off."""
    if _tracer is None:
        yield
        return
    with _tracer.start_as_current_span(name, attributes=attributes):
        yield


def producer_span(topic: str, headers: list[tuple[str, bytes]]) -> tuple[Span | None, list[tuple[str, bytes]]]:
    """An outbox row's publishing span, the child of the span the row was written under (its `traceparent`),
    and the row's headers carrying the new span instead. Unchanged when tracing is off."""
    if _tracer is None:
        return None, headers
    written = next((v for k, v in headers if k == TRACEPARENT), None)
    span = _tracer.start_span(
        f"send {topic}",
        context=parent(written),
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": topic,
        },
    )
    carried = traceparent_of(span)
    if carried is None:
        return span, headers
    return span, [*(h for h in headers if h[0] != TRACEPARENT), (TRACEPARENT, carried)]


def end_sent(span: Span, sent: Future[Any]) -> None:
    """Ends a publishing span once Kafka answered (where the record went, or why it did not)."""
    if sent.cancelled():
        span.set_status(Status(StatusCode.ERROR, "cancelled"))
    elif (error := sent.exception()) is not None:
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    else:
        where = sent.result()
        span.set_attribute("messaging.destination.partition.id", str(getattr(where, "partition", "")))
        span.set_attribute("messaging.kafka.offset", getattr(where, "offset", -1))
    span.end()
