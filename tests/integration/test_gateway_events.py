"""The gateway's HTTP event ingress: a booking system posts the contract's inbound events with its chain's
`events` key; each is durable before the 202, published once to its topic, and the four services apply it
as if the booking system had produced it to Kafka."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from deploy.kafka_io import Kafka
from shared import auth, topics
from tests.integration.conftest import Chain, of_chain
from tests.integration.helpers import create_type, membership_eventually, paid_visit, sale

pytestmark = pytest.mark.asyncio(loop_scope="session")
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def events_key(db: asyncpg.Pool, chain: Chain) -> str:
    async with db.acquire() as conn:
        return await auth.create_key(conn, chain.id, "booking system", scopes=("events",))


def client(gateway: str, chain: Chain, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(base_url=f"{gateway}/v1/chains/{chain.id}", headers=headers, timeout=10)


async def on_topic(kafka: Kafka, topic: str, chain: Chain, marker: str) -> list[dict[str, Any]]:
    """Every message of `chain` on `topic`, read once the marker event is there (the gateway publishes in
    the order it accepted, and the marker came last)."""
    await kafka.read(topic, of_chain(chain, event_id=marker), timeout=30)
    return await kafka.read_to_end(topic, of_chain(chain))


async def test_events_posted_over_http_are_applied_like_kafka_ones(
    gateway: str, chain: Chain, kafka: Kafka, db: asyncpg.Pool
) -> None:
    type_id = (await create_type(chain))["id"]
    sold = sale(chain, type_id, "7001")
    del sold["chain_id"]  # the chain is the key's: a booking system may leave it out
    visit = paid_visit(chain, "7001")
    async with client(gateway, chain, await events_key(db, chain)) as http:
        r = await http.post("/events/membership.sold", json=sold)
        assert r.status_code == 202, r.text
        assert r.json()["event_id"] == sold["event_id"] and r.json()["topic"] == "membership.sold"
        await membership_eventually(chain, "7001", lambda m: m["visits_left"] == 10)
        r = await http.post("/events/visit.paid", json=visit, headers={"traceparent": TRACEPARENT})
        assert r.status_code == 202, r.text
    m = await membership_eventually(chain, "7001", lambda m: m["visits_left"] == 9)
    assert [h["visit_id"] for h in m["history"] if h["kind"] == "deduction"] == [visit["visit_id"]]
    [published] = await kafka.read(topics.VISIT_PAID, of_chain(chain, event_id=visit["event_id"]))
    assert published["_headers"].get("traceparent") == TRACEPARENT
    [deducted] = await kafka.read(topics.MEMBERSHIP_DEDUCTED, of_chain(chain, visit_id=visit["visit_id"]))
    assert deducted["_headers"].get("traceparent") == TRACEPARENT  # followed across services


async def test_the_same_event_twice_is_answered_alike_and_published_once(
    gateway: str, chain: Chain, kafka: Kafka, db: asyncpg.Pool
) -> None:
    visit = paid_visit(chain, "7002")
    marker = paid_visit(chain, "7002")
    async with client(gateway, chain, await events_key(db, chain)) as http:
        first = await http.post("/events/visit.paid", json=visit)
        # the same event, formatted otherwise (field order, an amount written "0.00", an unknown field)
        again = {
            **dict(reversed(list(visit.items()))),
            "x-unknown": 1,
            "lines": [{**visit["lines"][0], "paid": "0.00"}],
        }
        second = await http.post("/events/visit.paid", json=again)
        await http.post("/events/visit.paid", json=marker)
    assert first.status_code == second.status_code == 202, second.text
    assert second.json() == first.json()
    assert "idempotent-replayed" not in first.headers and second.headers["idempotent-replayed"] == "true"
    published = await on_topic(kafka, topics.VISIT_PAID, chain, marker["event_id"])
    assert [m["event_id"] for m in published] == [visit["event_id"], marker["event_id"]]
    assert "x-unknown" not in published[0] and published[0]["chain_id"] == chain.id


async def test_an_event_id_reused_with_another_payload_is_refused(
    gateway: str, chain: Chain, kafka: Kafka, db: asyncpg.Pool
) -> None:
    visit = paid_visit(chain, "7003")
    changed = {**visit, "lines": [{**visit["lines"][0], "sold": "2000"}]}
    marker = paid_visit(chain, "7003")
    async with client(gateway, chain, await events_key(db, chain)) as http:
        assert (await http.post("/events/visit.paid", json=visit)).status_code == 202
        r = await http.post("/events/visit.paid", json=changed)
        assert r.status_code == 409, r.text
        assert (r.json()["error"], r.json()["field"]) == ("event_id_reused", "event_id")
        # the same id on another topic is another event too
        other = await http.post(
            "/events/visit.status_arrived",
            json={
                **{k: visit[k] for k in ("event_id", "occurred_at", "location_id", "visit_id", "client")},
                "scheduled_at": visit["occurred_at"],
                "services": [],
            },
        )
        assert other.status_code == 409, other.text
        await http.post("/events/visit.paid", json=marker)
    published = await on_topic(kafka, topics.VISIT_PAID, chain, marker["event_id"])
    assert [m["lines"][0]["sold"] for m in published if m["event_id"] == visit["event_id"]] == ["1000.00"]


async def test_the_chain_is_the_keys_never_the_bodys(gateway: str, chain: Chain, db: asyncpg.Pool) -> None:
    visit = paid_visit(chain, "7004")
    async with client(gateway, chain, await events_key(db, chain)) as http:
        r = await http.post("/events/visit.paid", json={**visit, "chain_id": "ch-someone-else"})
        assert r.status_code == 422, r.text
        assert (r.json()["error"], r.json()["field"]) == ("chain_mismatch", "chain_id")
        ahead = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        r = await http.post("/events/visit.paid", json={**visit, "occurred_at": ahead})
        assert (r.status_code, r.json()["field"]) == (422, "occurred_at"), r.text
        r = await http.post("/events/visit.paid", json={**visit, "lines": [{**visit["lines"][0], "quantity": 0}]})
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "lines.0.quantity", r.text
        assert (await http.post("/events/visit.refunded", json=visit)).status_code == 404
    async with client(gateway, chain, chain.key) as http:  # read and write: not a booking system's key
        r = await http.post("/events/visit.paid", json=visit)
        assert (r.status_code, r.json()["error"]) == (403, "insufficient_scope"), r.text
    async with client(gateway, chain, None) as http:
        assert (await http.post("/events/visit.paid", json=visit)).status_code == 401
    other = Chain(f"ch-{uuid.uuid4().hex[:10]}", "", chain.stack)
    async with client(gateway, other, await events_key(db, chain)) as http:  # our key, another chain's path
        assert (await http.post("/events/visit.paid", json=visit)).status_code == 404


async def test_a_batch_is_all_or_none_and_names_the_field_at_fault(
    gateway: str, chain: Chain, kafka: Kafka, db: asyncpg.Pool
) -> None:
    visits = [paid_visit(chain, "7005") for _ in range(3)]
    bad = {**visits[1], "lines": [{**visits[1]["lines"][0], "quantity": 0}]}
    marker = paid_visit(chain, "7005")
    async with client(gateway, chain, await events_key(db, chain)) as http:
        r = await http.post(
            "/events",
            json={"events": [{"topic": "visit.paid", "event": visits[0]}, {"topic": "visit.paid", "event": bad}]},
        )
        assert r.status_code == 422, r.text
        assert [f["field"] for f in r.json()["fields"]] == ["events.1.event.lines.0.quantity"]
        r = await http.post(
            "/events",
            json={
                "events": [
                    {"topic": "visit.paid", "event": visits[0]},
                    {"topic": "visit.paid", "event": {**visits[2], "event_id": visits[0]["event_id"]}},
                ]
            },
        )
        assert (r.status_code, r.json()["field"]) == (409, "events.1.event.event_id"), r.text
        r = await http.post(
            "/events", json={"events": [{"topic": "visit.paid", "event": v} for v in (*visits, visits[0])]}
        )
        assert r.status_code == 202, r.text
        assert (r.json()["accepted"], r.json()["duplicate"]) == (3, 1)
        assert [e["status"] for e in r.json()["events"]] == ["accepted"] * 3 + ["duplicate"]
        r = await http.post(
            "/events",
            json={"events": [{"topic": "visit.paid", "event": visits[2]}, {"topic": "visit.paid", "event": marker}]},
        )
        assert [e["status"] for e in r.json()["events"]] == ["duplicate", "accepted"], r.text
    published = await on_topic(kafka, topics.VISIT_PAID, chain, marker["event_id"])
    assert [m["event_id"] for m in published] == [v["event_id"] for v in (*visits, marker)]
