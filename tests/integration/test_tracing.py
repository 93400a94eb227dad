"""Tracing (shared/tracing.py): one visit's spans, across the gateway and the services, share one trace; each
consumed record's span is the child of the span that published it; the notice on notification.sms carries the
trace on; log lines carry trace and span ids.

The services export to an OTLP/HTTP receiver that this module runs (`Sink`: it stands in for a collector,
decoding what the exporters POST to /v1/traces). They run in a stack of their own, with the exporter on: the
suite's shared stack runs with tracing off, the default, whose `traceparent` is carried on as it came (the
other tests check that), and replicas with tracing on in the shared stack's consumer groups would share the
partitions with untraced ones, so which replica handled a record would be luck."""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from deploy import local
from deploy.kafka_io import Kafka
from shared import auth, topics
from tests.integration.conftest import (
    Chain,
    Stack,
    eventually,
    keep_or_remove,
    new_chain,
    new_state_dir,
    now_iso,
    of_chain,
)
from tests.integration.conftest import running_stack as start_stack
from tests.integration.helpers import ANNA, create_type, membership_eventually, paid_visit, sell

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TRACE_ID = uuid.uuid4().hex
CALLER_SPAN = "b7ad6b7169203331"


class Sink:
    """An OTLP/HTTP trace receiver on a free port: every span POSTed to /v1/traces, with its service."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                sink.add(request)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", local.free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, request: ExportTraceServiceRequest) -> None:
        found = []
        for resource in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource.resource.attributes}.get("service.name")
            for scope in resource.scope_spans:
                for s in scope.spans:
                    found.append(
                        {
                            "service": service,
                            "name": s.name,
                            "kind": s.kind,
                            "trace_id": s.trace_id.hex(),
                            "span_id": s.span_id.hex(),
                            "parent_span_id": s.parent_span_id.hex(),
                            "attributes": {a.key: _value(a.value) for a in s.attributes},
                        }
                    )
        with self.lock:
            self.spans += found

    def of_trace(self, trace_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [s for s in self.spans if s["trace_id"] == trace_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _value(v: Any) -> Any:
    return getattr(v, v.WhichOneof("value")) if v.WhichOneof("value") else None


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    s = Sink()
    yield s
    s.close()


@pytest.fixture(scope="module")
def traced(sink: Sink, request: pytest.FixtureRequest) -> Iterator[Stack]:
    """A stack of its own whose services (and gateway) export their spans to `sink`, batched every 100 ms."""
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    state = new_state_dir()
    try:
        with start_stack(state, env=env) as running:
            running.ensure("gateway")
            yield running
    finally:
        keep_or_remove(state, request)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def kafka_of(traced: Stack) -> AsyncIterator[Kafka]:
    async with Kafka(traced.settings.kafka_bootstrap_servers) as k:
        yield k


async def spans_of(sink: Sink, trace_id: str, check: Any, what: str) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]]:
        return sink.of_trace(trace_id)

    return await eventually(probe, check, timeout=30, what=what)


def trace_of(header: str) -> str:
    return header.split("-")[1]


def span_of(message: dict[str, Any]) -> str:
    """The span id a message's `traceparent` names (its parent, for whoever consumes it)."""
    return str(message["_headers"]["traceparent"].split("-")[2])


async def test_one_visit_is_one_trace_across_the_gateway_and_the_services(
    traced: Stack, kafka_of: Kafka, sink: Sink
) -> None:
    chain = await new_chain(traced)
    type_id = (await create_type(chain))["id"]
    await sell(chain, kafka_of, type_id, "7001")
    visit = paid_visit(chain, "7001")
    caller = f"00-{TRACE_ID}-{CALLER_SPAN}-01"
    async with await _events_client(traced, chain) as http:
        r = await http.post("/events/visit.paid", json=visit, headers={"traceparent": caller})
        assert r.status_code == 202, r.text
    await membership_eventually(chain, "7001", lambda m: m["visits_left"] == 9)

    # The notice the deduction caused carries the visit's trace on to the SMS aggregator.
    [sms] = await kafka_of.read(topics.NOTIFICATION_SMS, of_chain(chain), timeout=30)
    assert trace_of(sms["_headers"]["traceparent"]) == TRACE_ID
    [deducted] = await kafka_of.read(topics.MEMBERSHIP_DEDUCTED, of_chain(chain, visit_id=visit["visit_id"]))
    assert trace_of(deducted["_headers"]["traceparent"]) == TRACE_ID

    def complete(spans: list[dict[str, Any]]) -> bool:
        names = {(s["service"], s["name"]) for s in spans}
        wanted = {
            ("perkstream-gateway", "send visit.paid"),
            ("perkstream-memberships", "process visit.paid"),
            ("perkstream-loyalty", "process visit.paid"),
            ("perkstream-inventory", "process visit.paid"),
            ("perkstream-memberships", "send membership.deducted"),
            ("perkstream-notifications", "process membership.deducted"),
            ("perkstream-notifications", "send notification.sms"),
        }
        return wanted <= names

    spans = await spans_of(sink, TRACE_ID, complete, "the visit's spans")
    services = {s["service"] for s in spans}
    assert {f"perkstream-{name}" for name in ("gateway", "memberships", "loyalty", "inventory", "notifications")} <= (
        services
    )
    by_id = {s["span_id"]: s for s in spans}
    # The HTTP request's span is the caller's child; the gateway's publishing, the request's.
    [request] = [s for s in spans if s["service"] == "perkstream-gateway" and s["kind"] == 2]  # SERVER
    assert request["parent_span_id"] == CALLER_SPAN
    [published] = await kafka_of.read(topics.VISIT_PAID, of_chain(chain, event_id=visit["event_id"]))
    sent = by_id[span_of(published)]  # the span the message on Kafka names: its publishing span
    assert (sent["service"], sent["name"], sent["kind"]) == ("perkstream-gateway", "send visit.paid", 4)  # PRODUCER
    assert sent["parent_span_id"] == request["span_id"]
    # Each consumed record's span is the child of the span that published it.
    for service in ("memberships", "loyalty", "inventory"):
        consumed = [s for s in spans if s["service"] == f"perkstream-{service}" and s["name"] == "process visit.paid"]
        assert consumed and all(s["kind"] == 5 and s["parent_span_id"] == sent["span_id"] for s in consumed)  # CONSUMER
        assert all(s["attributes"]["messaging.destination.name"] == topics.VISIT_PAID for s in consumed)
    # What a consumer caused is published under its record's span; the message names the publishing span.
    deducted_sent = by_id[span_of(deducted)]
    assert (deducted_sent["service"], deducted_sent["name"]) == ("perkstream-memberships", "send membership.deducted")
    deduction = by_id[deducted_sent["parent_span_id"]]
    assert (deduction["service"], deduction["name"]) == ("perkstream-memberships", "process visit.paid")
    assert deduction["parent_span_id"] == sent["span_id"]
    sms_sent = by_id[span_of(sms)]
    assert (sms_sent["service"], sms_sent["name"]) == ("perkstream-notifications", "send notification.sms")
    notified = by_id[sms_sent["parent_span_id"]]
    assert (notified["service"], notified["name"]) == ("perkstream-notifications", "process membership.deducted")
    assert notified["parent_span_id"] == deducted_sent["span_id"]
    # The database work of the deduction, inside the record's span.
    database = [s for s in spans if s["parent_span_id"] == deduction["span_id"] and s["kind"] == 3]  # CLIENT
    assert any(s["attributes"].get("db.system", s["attributes"].get("db.system.name")) for s in database), database


