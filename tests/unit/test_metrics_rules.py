"""The rules behind the operator metrics that need no broker: the lag of a partition from its offsets,
the broker's series kept by the relay leader only, and HTTP requests counted by route template (never
the raw path), method and status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from aiokafka import TopicPartition
from fastapi import APIRouter, FastAPI
from prometheus_client import REGISTRY

from shared.broker_metrics import BrokerMetrics, partition_lag
from shared.http import create_http_app
from shared.settings import Settings

P0, P1, P2, P3 = (TopicPartition("visit.paid", p) for p in range(4))


def test_lag_is_the_end_offset_minus_the_committed_one_or_the_first_record_kept() -> None:
    ends = {P0: 10, P1: 7, P2: 500, P3: 0}
    starts = {P0: 0, P1: 0, P2: 400, P3: 0}
    committed = {P0: 4, P1: 7}  # P2 never committed (the group starts from the earliest kept); P3 empty
    assert partition_lag(ends, starts, committed) == {P0: 6, P1: 0, P2: 100, P3: 0}
    # A committed offset older than what retention kept: what is left to read is what is kept.
    assert partition_lag({P0: 50}, {P0: 30}, {P0: 10}) == {P0: 20}
    assert partition_lag({P0: 5}, {P0: 0}, {P0: -1}) == {P0: 5}  # -1: no offset committed


def _app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield

    app = create_http_app("test", lifespan, lambda: {}, lambda: {}, service="unit-http")
    router = APIRouter()

    @router.get("/members/{client_id}")
    async def read(client_id: str) -> dict[str, str]:
        return {"id": client_id}

    @router.post("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    app.include_router(router, prefix="/v1/chains/{chain_id}")
    return app


def _count(method: str, route: str, status: str) -> float:
    labels = {"service": "unit-http", "method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("perkstream_http_requests_total", labels) or 0.0


def test_http_requests_are_counted_by_route_template_method_and_status() -> None:
    member = "/v1/chains/{chain_id}/members/{client_id}"
    before = {
        "ok": _count("GET", member, "200"),
        "bug": _count("POST", "/v1/chains/{chain_id}/boom", "500"),
        "off": _count("GET", "<unmatched>", "404"),
        "odd": _count("OTHER", "<unmatched>", "404"),
    }

    async def visit() -> None:
        transport = httpx.ASGITransport(_app(), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            for chain in ("ch-1", "ch-2"):
                assert (await http.get(f"/v1/chains/{chain}/members/cl-{chain}")).status_code == 200
            assert (await http.post("/v1/chains/ch-1/boom")).status_code == 500
            assert (await http.get("/v1/chains/ch-1/nothing/here")).status_code == 404
            assert (await http.request("BREW", "/v1/coffee")).status_code == 404

    asyncio.run(visit())
    assert _count("GET", member, "200") - before["ok"] == 2
    assert _count("POST", "/v1/chains/{chain_id}/boom", "500") - before["bug"] == 1
    assert _count("GET", "<unmatched>", "404") - before["off"] == 1
    assert _count("OTHER", "<unmatched>", "404") - before["odd"] == 1
    seconds = {"service": "unit-http", "method": "GET", "route": member}
    assert (REGISTRY.get_sample_value("perkstream_http_request_seconds_count", seconds) or 0) >= 2
    # No id, chain or raw path in any label.
    routes = {
        s.labels.get("route")
        for family in REGISTRY.collect()
        if family.name == "perkstream_http_requests"
        for s in family.samples
        if s.labels.get("service") == "unit-http"
    }
    assert routes == {member, "/v1/chains/{chain_id}/boom", "<unmatched>"}


def _series(name: str, service: str) -> dict[tuple[str, ...], float]:
    return {
        tuple(v for k, v in sorted(s.labels.items()) if k != "service"): s.value
        for family in REGISTRY.collect()
        for s in family.samples
        if s.name == name and s.labels.get("service") == service
    }


def test_the_broker_series_follow_what_the_leader_reads_and_go_when_it_no_longer_leads() -> None:
    leading = True
    settings = Settings()
    reporter = BrokerMetrics("unit-broker", "perkstream.unit", lambda: ["visit.paid"], lambda: leading, settings)
    reporter._report({P0: 3, P1: 0}, {"visit.paid.dlq": 2})
    assert _series("perkstream_consumer_lag", "unit-broker") == {
        ("perkstream.unit", "0", "visit.paid"): 3,
        ("perkstream.unit", "1", "visit.paid"): 0,
    }
    assert _series("perkstream_dlq_depth", "unit-broker") == {("visit.paid.dlq",): 2}
    # A partition no longer read (a topic deleted): its series goes, the others stay.
    reporter._report({P0: 1}, {"visit.paid.dlq": 2})
    assert _series("perkstream_consumer_lag", "unit-broker") == {("perkstream.unit", "0", "visit.paid"): 1}
    # Another process leads now: this one reports nothing (no double counting, no stale value).
    leading = False
    reporter._clear()
    assert _series("perkstream_consumer_lag", "unit-broker") == {}
    assert _series("perkstream_dlq_depth", "unit-broker") == {}
    assert _series("perkstream_kafka_collected_timestamp_seconds", "unit-broker") == {}
