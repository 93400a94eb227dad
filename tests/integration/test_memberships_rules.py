"""Membership rules end to end (issue 4): validity, jobs, freezing, automatic deduction, no-code
memberships, archived types, post-sale rules, editing, eligibility, reports, and the last-visit race."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from deploy import processes
from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, eventually, of_chain
from tests.integration.helpers import (
    ANNA,
    create_type,
    get_membership,
    membership_eventually,
    paid_visit,
    sale,
    sell,
)
from tests.integration.proof import members, metric

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

JAN_1 = "2026-01-01T10:00:00+00:00"


async def run_job(chain: Chain, job: str, as_of: str) -> dict[str, Any]:
    async with chain.admin("memberships") as http:
        r = await http.post(f"/jobs/{job}/run", json={"as_of": as_of})
    assert r.status_code == 200, r.text
    return r.json()["changed"]  # type: ignore[no-any-return]


def status_event(chain: Chain, code: str) -> Any:
    return lambda m: m.get("chain_id") == chain.id and m.get("code") == code


async def test_validity_counts_from_the_sale_or_from_the_first_visit(chain: Chain, kafka: Kafka) -> None:
    from_sale = await create_type(
        chain, name="From sale", validity={"period": 3, "unit": "month", "counted_from": "sale"}
    )
    from_visit = await create_type(
        chain,
        name="From first visit",
        auto_activation_days=None,
        validity={"period": 3, "unit": "month", "counted_from": "first_visit"},
    )
    a = await sell(chain, kafka, from_sale["id"], "VS-1", occurred_at=JAN_1)
    b = await sell(chain, kafka, from_visit["id"], "VF-1", occurred_at=JAN_1)
    assert a["valid_until"] == "2026-04-01T10:00:00Z"
    assert b["valid_until"] is None and b["status"] == "sold"

    await kafka.publish(
        topics.VISIT_PAID, paid_visit(chain, "VF-1", occurred_at="2026-02-10T09:00:00+00:00"), key=ANNA["id"]
    )
    used = await membership_eventually(chain, "VF-1", lambda m: m["status"] == "active")
    assert used["valid_until"] == "2026-05-10T09:00:00Z"  # three months from the first visit
    assert used["activated_at"] == "2026-02-10T09:00:00Z"
    [activated] = await kafka.read(topics.MEMBERSHIP_ACTIVATED, status_event(chain, "VF-1"))
    assert activated["cause"] == "first_use"


async def test_an_unused_membership_activates_by_itself_by_job(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain, auto_activation_days=30)  # validity: 3 months from the first visit
    await sell(chain, kafka, t["id"], "AA-1", occurred_at=JAN_1)
    assert (await run_job(chain, "auto_activation", "2026-01-20T00:00:00+00:00"))["count"] == 0
    changed = await run_job(chain, "auto_activation", "2026-02-15T00:00:00+00:00")
    assert changed == {"count": 1, "memberships": ["AA-1"]}
    assert (await run_job(chain, "auto_activation", "2026-02-15T00:00:00+00:00"))["count"] == 0  # idempotent
    m = (await get_membership(chain, "AA-1")).json()
    # Activated as of the day it was due (Jan 31), whenever the job ran; valid 3 months from then.
    assert m["status"] == "active" and m["activated_at"] == "2026-01-31T10:00:00Z"
    assert m["valid_until"] == "2026-04-30T10:00:00Z"
    [activated] = await kafka.read(topics.MEMBERSHIP_ACTIVATED, status_event(chain, "AA-1"))
    assert activated["cause"] == "auto_activation"


async def test_the_expiry_job_expires_and_an_expired_membership_cannot_pay(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(
        chain, validity={"period": 10, "unit": "day", "counted_from": "sale"}, notify_days_before_expiry=3
    )
    await sell(chain, kafka, t["id"], "EX-1", occurred_at=JAN_1)
    assert (await run_job(chain, "expiring_notices", "2026-01-05T00:00:00+00:00"))["count"] == 0
    assert (await run_job(chain, "expiring_notices", "2026-01-09T00:00:00+00:00"))["count"] == 1
    assert (await run_job(chain, "expiring_notices", "2026-01-10T00:00:00+00:00"))["count"] == 0  # told once
    [expiring] = await kafka.read(topics.MEMBERSHIP_EXPIRING, status_event(chain, "EX-1"))
    assert expiring["reason"] == "valid_until" and expiring["days_left"] == 2

    assert (await run_job(chain, "expiry", "2026-01-10T00:00:00+00:00"))["count"] == 0
    assert (await run_job(chain, "expiry", "2026-01-11T10:00:00+00:00"))["memberships"] == ["EX-1"]
    assert (await run_job(chain, "expiry", "2026-01-12T00:00:00+00:00"))["count"] == 0
    assert (await get_membership(chain, "EX-1")).json()["status"] == "expired"
    [expired] = await kafka.read(topics.MEMBERSHIP_EXPIRED, status_event(chain, "EX-1"))
    assert expired["client"]["name"] == "Anna"


async def test_freezing_extends_validity_blocks_payment_and_unfreezing_gives_days_back(
    chain: Chain, kafka: Kafka
) -> None:
    t = await create_type(
        chain, freeze={"allowed": True, "max_days": 14}, validity={"period": 1, "unit": "month", "counted_from": "sale"}
    )
    sold = await sell(chain, kafka, t["id"], "FR-1")
    original = datetime.fromisoformat(sold["valid_until"])
    today = datetime.now(UTC).date()
    async with chain.client("memberships") as http:
        too_long = await http.post("/memberships/FR-1/freeze", json={"from": today.isoformat(), "days": 15})
        assert too_long.status_code == 409 and too_long.json()["error"] == "freeze_limit_exceeded"
        r = await http.post(
            "/memberships/FR-1/freeze", json={"from": today.isoformat(), "days": 10}, headers={"X-User": "desk:jane"}
        )
        assert r.status_code == 200, r.text
        frozen = r.json()
        assert frozen["status"] == "frozen" and frozen["freeze_days_used"] == 10
        assert datetime.fromisoformat(frozen["valid_until"]) == original + timedelta(days=10)

        await kafka.publish(topics.VISIT_PAID, paid_visit(chain, "FR-1"), key=ANNA["id"])
        [rejected] = await kafka.read(topics.MEMBERSHIP_DEDUCTION_REJECTED, of_chain(chain))
        assert rejected["reason"] == "frozen"

        r = await http.post("/memberships/FR-1/unfreeze")
        assert r.status_code == 200, r.text
        back = r.json()
        assert back["status"] == "sold" and back["freeze_days_used"] == 0
        assert datetime.fromisoformat(back["valid_until"]) == original
        again = await http.post("/memberships/FR-1/unfreeze")
        assert again.status_code == 409
    [frozen_event] = await kafka.read(topics.MEMBERSHIP_FROZEN, status_event(chain, "FR-1"))
    assert frozen_event["days"] == 10 and frozen_event["frozen_until"] == (today + timedelta(days=10)).isoformat()
    [unfrozen] = await kafka.read(topics.MEMBERSHIP_UNFROZEN, status_event(chain, "FR-1"))
    assert (unfrozen["status"], unfrozen["visits_left"]) == ("sold", 10)
    assert datetime.fromisoformat(unfrozen["valid_until"]) == original  # the freeze's days given back
    assert datetime.fromisoformat(unfrozen["unfrozen_at"]).date() == today
    history = [h["kind"] for h in (await get_membership(chain, "FR-1")).json()["history"]]
    assert history == ["sale", "freeze", "unfreeze"]


async def test_a_planned_freeze_starts_and_ends_by_job(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain, freeze={"allowed": True, "max_days": 14})
    await sell(chain, kafka, t["id"], "FR-2")
    start = datetime.now(UTC).date() + timedelta(days=2)
    async with chain.client("memberships") as http:
        r = await http.post("/memberships/FR-2/freeze", json={"from": start.isoformat(), "days": 3})
    assert r.json()["status"] == "sold"  # not frozen yet
    on_day = datetime.combine(start, datetime.min.time(), UTC).isoformat()
    assert (await run_job(chain, "freezes", on_day))["memberships"] == ["FR-2"]
    assert (await get_membership(chain, "FR-2")).json()["status"] == "frozen"
    after = datetime.combine(start + timedelta(days=3), datetime.min.time(), UTC).isoformat()
    assert (await run_job(chain, "freezes", after))["memberships"] == ["FR-2"]
    assert (await get_membership(chain, "FR-2")).json()["status"] == "sold"


async def test_no_show_and_late_cancellation_deduct_the_soonest_expiring_membership_by_policy(
    chain: Chain, kafka: Kafka
) -> None:
    services = [{"service_id": "svc-massage"}, {"service_id": "svc-sauna"}]
    later = await create_type(
        chain,
        name="Year",
        balance="overall",
        total_visits=10,
        services=services,
        validity={"period": 12, "unit": "month", "counted_from": "sale"},
    )
    sooner = await create_type(
        chain,
        name="Month",
        balance="overall",
        total_visits=10,
        services=services,
        validity={"period": 1, "unit": "month", "counted_from": "sale"},
    )
    await sell(chain, kafka, later["id"], "NS-YEAR")
    await sell(chain, kafka, sooner["id"], "NS-MONTH")
    async with chain.client("memberships") as http:
        r = await http.put(
            "/locations/loc-1/deduction-policy",
            json={"no_show": True, "late_cancel_hours": 24, "services": {"svc-sauna": {"no_show": False}}},
        )
        assert r.status_code == 200, r.text
        assert (await http.get("/locations/loc-1/deduction-policy")).json()["late_cancel_hours"] == 24

    scheduled = datetime.now(UTC) + timedelta(hours=30)

    def status(visit: str, service: str, **extra: Any) -> dict[str, Any]:
        return chain.event(
            visit_id=visit, client=ANNA, scheduled_at=scheduled.isoformat(), services=[{"service_id": service}], **extra
        )

    await kafka.publish(topics.VISIT_NO_SHOW, status("v-ns-sauna", "svc-sauna"), key=ANNA["id"])  # overridden
    early = (scheduled - timedelta(hours=48)).isoformat()
    await kafka.publish(topics.VISIT_CANCELLED, status("v-early", "svc-massage", cancelled_at=early), key=ANNA["id"])
    await kafka.publish(topics.VISIT_NO_SHOW, status("v-ns", "svc-massage"), key=ANNA["id"])
    late = (scheduled - timedelta(hours=2)).isoformat()
    await kafka.publish(topics.VISIT_CANCELLED, status("v-late", "svc-massage", cancelled_at=late), key=ANNA["id"])

    month = await membership_eventually(chain, "NS-MONTH", lambda m: m["visits_left"] == 8)
    assert (await get_membership(chain, "NS-YEAR")).json()["visits_left"] == 10
    deductions = [h for h in month["history"] if h["kind"] == "deduction"]
    assert sorted((d["visit_id"], d["detail"]["cause"]) for d in deductions) == [
        ("v-late", "late_cancel"),
        ("v-ns", "no_show"),
    ]
    deducted = await kafka.read(topics.MEMBERSHIP_DEDUCTED, of_chain(chain), count=2, settle=1.5)
    assert {d["cause"] for d in deducted} == {"no_show", "late_cancel"}
    assert all("expires soonest" in d["chosen_because"] for d in deducted)


async def test_a_no_code_membership_pays_only_for_the_buyers_phone(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain, allow_without_code=True)
    event = sale(chain, t["id"], None)
    await kafka.publish(topics.MEMBERSHIP_SOLD, event, key=ANNA["id"])
    [issued] = await kafka.read(topics.MEMBERSHIP_ISSUED, of_chain(chain))
    assert issued["code"] is None
    membership_id = issued["membership_id"]

    def visit(phone: str) -> dict[str, Any]:
        v = paid_visit(chain, "x", client={"id": "cl-9", "phone": phone, "name": "Bea"})
        v["lines"][0]["membership"] = {"id": membership_id}
        return v

    await kafka.publish(topics.VISIT_PAID, visit("+36209999999"), key="cl-9")
    [rejected] = await kafka.read(topics.MEMBERSHIP_DEDUCTION_REJECTED, of_chain(chain))
    assert rejected["reason"] == "phone_mismatch"
    await kafka.publish(topics.VISIT_PAID, visit("+36 20 123 4567"), key="cl-9")  # Anna's phone, spaced
    m = await membership_eventually(chain, membership_id, lambda m: m["visits_left"] == 9)
    assert m["code"] is None and m["phone"] == "+36201234567"


async def test_an_archived_type_is_not_sold_but_still_pays_and_can_be_restored(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain)
    await sell(chain, kafka, t["id"], "AR-1")
    async with chain.client("memberships") as http:
        assert (await http.post(f"/membership-types/{t['id']}/archive")).json()["archived"] is True
        assert [x["id"] for x in (await http.get("/membership-types")).json()] == []
        assert [x["id"] for x in (await http.get("/membership-types", params={"archived": "true"})).json()] == [t["id"]]
    await kafka.publish(topics.MEMBERSHIP_SOLD, sale(chain, t["id"], "AR-2"), key=ANNA["id"])
    [rejected] = await kafka.read(topics.MEMBERSHIP_ISSUE_REJECTED, of_chain(chain))
    assert rejected["reason"] == "type_archived"
    await kafka.publish(topics.VISIT_PAID, paid_visit(chain, "AR-1"), key=ANNA["id"])
    await membership_eventually(chain, "AR-1", lambda m: m["visits_left"] == 9)
    async with chain.client("memberships") as http:
        assert (await http.post(f"/membership-types/{t['id']}/restore")).json()["archived"] is False
    await sell(chain, kafka, t["id"], "AR-3")
    changed = await kafka.read(topics.MEMBERSHIP_TYPE_CHANGED, of_chain(chain), count=2)
    assert [c["archived"] for c in changed] == [True, False]


async def test_after_the_first_sale_the_price_is_fixed_and_services_only_grow_on_overall_types(
    chain: Chain, kafka: Kafka
) -> None:
    split = await create_type(chain, name="Massage")
    overall = await create_type(
        chain,
        name="Spa",
        balance="overall",
        total_visits=5,
        services=[{"service_id": "svc-massage"}, {"service_id": "svc-pool"}],
    )
    async with chain.client("memberships") as http:
        # Before the first sale a type is a draft: a service may go too.
        draft = await http.patch(
            f"/membership-types/{overall['id']}", json={"services": [{"service_id": "svc-massage"}]}
        )
        assert draft.status_code == 200 and [s["service_id"] for s in draft.json()["services"]] == ["svc-massage"]
        before = await http.patch(f"/membership-types/{split['id']}", json={"price": "9000"})
        assert before.status_code == 200 and before.json()["price"] == "9000.00"
        await sell(chain, kafka, split["id"], "PF-1")
        await sell(chain, kafka, overall["id"], "PF-2")

        price = await http.patch(f"/membership-types/{split['id']}", json={"price": "9500"})
        assert price.status_code == 409 and price.json()["error"] == "price_fixed_after_sale"
        assert "duplicate" in price.json()["message"]
        grow_split = await http.patch(
            f"/membership-types/{split['id']}",
            json={"services": [{"service_id": "svc-massage", "visits": 10}, {"service_id": "svc-nails", "visits": 2}]},
        )
        assert grow_split.status_code == 409
        assert grow_split.json()["error"] == "services_cannot_be_added_to_split_type"
        shrink = await http.patch(
            f"/membership-types/{overall['id']}", json={"services": [{"service_id": "svc-sauna"}]}
        )
        assert shrink.status_code == 409 and shrink.json()["error"] == "services_cannot_be_removed"
        grow = await http.patch(
            f"/membership-types/{overall['id']}",
            json={"services": [{"service_id": "svc-massage"}, {"service_id": "svc-sauna"}], "name": "Spa+"},
        )
        assert grow.status_code == 200, grow.text
        renamed = await http.patch(f"/membership-types/{split['id']}", json={"name": "Massage 10"})
        assert renamed.status_code == 200
        bad = await http.patch(f"/membership-types/{split['id']}", json={"balance": "overall"})
        assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "total_visits"

        copy = await http.post(f"/membership-types/{split['id']}/duplicate")
        assert copy.status_code == 201 and copy.json()["name"] == "Massage 10 (2)"
        copy3 = await http.post(f"/membership-types/{split['id']}/duplicate")
        assert copy3.json()["name"] == "Massage 10 (3)"
        assert (await http.patch(f"/membership-types/{copy.json()['id']}", json={"price": "9500"})).status_code == 200
    # The already-sold overall membership pays for the service added later.
    await kafka.publish(topics.VISIT_PAID, paid_visit(chain, "PF-2", service="svc-sauna"), key=ANNA["id"])
    await membership_eventually(chain, "PF-2", lambda m: m["visits_left"] == 4)


async def test_editing_follows_the_type_and_is_kept_in_the_history(chain: Chain, kafka: Kafka) -> None:
    at_seller = await create_type(chain, editing="selling_location")
    nowhere = await create_type(chain, name="Fixed", editing="none")
    await sell(chain, kafka, at_seller["id"], "ED-1")
    await sell(chain, kafka, nowhere["id"], "ED-2")
    until = (datetime.now(UTC) + timedelta(days=400)).replace(hour=0, minute=0, second=0, microsecond=0)
    body = {"balance": {"svc-massage": 12}, "valid_until": until.isoformat(), "reason": "goodwill"}
    async with chain.client("memberships") as http:
        elsewhere = await http.patch("/memberships/ED-1", json=body, headers={"X-Location-Id": "loc-2"})
        assert elsewhere.status_code == 409 and elsewhere.json()["error"] == "editing_only_at_selling_location"
        never = await http.patch("/memberships/ED-2", json=body, headers={"X-Location-Id": "loc-1"})
        assert never.status_code == 409 and never.json()["error"] == "editing_not_allowed"
        ok = await http.patch("/memberships/ED-1", json=body, headers={"X-Location-Id": "loc-1", "X-User": "jane"})
        assert ok.status_code == 200, ok.text
    m = ok.json()
    assert m["balance"] == {"svc-massage": 12} and datetime.fromisoformat(m["valid_until"]) == until
    [edit] = [h for h in m["history"] if h["kind"] == "edit"]
    assert edit["detail"]["who"] == "jane" and edit["detail"]["reason"] == "goodwill"
    assert edit["detail"]["balance_before"] == {"svc-massage": 10}


async def test_eligibility_auto_codes_taken_codes_and_the_report(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain)
    await kafka.publish(topics.MEMBERSHIP_SOLD, sale(chain, t["id"], "auto"), key=ANNA["id"])
    [issued] = await kafka.read(topics.MEMBERSHIP_ISSUED, of_chain(chain))
    code = issued["code"]
    assert len(code) == 8 and not set(code) & set("01OIL")
    await kafka.publish(topics.MEMBERSHIP_SOLD, sale(chain, t["id"], code.lower()), key=ANNA["id"])
    [taken] = await kafka.read(topics.MEMBERSHIP_ISSUE_REJECTED, of_chain(chain))
    assert taken["reason"] == "code_taken"

    await kafka.publish(topics.VISIT_PAID, paid_visit(chain, code), key=ANNA["id"])
    await membership_eventually(chain, code, lambda m: m["visits_left"] == 9)
    async with chain.client("memberships") as http:
        ok = (
            await http.get(
                f"/memberships/{code}/eligibility", params={"service_id": "svc-massage", "location_id": "loc-1"}
            )
        ).json()
        assert ok["eligible"] is True and ok["visits_left"] == 9
        no = (
            await http.get(
                f"/memberships/{code}/eligibility", params={"service_id": "svc-nails", "location_id": "loc-1"}
            )
        ).json()
        assert no == {**no, "eligible": False, "reason": "service_not_included"}
        where = (
            await http.get(
                f"/memberships/{code}/eligibility", params={"service_id": "svc-massage", "location_id": "loc-9"}
            )
        ).json()
        assert where["reason"] == "location_not_allowed"
        [row] = (await http.get("/reports/memberships", params={"from": "2020-01-01"})).json()
        empty = (await http.get("/reports/memberships", params={"to": "2020-01-01"})).json()
    assert row == {
        **row,
        "name": "Massage membership",
        "sold": 1,
        "revenue": "8000.00",
        "visits_used": 1,
        "visits_remaining": 9,
        "active": 1,
    }
    assert empty == []


async def test_two_replicas_never_take_the_last_visit_twice(chain: Chain, kafka: Kafka, stack: Stack) -> None:
    """A gift code shared by twelve clients, five visits on it, two replicas consuming in parallel."""
    replica = stack.start_replica("memberships")
    try:
        t = await create_type(chain, balance="overall", total_visits=5, services=[{"service_id": "svc-massage"}])
        await sell(chain, kafka, t["id"], "GIFT")
        # Both processes in the group, each with its share of visit.paid, before any visit comes...
        sharing = await eventually(
            lambda: members(kafka, "perkstream.memberships"),
            lambda g: (
                g[0] == "Stable"
                and len(g[1]) == 2
                and all(any(tp.topic == topics.VISIT_PAID for tp in tps) for tps in g[1])
            ),
            timeout=60,
            what="two members sharing visit.paid",
        )
        partitions = sorted(tp.partition for tps in sharing[1] for tp in tps if tp.topic == topics.VISIT_PAID)
        before = await metric(replica.url, "perkstream_messages_consumed_total", topic=topics.VISIT_PAID)
        # ... and the visits on every partition (two each), so that both take some.
        clients = [{"id": f"cl-{uuid.uuid4().hex[:6]}", "phone": f"+3620{i:07d}"} for i in range(12)]
        await asyncio.gather(
            *(
                kafka.producer.send_and_wait(
                    topics.VISIT_PAID,
                    json.dumps(paid_visit(chain, "GIFT", client=c)).encode(),
                    key=c["id"].encode(),
                    partition=partitions[i % len(partitions)],
                )
                for i, c in enumerate(clients)
            )
        )
        deducted = await kafka.read(topics.MEMBERSHIP_DEDUCTED, of_chain(chain), count=5, timeout=40)
        rejected = await kafka.read(
            topics.MEMBERSHIP_DEDUCTION_REJECTED, of_chain(chain), count=7, timeout=40, settle=1.5
        )
        deducted = await kafka.read(topics.MEMBERSHIP_DEDUCTED, of_chain(chain), count=5, settle=0.5)
        assert len(deducted) == 5 and sorted(d["visits_left"] for d in deducted) == [0, 1, 2, 3, 4]
        assert sorted(d["status"] for d in deducted) == ["active"] * 4 + ["exhausted"]
        assert len(rejected) == 7 and {r["reason"] for r in rejected} == {"exhausted"}
        m = (await get_membership(chain, "GIFT")).json()
        assert m["visits_left"] == 0 and m["status"] == "exhausted"
        assert len([h for h in m["history"] if h["kind"] == "deduction"]) == 5
        # The replica did its part: it consumed the visits of its partitions.
        taken = await metric(replica.url, "perkstream_messages_consumed_total", topic=topics.VISIT_PAID) - before
        assert taken >= 2, f"the replica consumed {taken} of the 12 visits"
    finally:
        processes.stop([replica])


async def test_freeze_and_edit_answer_404_for_an_unknown_membership_and_422_for_a_bad_body(chain: Chain) -> None:
    async with chain.client("memberships") as http:
        assert (
            await http.post("/memberships/NOPE/freeze", json={"from": date.today().isoformat(), "days": 3})
        ).status_code == 404
        bad = await http.post("/memberships/NOPE/freeze", json={"from": "tomorrow", "days": 0})
        assert bad.status_code == 422 and {f["field"] for f in bad.json()["fields"]} == {"from", "days"}
    async with chain.admin("memberships") as http:
        unknown_job = await http.post("/jobs/nope/run", json={"as_of": JAN_1})
        assert unknown_job.status_code == 404
        naive = await http.post("/jobs/expiry/run", json={"as_of": "2026-01-01T10:00:00"})
        assert naive.status_code == 422 and naive.json()["fields"][0]["field"] == "as_of"


async def test_the_jobs_run_by_themselves_on_schedule(chain: Chain, kafka: Kafka, stack: Stack) -> None:
    t = await create_type(chain, validity={"period": 1, "unit": "day", "counted_from": "sale"})
    await sell(chain, kafka, t["id"], "SCHED-1", occurred_at=JAN_1)
    replica = stack.start_replica("memberships", JOBS_ENABLED="true", JOBS_INTERVAL_SECONDS="1")
    try:
        expired = await membership_eventually(chain, "SCHED-1", lambda m: m["status"] == "expired", timeout=30)
        assert [h["kind"] for h in expired["history"]] == ["sale", "expiry"]
        [event] = await kafka.read(topics.MEMBERSHIP_EXPIRED, status_event(chain, "SCHED-1"), settle=1)
        assert event["status"] == "expired"
    finally:
        processes.stop([replica])