async def test_log_lines_carry_the_trace_and_span_ids(traced: Stack, kafka_of: Kafka, sink: Sink) -> None:
    chain = await new_chain(traced)
    trace_id = uuid.uuid4().hex
    bad = {**paid_visit(chain, "7001"), "lines": "not a list"}  # dead-lettered: a line every consumer writes
    await kafka_of.publish(
        topics.VISIT_PAID, bad, key=ANNA["id"], headers=[("traceparent", f"00-{trace_id}-{CALLER_SPAN}-01".encode())]
    )
    group = "perkstream.memberships"
    [letter] = await kafka_of.read(
        f"{topics.VISIT_PAID}.dlq",
        lambda m: m.get("event_id") == bad["event_id"] and m["_headers"].get("x-consumer-group") == group,
        timeout=30,
    )

    async def lines() -> list[dict[str, Any]]:
        log = traced.services["memberships"].logfile
        parsed = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        return [p for p in parsed if p.get("event") == "dead_lettered" and p.get("trace_id") == trace_id]

    found = await eventually(lines, bool, timeout=10, what="the dead letter's log line")

    # The dead letter is published under the record's span, in the caller's trace; the line has that span.
    def both(spans: list[dict[str, Any]]) -> bool:  # the letter's publishing span and its parent
        by_id = {x["span_id"]: x for x in spans}
        return span_of(letter) in by_id and by_id[span_of(letter)]["parent_span_id"] in by_id

    spans = await spans_of(sink, trace_id, both, "its spans")
    by_id = {s["span_id"]: s for s in spans}
    consumed = by_id[by_id[span_of(letter)]["parent_span_id"]]
    assert (consumed["service"], consumed["name"], consumed["parent_span_id"]) == (
        "perkstream-memberships",
        "process visit.paid",
        CALLER_SPAN,
    )
    assert consumed["span_id"] in {line["span_id"] for line in found}


async def _events_client(stack: Stack, chain: Chain) -> httpx.AsyncClient:
    conn = await asyncpg.connect(stack.settings.database_url)
    try:
        key = await auth.create_key(conn, chain.id, "booking system", scopes=("events",))
    finally:
        await conn.close()
    return httpx.AsyncClient(
        base_url=f"{stack.url('gateway')}/v1/chains/{chain.id}", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )


async def test_a_job_run_over_http_is_a_span_of_the_request(traced: Stack, sink: Sink) -> None:
    chain = await new_chain(traced)
    trace_id = uuid.uuid4().hex
    caller = f"00-{trace_id}-{CALLER_SPAN}-01"
    async with chain.admin("loyalty") as http:
        r = await http.post("/jobs/burn/run", json={"as_of": now_iso()}, headers={"traceparent": caller})
    assert r.status_code == 200, r.text
    async with chain.client("memberships") as http:  # a search by phone: its span keeps the query out
        r = await http.get("/memberships", params={"phone": ANNA["phone"]}, headers={"traceparent": caller})
    assert r.status_code == 200, r.text

    def ran(spans: list[dict[str, Any]]) -> bool:
        return any(s["name"] == "job burn" for s in spans) and len([s for s in spans if s["kind"] == 2]) == 2

    spans = await spans_of(sink, trace_id, ran, "the job's span")
    [request] = [s for s in spans if s["kind"] == 2 and s["service"] == "perkstream-loyalty"]  # SERVER
    [search] = [s for s in spans if s["kind"] == 2 and s["service"] == "perkstream-memberships"]
    assert search["attributes"]["http.target"] == f"/v1/chains/{chain.id}/memberships"
    assert "1234567" not in json.dumps(spans)
    [job] = [s for s in spans if s["name"] == "job burn"]
    assert request["service"] == job["service"] == "perkstream-loyalty"
    assert (request["parent_span_id"], job["parent_span_id"]) == (CALLER_SPAN, request["span_id"])
    assert job["attributes"]["perkstream.chain_id"] == chain.id
