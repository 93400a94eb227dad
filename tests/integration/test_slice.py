"""The first slice end to end: a sale and a paid visit published on Kafka deduct a membership, and the
client gets exactly one SMS, through the real broker, database and four service processes."""

from __future__ import annotations

import uuid

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain
from tests.integration.helpers import ANNA, create_type, membership_eventually, paid_visit, sell

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_a_paid_visit_deducts_one_visit_and_texts_the_client(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain)
    sold = await sell(chain, kafka, t["id"], "4567")
    assert sold["status"] == "sold" and sold["balance"] == {"svc-massage": 10}

    visit = paid_visit(chain, "4567")
    await kafka.publish(topics.VISIT_PAID, visit, key=ANNA["id"], headers=[("traceparent", TRACEPARENT)])

    after = await membership_eventually(chain, "4567", lambda m: m["balance"] == {"svc-massage": 9})
    assert after["status"] == "active"
    assert after["visits_left"] == 9
    deduction = [h for h in after["history"] if h["kind"] == "deduction"]
    assert len(deduction) == 1
    assert deduction[0]["visit_id"] == visit["visit_id"]
    assert deduction[0]["service_cost"] == "800.00"  # 8000 / 10 visits

    [sms] = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain))
    assert sms["text"] == "Anna, 1 visit was deducted from membership 4567; 9 left."
    assert sms["to"] == ANNA["phone"] and sms["client_id"] == ANNA["id"] and sms["channel"] == "sms"
    assert sms["type"] == "membership.deducted" and sms["locale"] == "en"
    uuid.UUID(sms["notification_id"])
    # The visit's trace runs through the deduction into the notice.
    [deducted] = await kafka.read(topics.MEMBERSHIP_DEDUCTED, of_chain(chain))
    assert sms["source_event_id"] == deducted["event_id"]
    assert sms["_headers"]["traceparent"] == TRACEPARENT.decode()
    assert deducted["_headers"]["traceparent"] == TRACEPARENT.decode()

    async with chain.client("notifications") as http:
        history = (await http.get("/notifications", params={"client_id": ANNA["id"]})).json()
    assert [n["text"] for n in history] == [sms["text"]]
    assert history[0]["status"] == "queued" and history[0]["segments"] == 1


async def test_a_visit_paid_twice_deducts_once_and_texts_once(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain)
    await sell(chain, kafka, t["id"], "7001")
    visit = paid_visit(chain, "7001", quantity=2)
    await kafka.publish(topics.VISIT_PAID, visit, key=ANNA["id"])  # the original
    await kafka.publish(topics.VISIT_PAID, visit, key=ANNA["id"])  # redelivered: same event_id
    replay = {**visit, "event_id": f"e-{uuid.uuid4()}"}  # the booking system sends the visit again
    await kafka.publish(topics.VISIT_PAID, replay, key=ANNA["id"])
    # A later visit proves the three above were all consumed before we look.
    await kafka.publish(topics.VISIT_PAID, paid_visit(chain, "7001"), key=ANNA["id"])

    await membership_eventually(chain, "7001", lambda m: m["visits_left"] == 7)  # 10 - 2 - 1
    deducted = await kafka.read(topics.MEMBERSHIP_DEDUCTED, of_chain(chain), count=2, settle=2)
    assert sorted(d["units"] for d in deducted) == [1, 2]
    texts = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain), count=2, settle=2)
    assert sorted(n["text"] for n in texts) == [
        "Anna, 1 visit was deducted from membership 7001; 7 left.",
        "Anna, 2 visits were deducted from membership 7001; 8 left.",
    ]


async def test_a_repeated_sale_issues_once(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain)
    sold = await sell(chain, kafka, t["id"], "8100", sale_id="s-once")
    again = {
        "event_id": f"e-{uuid.uuid4()}",
        "occurred_at": sold["sold_at"],
        "chain_id": chain.id,
        "location_id": "loc-1",
        "sale_id": "s-once",
        "membership_type_id": t["id"],
        "code": "8101",
        "client": ANNA,
        "price": "8000",
    }
    await kafka.publish(topics.MEMBERSHIP_SOLD, again, key=ANNA["id"])
    await kafka.publish(topics.VISIT_PAID, paid_visit(chain, "8100"), key=ANNA["id"])  # a marker after it
    await membership_eventually(chain, "8100", lambda m: m["visits_left"] == 9)
    async with chain.client("memberships") as http:
        owned = (await http.get("/memberships", params={"client_id": ANNA["id"]})).json()
    assert [m["code"] for m in owned] == ["8100"]
    # The client's memberships come with their history, as the desk reads them.
    assert [h["kind"] for h in owned[0]["history"]] == ["sale", "deduction"]


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        ("unknown", "unknown_code"),
        ("other_service", "service_not_included"),
        ("used_up", "exhausted"),
        ("expired", "expired"),
    ],
)
async def test_a_line_that_cannot_be_paid_is_rejected_with_its_reason_and_changes_nothing(
    chain: Chain, kafka: Kafka, scenario: str, reason: str
) -> None:
    overrides = {}
    if scenario == "used_up":
        overrides = {"services": [{"service_id": "svc-massage", "visits": 1}]}
    if scenario == "expired":
        overrides = {"validity": {"period": 1, "unit": "day", "counted_from": "sale"}}
    t = await create_type(chain, **overrides)
    sold_at = "2026-01-01T10:00:00+00:00" if scenario == "expired" else None
    await sell(chain, kafka, t["id"], "5555", **({"occurred_at": sold_at} if sold_at else {}))
    if scenario == "used_up":
        await kafka.publish(topics.VISIT_PAID, paid_visit(chain, "5555"), key=ANNA["id"])
        await membership_eventually(chain, "5555", lambda m: m["status"] == "exhausted")
    before = await membership_eventually(chain, "5555", lambda m: True)

    code = "0000" if scenario == "unknown" else "5555"
    service = "svc-nails" if scenario == "other_service" else "svc-massage"
    visit = paid_visit(chain, code, service=service)
    await kafka.publish(topics.VISIT_PAID, visit, key=ANNA["id"])

    [rejected] = await kafka.read(topics.MEMBERSHIP_DEDUCTION_REJECTED, of_chain(chain))
    assert rejected["reason"] == reason
    assert rejected["visit_id"] == visit["visit_id"] and rejected["service_id"] == service
    after = await membership_eventually(chain, "5555", lambda m: True)
    assert (after["balance"], after["status"], len(after["history"])) == (
        before["balance"],
        before["status"],
        len(before["history"]),
    )


async def test_an_overall_membership_takes_a_visit_for_any_listed_service(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(
        chain,
        balance="overall",
        total_visits=5,
        services=[{"service_id": "svc-massage"}, {"service_id": "svc-sauna"}],
    )
    await sell(chain, kafka, t["id"], "OV-1")
    await kafka.publish(topics.VISIT_PAID, paid_visit(chain, "OV-1", service="svc-sauna"), key=ANNA["id"])
    await kafka.publish(topics.VISIT_PAID, paid_visit(chain, "ov-1", service="svc-massage"), key=ANNA["id"])
    after = await membership_eventually(chain, "OV-1", lambda m: m["visits_left"] == 3)
    assert after["balance"] == {"*": 3}
