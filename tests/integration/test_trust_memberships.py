"""Trust in the memberships' arithmetic (issue "Trust: ... no visit is charged twice"): one charge per
visit whatever mix and order of no-show, late cancellation, arrival and payment, a membership sold and
used in the same visit, validity that cannot overflow, the expiring notices at any size, and a first
use dated before its sale."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from deploy.kafka_io import Kafka
from services.memberships.repository import Repository
from shared import topics
from tests.integration.conftest import Chain, eventually, of_chain
from tests.integration.helpers import ANNA, create_type, get_membership, membership_eventually, paid_visit, sale, sell
from tests.integration.notifications_helpers import notices_eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SAUNA = [{"service_id": "svc-sauna", "category_id": "cat-body", "visits": 10}]


def jobs_client(chain: Chain, timeout: float = 120) -> httpx.AsyncClient:
    """The chain's key that may run jobs (the admin key where keys have scopes), with time for a big run."""
    key = getattr(chain, "admin_key", "") or chain.key
    return httpx.AsyncClient(
        base_url=f"{chain.stack.url('memberships')}/v1/chains/{chain.id}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=timeout,
    )


async def run_job(chain: Chain, job: str, as_of: datetime) -> httpx.Response:
    async with jobs_client(chain) as http:
        return await http.post(f"/jobs/{job}/run", json={"as_of": as_of.isoformat()})


async def deduct_on_no_show_and_late_cancel(chain: Chain) -> None:
    async with chain.client("memberships") as http:
        r = await http.put("/locations/loc-1/deduction-policy", json={"no_show": True, "late_cancel_hours": 24})
    assert r.status_code == 200, r.text


def status(
    chain: Chain, visit_id: str, service: str = "svc-massage", code: str | None = None, **fields: Any
) -> dict[str, Any]:
    """A status event of a visit two hours from now (a cancellation now is a late one)."""
    scheduled = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    named = {"membership": {"code": code}} if code else {}
    return chain.event(
        visit_id=visit_id,
        client=ANNA,
        scheduled_at=scheduled.isoformat(),
        services=[{"service_id": service, **named}],
        **fields,
    )


def cancelled(chain: Chain, visit_id: str, service: str = "svc-massage", code: str | None = None) -> dict[str, Any]:
    return status(chain, visit_id, service, code, cancelled_at=datetime.now(UTC).isoformat())


def of_visit(chain: Chain, visit_id: str) -> Any:
    return lambda m: m.get("chain_id") == chain.id and m.get("visit_id") == visit_id


async def massage_and_marker(chain: Chain, kafka: Kafka, marker: str) -> str:
    """Anna's massage membership 4567, a sauna one to mark with, a policy that deducts no-shows and late
    cancellations; answers a new visit id."""
    t = await create_type(chain)
    sauna = await create_type(chain, name="Sauna", services=SAUNA)
    await sell(chain, kafka, t["id"], "4567")
    await sell(chain, kafka, sauna["id"], marker)
    await deduct_on_no_show_and_late_cancel(chain)
    return f"v-{uuid.uuid4().hex[:8]}"


