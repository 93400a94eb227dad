"""Many visits arriving as one batch are applied exactly as one at a time would apply them: two chains (the
same client id and the same code in both), several clients, several visits per client, interleaved; a
later visit deducts from the balance an earlier one of the batch left, and pays with a membership an
earlier one sold; each effect carries its own visit's trace."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, new_chain, of_chain
from tests.integration.helpers import ANNA, create_type, membership_eventually, paid_visit, sell

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

BO = {"id": "cl-6", "phone": "+36201234568", "name": "Bo"}


def trace() -> bytes:
    return f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01".encode()


def selling_visit(chain: Chain, type_id: str, code: str, client: dict[str, Any]) -> dict[str, Any]:
    """A visit that sells membership `code` and pays one massage with it."""
    e = paid_visit(chain, code, client=client)
    e["lines"].insert(
        0, {"kind": "membership", "item_id": type_id, "quantity": 1, "sold": "8000", "paid": "8000", "code": code}
    )
    return e


async def send_at_once(kafka: Kafka, topic: str, events: list[dict[str, Any]]) -> dict[str, bytes]:
    """Sends every event before waiting for any (so they are consumed as one batch, or a few), each with
    a trace of its own: event id -> traceparent."""
    traces = {e["event_id"]: trace() for e in events}
    sends = [
        await kafka.producer.send(
            topic,
            json.dumps(e).encode(),
            key=e["client"]["id"].encode(),
            headers=[("traceparent", traces[e["event_id"]])],
        )
        for e in events
    ]
    for s in sends:
        await s
    return traces


async def test_a_burst_of_paid_visits_deducts_as_one_at_a_time_would(
    chain: Chain, stack: Stack, db: asyncpg.Pool, kafka: Kafka
) -> None:
    a, b = chain, await new_chain(stack, db)
    ta, tb = await create_type(a), await create_type(b)
    await sell(a, kafka, ta["id"], "A-1")
    await sell(a, kafka, ta["id"], "B-1", client=BO)
    await sell(b, kafka, tb["id"], "A-1")  # the same code and client id, in another chain

    # (chain, visit): one client's visits in order, the clients and chains interleaved.
    visits = [
        paid_visit(a, "A-1"),  # 10 -> 9, its first use (activated)
        paid_visit(b, "A-1", quantity=2),  # b's A-1: 10 -> 8
        paid_visit(a, "B-1", client=BO),  # B-1: 10 -> 9
        paid_visit(a, "A-1", quantity=3),  # 9 -> 6 (from what the first visit left)
        selling_visit(a, ta["id"], "N-1", ANNA),  # N-1 sold, and used in the same visit: 10 -> 9
        paid_visit(b, "A-1", quantity=8),  # b's A-1: 8 -> 0, exhausted
        paid_visit(a, "N-1", quantity=2),  # N-1, sold by an earlier visit of the batch: 9 -> 7
        paid_visit(b, "A-1"),  # b's A-1: exhausted, rejected
        paid_visit(a, "a-1"),  # A-1 by its code in lower case: 6 -> 5
        paid_visit(a, "B-1", client=BO, quantity=9),  # B-1: 9 -> 0
    ]
    traces = await send_at_once(kafka, topics.VISIT_PAID, visits)

    rejected = await kafka.read(topics.MEMBERSHIP_DEDUCTION_REJECTED, of_chain(b), timeout=60)
    assert [(r["visit_id"], r["code"], r["reason"]) for r in rejected] == [(visits[7]["visit_id"], "A-1", "exhausted")]
    await membership_eventually(a, "B-1", lambda m: m["status"] == "exhausted", timeout=60)
    deducted = await kafka.read(topics.MEMBERSHIP_DEDUCTED, lambda m: m.get("chain_id") in (a.id, b.id), count=9)
    told: dict[tuple[str, str], list[tuple[str, str, int, str]]] = {}
    for m in deducted:
        assert m["_headers"]["traceparent"] == traces[_event_of(visits, m["visit_id"])].decode()
        told.setdefault(("a" if m["chain_id"] == a.id else "b", m["client"]["id"]), []).append(
            (m["visit_id"], m["code"], m["visits_left"], m["status"])
        )
    v = [e["visit_id"] for e in visits]
    assert told == {
        ("a", ANNA["id"]): [
            (v[0], "A-1", 9, "active"),
            (v[3], "A-1", 6, "active"),
            (v[4], "N-1", 9, "active"),
            (v[6], "N-1", 7, "active"),
            (v[8], "A-1", 5, "active"),
        ],
        ("a", BO["id"]): [(v[2], "B-1", 9, "active"), (v[9], "B-1", 0, "exhausted")],
        ("b", ANNA["id"]): [(v[1], "A-1", 8, "active"), (v[5], "A-1", 0, "exhausted")],
    }
    [issued] = await kafka.read(topics.MEMBERSHIP_ISSUED, of_chain(a, code="N-1"))
    assert issued["_headers"]["traceparent"] == traces[visits[4]["event_id"]].decode()
    activated = await kafka.read(topics.MEMBERSHIP_ACTIVATED, lambda m: m.get("chain_id") in (a.id, b.id), count=4)
    assert sorted((m["chain_id"] == a.id, m["code"]) for m in activated) == [
        (False, "A-1"),
        (True, "A-1"),
        (True, "B-1"),
        (True, "N-1"),
    ]

    for c, code, left, status in [
        (a, "A-1", 5, "active"),
        (a, "N-1", 7, "active"),
        (a, "B-1", 0, "exhausted"),
        (b, "A-1", 0, "exhausted"),
    ]:
        m = await membership_eventually(c, code, lambda m: True)
        assert (m["balance"], m["status"]) == ({"svc-massage": left}, status), (code, m)


def _event_of(visits: list[dict[str, Any]], visit_id: str) -> str:
    [e] = [e for e in visits if e["visit_id"] == visit_id]
    return e["event_id"]  # type: ignore[no-any-return]


async def test_a_burst_of_no_shows_and_then_of_arrivals_deducts_and_gives_back_as_one_at_a_time_would(
    chain: Chain, stack: Stack, db: asyncpg.Pool, kafka: Kafka
) -> None:
    a, b = chain, await new_chain(stack, db)  # b deducts no-shows nowhere
    three = [{"service_id": "svc-massage", "category_id": "cat-body", "visits": 3}]
    ta, tb = await create_type(a, services=three), await create_type(b, services=three)
    await sell(a, kafka, ta["id"], "M-3")
    await sell(a, kafka, ta["id"], "B-3", client=BO)
    await sell(b, kafka, tb["id"], "M-3")
    async with a.client("memberships") as http:
        r = await http.put("/locations/loc-1/deduction-policy", json={"no_show": True, "late_cancel_hours": None})
        assert r.status_code == 200, r.text

    def status(c: Chain, client: dict[str, Any], code: str | None = None) -> dict[str, Any]:
        service: dict[str, Any] = {"service_id": "svc-massage", **({"membership": {"code": code}} if code else {})}
        return c.event(
            visit_id=f"v-{uuid.uuid4().hex[:8]}",
            client=client,
            scheduled_at=a.event()["occurred_at"],
            services=[service],
        )

    no_shows = [
        status(a, ANNA),
        status(b, ANNA),
        status(a, BO, "b-3"),
        status(a, ANNA),
        status(b, ANNA),
        status(a, ANNA),
        status(a, ANNA),
    ]  # Anna's in a: M-3 chosen, 3 -> 2 -> 1 -> 0, then none left
    traces = await send_at_once(kafka, topics.VISIT_NO_SHOW, no_shows)
    v = [e["visit_id"] for e in no_shows]
    await membership_eventually(a, "M-3", lambda m: m["status"] == "exhausted", timeout=60)
    deducted = await kafka.read(topics.MEMBERSHIP_DEDUCTED, of_chain(a), count=4)
    assert all(m["_headers"]["traceparent"] == traces[_event_of(no_shows, m["visit_id"])].decode() for m in deducted)
    assert [
        (m["visit_id"], m["code"], m["visits_left"], m["cause"]) for m in deducted if m["client"]["id"] == ANNA["id"]
    ] == [(v[0], "M-3", 2, "no_show"), (v[3], "M-3", 1, "no_show"), (v[5], "M-3", 0, "no_show")]
    assert [(m["visit_id"], m["code"], m["visits_left"]) for m in deducted if m["client"]["id"] == BO["id"]] == [
        (v[2], "B-3", 2)
    ]

    # Anna came after all, to each of her visits in a (the last one took nothing: nothing to give back).
    arrivals = [
        a.event(visit_id=v[i], client=ANNA, scheduled_at=no_shows[i]["scheduled_at"], services=[]) for i in (0, 3, 5, 6)
    ]
    traces = await send_at_once(kafka, topics.VISIT_ARRIVED, arrivals)
    back = await membership_eventually(a, "M-3", lambda m: m["visits_left"] == 3, timeout=60)
    assert back["status"] == "active"
    reversed_ = await kafka.read(topics.MEMBERSHIP_DEDUCTION_REVERSED, of_chain(a), count=3)
    assert [(m["visit_id"], m["visits_left"], m["status"], m["reason"]) for m in reversed_] == [
        (v[0], 1, "active", "visit_arrived"),
        (v[3], 2, "active", "visit_arrived"),
        (v[5], 3, "active", "visit_arrived"),
    ]
    assert all(m["_headers"]["traceparent"] == traces[_event_of(arrivals, m["visit_id"])].decode() for m in reversed_)
    assert (await membership_eventually(b, "M-3", lambda m: True))["visits_left"] == 3