def charges(m: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """A membership's history of deductions and reversals: (kind, cause, reason)."""
    return [
        (h["kind"], h["detail"].get("cause"), h["detail"].get("reason"))
        for h in m["history"]
        if h["kind"] in ("deduction", "reversal")
    ]


# --- one charge per visit -------------------------------------------------------------------------


async def test_a_no_show_a_late_cancel_and_the_payment_of_one_visit_take_one_visit(chain: Chain, kafka: Kafka) -> None:
    """The issue's reproduction: no-show, then a late cancellation, then the visit paid with 4567 took
    three visits (10 -> 7). One visit is one charge: the payment replaces the automatic one."""
    visit = await massage_and_marker(chain, kafka, "MARK-1")

    await kafka.publish(topics.VISIT_NO_SHOW, status(chain, visit), key=ANNA["id"])
    await membership_eventually(chain, "4567", lambda m: m["visits_left"] == 9)

    await kafka.publish(topics.VISIT_CANCELLED, cancelled(chain, visit), key=ANNA["id"])
    # A later late cancellation on the same partition, of another visit, proves the one above was applied.
    await kafka.publish(topics.VISIT_CANCELLED, cancelled(chain, "v-marker", "svc-sauna", "MARK-1"), key=ANNA["id"])
    await membership_eventually(chain, "MARK-1", lambda m: m["visits_left"] == 9)
    assert (await get_membership(chain, "4567")).json()["visits_left"] == 9  # the cancellation took nothing

    await kafka.publish(topics.VISIT_PAID, paid_visit(chain, "4567", visit_id=visit), key=ANNA["id"])
    [paid] = await kafka.read(topics.MEMBERSHIP_DEDUCTED, lambda e: of_visit(chain, visit)(e) and e["cause"] == "paid")
    assert paid["visits_left"] == 9
    m = (await get_membership(chain, "4567")).json()
    assert m["visits_left"] == 9 and m["status"] == "active"
    assert charges(m) == [
        ("deduction", "no_show", None),
        ("reversal", "no_show", "visit_paid"),
        ("deduction", "paid", None),
    ]
    [reversed_] = await kafka.read(topics.MEMBERSHIP_DEDUCTION_REVERSED, of_visit(chain, visit), settle=1)
    assert (reversed_["code"], reversed_["cause"], reversed_["reason"], reversed_["units"]) == (
        "4567",
        "no_show",
        "visit_paid",
        1,
    )
    assert reversed_["visits_left"] == 10 and reversed_["service_id"] == "svc-massage"
    told = await notices_eventually(chain, lambda ns: len(ns) == 1, type="membership.deduction_reversed")
    day = datetime.fromisoformat(reversed_["visit_at"]).date().isoformat()
    assert told[0]["text"] == f"Anna, the visit of {day} was given back to membership 4567; 10 left."


async def test_a_paid_visit_is_not_charged_again_by_a_later_no_show_or_late_cancel(chain: Chain, kafka: Kafka) -> None:
    visit = await massage_and_marker(chain, kafka, "MARK-2")
    await kafka.publish(topics.VISIT_PAID, paid_visit(chain, "4567", visit_id=visit), key=ANNA["id"])
    await membership_eventually(chain, "4567", lambda m: m["visits_left"] == 9)

    await kafka.publish(topics.VISIT_NO_SHOW, status(chain, visit), key=ANNA["id"])
    await kafka.publish(topics.VISIT_NO_SHOW, status(chain, "v-mark-1", "svc-sauna", "MARK-2"), key=ANNA["id"])
    await kafka.publish(topics.VISIT_CANCELLED, cancelled(chain, visit), key=ANNA["id"])
    await kafka.publish(topics.VISIT_CANCELLED, cancelled(chain, "v-mark-2", "svc-sauna", "MARK-2"), key=ANNA["id"])
    await membership_eventually(chain, "MARK-2", lambda m: m["visits_left"] == 8)  # both markers applied
    m = (await get_membership(chain, "4567")).json()
    assert m["visits_left"] == 9 and charges(m) == [("deduction", "paid", None)]


async def test_a_visit_paid_with_another_membership_gives_the_automatic_choice_back(chain: Chain, kafka: Kafka) -> None:
    sooner = await create_type(chain, name="Month", validity={"period": 1, "unit": "month", "counted_from": "sale"})
    later = await create_type(chain, name="Year", validity={"period": 1, "unit": "year", "counted_from": "sale"})
    await sell(chain, kafka, sooner["id"], "SOON")
    await sell(chain, kafka, later["id"], "LATE")
    await deduct_on_no_show_and_late_cancel(chain)
    visit = f"v-{uuid.uuid4().hex[:8]}"
    await kafka.publish(topics.VISIT_NO_SHOW, status(chain, visit), key=ANNA["id"])
    await membership_eventually(chain, "SOON", lambda m: m["visits_left"] == 9)  # expires soonest: chosen

    await kafka.publish(topics.VISIT_PAID, paid_visit(chain, "LATE", visit_id=visit), key=ANNA["id"])
    await membership_eventually(chain, "LATE", lambda m: m["visits_left"] == 9)
    soon = await membership_eventually(chain, "SOON", lambda m: m["visits_left"] == 10)
    assert charges(soon) == [("deduction", "no_show", None), ("reversal", "no_show", "visit_paid")]


async def test_an_arrival_after_a_no_show_gives_the_visit_back_once(chain: Chain, kafka: Kafka) -> None:
    one = await create_type(
        chain, name="One visit", balance="overall", total_visits=1, services=[{"service_id": "svc-massage"}]
    )
    marks = await create_type(chain, name="Sauna", services=SAUNA)
    await sell(chain, kafka, one["id"], "ONE")
    await sell(chain, kafka, marks["id"], "MARKS")
    await deduct_on_no_show_and_late_cancel(chain)
    visit, marker = f"v-{uuid.uuid4().hex[:8]}", f"v-{uuid.uuid4().hex[:8]}"
    await kafka.publish(topics.VISIT_NO_SHOW, status(chain, visit), key=ANNA["id"])
    await membership_eventually(chain, "ONE", lambda m: m["status"] == "exhausted")

    arrived = status(chain, visit)
    await kafka.publish(topics.VISIT_ARRIVED, arrived, key=ANNA["id"])
    back = await membership_eventually(chain, "ONE", lambda m: m["visits_left"] == 1)
    assert back["status"] == "active"
    assert charges(back) == [("deduction", "no_show", None), ("reversal", "no_show", "visit_arrived")]
    # Redelivered, and told again with another event id: nothing is given back twice; a no-show or a
    # late cancellation of the arrived visit told later charges nothing.
    await kafka.publish(topics.VISIT_ARRIVED, arrived, key=ANNA["id"])
    await kafka.publish(topics.VISIT_ARRIVED, {**arrived, "event_id": f"e-{uuid.uuid4()}"}, key=ANNA["id"])
    await kafka.publish(topics.VISIT_NO_SHOW, status(chain, visit), key=ANNA["id"])
    await kafka.publish(topics.VISIT_CANCELLED, cancelled(chain, visit), key=ANNA["id"])
    # Markers after them on the same partitions: a no-show and a late cancellation charged to MARKS, then
    # the arrival of the no-show's visit, which gives its visit back.
    await kafka.publish(topics.VISIT_NO_SHOW, status(chain, marker, "svc-sauna", "MARKS"), key=ANNA["id"])
    await kafka.publish(
        topics.VISIT_CANCELLED, cancelled(chain, f"v-{uuid.uuid4().hex[:8]}", "svc-sauna", "MARKS"), key=ANNA["id"]
    )
    await membership_eventually(chain, "MARKS", lambda m: m["visits_left"] == 8)
    await kafka.publish(topics.VISIT_ARRIVED, status(chain, marker, "svc-sauna"), key=ANNA["id"])
    await membership_eventually(chain, "MARKS", lambda m: m["visits_left"] == 9)

    m = (await get_membership(chain, "ONE")).json()
    assert m["visits_left"] == 1 and len(charges(m)) == 2
    reversals = await kafka.read(topics.MEMBERSHIP_DEDUCTION_REVERSED, of_chain(chain), count=2, settle=1)
    assert sorted((r["code"], r["visit_id"], r["reason"]) for r in reversals) == sorted(
        [("ONE", visit, "visit_arrived"), ("MARKS", marker, "visit_arrived")]
    )
    told = await notices_eventually(chain, lambda ns: len(ns) == 2, type="membership.deduction_reversed")
    assert sorted(n["text"].split(" was given back to ")[1] for n in told) == [
        "membership MARKS; 9 left.",
        "membership ONE; 1 left.",
    ]


# --- a membership sold and used in the same visit ---------------------------------------------------


def selling_visit(chain: Chain, type_id: str, code: str, visit_id: str) -> dict[str, Any]:
    """A visit that sells membership `code` and pays its massage with it."""
    return chain.event(
        visit_id=visit_id,
        client=ANNA,
        loyalty_card_id=None,
        bonus_spent="0",
        lines=[
            {"kind": "membership", "item_id": type_id, "quantity": 1, "sold": "8000", "paid": "8000", "code": code},
            {
                "kind": "service",
                "item_id": "svc-massage",
                "category_id": "cat-body",
                "quantity": 1,
                "sold": "1000",
                "paid": "0",
                "membership": {"code": code},
            },
        ],
    )


async def only_once(chain: Chain, kafka: Kafka, type_id: str, code: str) -> None:
    """Exactly one membership.issued for `code`, and no rejection: a later sale on the same partition
    (by the same client) shows every membership.sold before it was consumed."""
    await sell(chain, kafka, type_id, f"{code}-MARK")
    issued = await kafka.read(topics.MEMBERSHIP_ISSUED, of_chain(chain), count=2, settle=1)
    assert sorted(i["code"] for i in issued) == [code, f"{code}-MARK"]
    assert await kafka.read_to_end(topics.MEMBERSHIP_ISSUE_REJECTED, of_chain(chain)) == []
    assert await kafka.read_to_end(topics.MEMBERSHIP_DEDUCTION_REJECTED, of_chain(chain)) == []


async def test_a_membership_sold_and_used_in_one_visit_is_deducted(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain)
    visit = f"v-{uuid.uuid4().hex[:8]}"
    await kafka.publish(topics.VISIT_PAID, selling_visit(chain, t["id"], "9001", visit), key=ANNA["id"])
    m = await membership_eventually(chain, "9001", lambda m: m["visits_left"] == 9)
    assert m["price"] == "8000.00" and m["status"] == "active"
    # Inventory's membership.sold of the same line (the same sale id) comes too, and changes nothing.
    [sold] = await kafka.read(topics.MEMBERSHIP_SOLD, of_chain(chain))
    assert sold["sale_id"] == f"inventory:visit:{visit}:0:0"
    await only_once(chain, kafka, t["id"], "9001")
    assert [h["kind"] for h in (await get_membership(chain, "9001")).json()["history"]] == ["sale", "deduction"]


async def test_a_membership_sold_before_its_visit_comes_is_deducted_once_too(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain)
    visit = f"v-{uuid.uuid4().hex[:8]}"
    first = sale(chain, t["id"], "9002", sale_id=f"inventory:visit:{visit}:0:0")
    await kafka.publish(topics.MEMBERSHIP_SOLD, first, key=ANNA["id"])
    await membership_eventually(chain, "9002", lambda m: True)
    await kafka.publish(topics.VISIT_PAID, selling_visit(chain, t["id"], "9002", visit), key=ANNA["id"])
    await membership_eventually(chain, "9002", lambda m: m["visits_left"] == 9)
    sold = await kafka.read(topics.MEMBERSHIP_SOLD, of_chain(chain), count=2)  # ours, then inventory's
    assert [s["sale_id"] for s in sold] == [first["sale_id"]] * 2
    await only_once(chain, kafka, t["id"], "9002")


# --- validity that cannot overflow ------------------------------------------------------------------


async def test_validity_is_bounded_and_a_stored_endless_one_does_not_stop_the_jobs(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool
) -> None:
    async with chain.client("memberships") as http:
        for period, unit in ((8000, "year"), (101, "year"), (1201, "month"), (5215, "week"), (36501, "day")):
            r = await http.post(
                "/membership-types",
                json={
                    "name": "Forever",
                    "balance": "overall",
                    "total_visits": 5,
                    "price": "100",
                    "services": [{"service_id": "svc-massage"}],
                    "validity": {"period": period, "unit": unit, "counted_from": "first_visit"},
                },
            )
            assert r.status_code == 422, (period, unit, r.text)
            assert [f["field"] for f in r.json()["fields"]] == ["validity.period"], r.text
        for field, value in (("auto_activation_days", 3651), ("notify_days_before_expiry", 366)):
            r = await http.post(
                "/membership-types",
                json={
                    "name": "Bad",
                    "balance": "overall",
                    "total_visits": 5,
                    "price": "100",
                    "services": [{"service_id": "svc-massage"}],
                    field: value,
                },
            )
            assert r.status_code == 422 and [f["field"] for f in r.json()["fields"]] == [field], r.text
    century = await create_type(
        chain,
        name="Century",
        auto_activation_days=1,
        validity={"period": 100, "unit": "year", "counted_from": "first_visit"},
    )
    # A type stored before the bound existed: 8,000 years from the first visit, activating by itself.
    endless = await create_type(chain, name="Endless", auto_activation_days=1)
    async with db.acquire() as conn:
        await conn.execute(
            """UPDATE memberships.membership_types
                              SET spec = jsonb_set(jsonb_set(spec, '{validity,period}', '8000'), '{validity,unit}',
                                                   '"year"')
                              WHERE id = $1""",
            uuid.UUID(endless["id"]),
        )
    async with chain.client("memberships") as http:  # it still reads
        stored = await http.get(f"/membership-types/{endless['id']}")
    assert stored.status_code == 200 and stored.json()["validity"]["period"] == 8000, stored.text
    jan_1 = "2026-01-01T10:00:00+00:00"
    await sell(chain, kafka, century["id"], "C-100", occurred_at=jan_1)
    await sell(chain, kafka, endless["id"], "E-8000", occurred_at=jan_1)
    r = await run_job(chain, "auto_activation", datetime(2026, 1, 3, tzinfo=UTC))
    assert r.status_code == 200, r.text
    assert sorted(r.json()["changed"]["memberships"]) == ["C-100", "E-8000"]
    assert (await get_membership(chain, "C-100")).json()["valid_until"] == "2126-01-02T10:00:00Z"
    e = (await get_membership(chain, "E-8000")).json()
    assert e["status"] == "active" and e["valid_until"] is None  # past what a calendar holds: unlimited
    # ... and it still pays, chosen by an automatic deduction among the client's memberships.
    await deduct_on_no_show_and_late_cancel(chain)
    await kafka.publish(topics.VISIT_NO_SHOW, status(chain, f"v-{uuid.uuid4().hex[:8]}"), key=ANNA["id"])
    deducted = await kafka.read(topics.MEMBERSHIP_DEDUCTED, of_chain(chain))
    assert deducted[0]["code"] == "C-100"  # expires first; the endless one is "unlimited", chosen last


# --- the expiring notices at any size ---------------------------------------------------------------


async def test_the_expiring_notices_reach_every_membership_once_past_5000(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool
) -> None:
    low = await create_type(chain, name="Low", notify_visits_left=1)
    ending = await create_type(
        chain,
        name="Ending",
        notify_days_before_expiry=7,
        validity={"period": 1, "unit": "month", "counted_from": "sale"},
    )
    as_of = datetime.now(UTC)
    async with db.acquire() as conn:
        # 5,100 memberships with one visit left, straight into the table (a sale each through Kafka
        # would take minutes), and 20 ending within the week (valid_until to the microsecond).
        await conn.execute(
            """INSERT INTO memberships.memberships (id, chain_id, type_id, code, sale_id, client_id, location_id,
                   status, balance, price, sold_at, activated_at, valid_until)
               SELECT gen_random_uuid(), $1, $2::uuid, 'LOW-' || g, 'bulk-low-' || g, 'cl-' || g, 'loc-1', 'active',
                      '{"svc-massage": 1}'::jsonb, 8000, $4::timestamptz, $4::timestamptz, NULL::timestamptz
               FROM generate_series(1, 5100) g
               UNION ALL
               SELECT gen_random_uuid(), $1, $3::uuid, 'END-' || g, 'bulk-end-' || g, 'cl-e' || g, 'loc-1', 'sold',
                      '{"svc-massage": 10}'::jsonb, 8000, $4, NULL,
                      $5::timestamptz + make_interval(days => 3, secs => g * 0.000137)
               FROM generate_series(1, 20) g""",
            chain.id,
            uuid.UUID(low["id"]),
            uuid.UUID(ending["id"]),
            as_of - timedelta(days=20),
            as_of,
        )

    r = await run_job(chain, "expiring_notices", as_of)
    assert r.status_code == 200, r.text
    assert r.json()["changed"]["count"] == 5120
    again = await run_job(chain, "expiring_notices", as_of + timedelta(minutes=5))
    assert again.json()["changed"]["count"] == 0
    async with db.acquire() as conn:
        # Told ones are no longer even candidates: the next run reads nothing.
        async with conn.transaction():
            await conn.execute("SET LOCAL search_path TO memberships")
            left = await Repository(conn, chain.id).due("expiring_notices", as_of + timedelta(minutes=10))
        marks = await conn.fetchval("SELECT count(*) FROM memberships.membership_marks WHERE chain_id = $1", chain.id)
    assert left == [] and marks == 5120
    told = await eventually(
        lambda: kafka.read_to_end(topics.MEMBERSHIP_EXPIRING, of_chain(chain)),
        lambda found: len(found) >= 5120,
        timeout=120,
        what="5,120 membership.expiring",
    )
    assert len(told) == 5120 and len({e["membership_id"] for e in told}) == 5120


# --- a first use dated before the sale -----------------------------------------------------------------


async def test_a_first_use_dated_before_the_sale_starts_the_validity_at_the_sale(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain, auto_activation_days=None)  # 3 months from the first visit
    sold = await sell(chain, kafka, t["id"], "SKEW-1", occurred_at="2026-03-01T10:00:00+00:00")
    assert sold["valid_until"] is None
    await kafka.publish(
        topics.VISIT_PAID, paid_visit(chain, "SKEW-1", occurred_at="2024-03-01T10:00:00+00:00"), key=ANNA["id"]
    )
    m = await membership_eventually(chain, "SKEW-1", lambda m: m["visits_left"] == 9)
    assert m["activated_at"] == "2026-03-01T10:00:00Z"
    assert m["valid_until"] == "2026-06-01T10:00:00Z"
