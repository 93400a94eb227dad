"""What the README and the contract promise of memberships, each through the real Kafka and PostgreSQL
(issue "Proof that can fail", point 7), where no test held the promise before:

- `balance_fixed_after_sale` (and `visits_fixed_after_sale`): after a sale, a type's balance kind and
  the visits a sold membership holds answer 409 with the way out, change nothing and publish nothing;
- `code_required` end to end: a booking system's visit selling a membership of a type that needs a code,
  without one, is refused once (`membership.issue_rejected`), whichever of the visit and inventory's
  `membership.sold` comes first, and issues nothing;
- automatic deduction: "a client with nothing eligible is not charged and nothing is published";
- the `visits_left` reason of `membership.expiring` becomes the client's running-low notice.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, eventually, of_chain
from tests.integration.helpers import ANNA, create_type, get_membership, membership_eventually, paid_visit, sale, sell
from tests.integration.proof import until_marker

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def of_visit(chain: Chain, visit_id: str) -> Any:
    return lambda m: m.get("chain_id") == chain.id and m.get("visit_id") == visit_id


# --- what a sold type may no longer change --------------------------------------------------------


async def test_after_a_sale_the_balance_kind_and_the_visits_are_fixed_409_and_nothing_changes(
    chain: Chain, kafka: Kafka
) -> None:
    t = await create_type(chain)  # split: svc-massage, 10 visits
    await sell(chain, kafka, t["id"], "BF-1")
    async with chain.client("memberships") as http:
        kind = await http.patch(f"/membership-types/{t['id']}", json={"balance": "overall", "total_visits": 10})
        visits = await http.patch(
            f"/membership-types/{t['id']}",
            json={"services": [{"service_id": "svc-massage", "category_id": "cat-body", "visits": 12}]},
        )
        after = (await http.get(f"/membership-types/{t['id']}")).json()
        # The marker: a change allowed after the sale publishes membership_type.changed on the type's key.
        renamed = await http.patch(f"/membership-types/{t['id']}", json={"name": "Massage 10"})
    assert kind.status_code == 409, kind.text
    assert kind.json()["error"] == "balance_fixed_after_sale" and "duplicate" in kind.json()["message"]
    assert visits.status_code == 409, visits.text
    assert visits.json()["error"] == "visits_fixed_after_sale" and "duplicate" in visits.json()["message"]
    assert (after["balance"], after["total_visits"]) == ("split", None)
    assert [(s["service_id"], s["visits"]) for s in after["services"]] == [("svc-massage", 10)]
    assert renamed.status_code == 200, renamed.text

    refused = await until_marker(
        kafka, topics.MEMBERSHIP_TYPE_CHANGED, of_chain(chain), of_chain(chain, name="Massage 10")
    )
    assert refused == [], "a refused change was published"
    # The sold membership holds what it was sold with.
    m = (await get_membership(chain, "BF-1")).json()
    assert m["balance"] == {"svc-massage": 10} and m["visits_left"] == 10


# --- code_required, end to end ----------------------------------------------------------------------


async def test_a_visit_selling_a_membership_that_needs_a_code_without_one_is_refused_once_as_code_required(
    chain: Chain, kafka: Kafka
) -> None:
    needs_code = await create_type(chain, name="Coded")  # allow_without_code: false
    own = await create_type(chain, name="Own")
    await sell(chain, kafka, own["id"], "CR-OWN")  # Anna's own, to show the visit was applied
    visit = paid_visit(chain, "CR-OWN")
    visit["lines"].append(
        {"kind": "membership", "item_id": needs_code["id"], "quantity": 1, "sold": "8000", "paid": "8000", "code": None}
    )
    await kafka.publish(topics.VISIT_PAID, visit, key=ANNA["id"])

    # The visit is applied (its service line deducted), and inventory sold the line: its membership.sold,
    # under the sale id both services derive, is on the topic.
    sale_id = f"inventory:visit:{visit['visit_id']}:1:0"
    await membership_eventually(chain, "CR-OWN", lambda m: m["visits_left"] == 9)
    [sold] = await kafka.read(topics.MEMBERSHIP_SOLD, lambda m: m.get("sale_id") == sale_id)
    assert sold["code"] is None and sold["membership_type_id"] == needs_code["id"]
    # The marker, on Anna's key after inventory's sale: a sale of a type that does not exist.
    marker = sale(chain, str(uuid.uuid4()), "CR-MARK")
    await kafka.publish(topics.MEMBERSHIP_SOLD, marker, key=ANNA["id"])

    [rejected] = await until_marker(
        kafka, topics.MEMBERSHIP_ISSUE_REJECTED, of_chain(chain), lambda m: m.get("sale_id") == marker["sale_id"]
    )
    assert (rejected["reason"], rejected["sale_id"], rejected["code"]) == ("code_required", sale_id, None)
    assert rejected["membership_type_id"] == needs_code["id"] and rejected["client"]["id"] == ANNA["id"]
    assert await kafka.read_to_end(topics.MEMBERSHIP_ISSUED, lambda m: m.get("sale_id") == sale_id) == []
    async with chain.client("memberships") as http:
        owned = (await http.get("/memberships", params={"client_id": ANNA["id"]})).json()
    assert [m["code"] for m in owned] == ["CR-OWN"], "a membership was issued without its code"


# --- automatic deduction with nothing eligible ---------------------------------------------------------


def no_show(chain: Chain, visit_id: str, service: str, code: str | None = None) -> dict[str, Any]:
    scheduled = datetime.now(UTC) + timedelta(minutes=1)  # after the sales
    named = {"membership": {"code": code}} if code else {}
    return chain.event(
        visit_id=visit_id, client=ANNA, scheduled_at=scheduled.isoformat(), services=[{"service_id": service, **named}]
    )


async def test_a_no_show_with_nothing_eligible_charges_nothing_and_publishes_nothing(
    chain: Chain, kafka: Kafka
) -> None:
    massage = await create_type(chain, name="Massage")  # svc-massage, at loc-1 and loc-2
    nails_elsewhere = await create_type(
        chain,
        name="Nails at loc-2",
        location_ids=["loc-2"],
        services=[{"service_id": "svc-nails", "category_id": "cat-hands", "visits": 5}],
    )
    await sell(chain, kafka, massage["id"], "NE-1")
    await sell(chain, kafka, nails_elsewhere["id"], "NE-2", location_id="loc-2")
    async with chain.client("memberships") as http:
        r = await http.put("/locations/loc-1/deduction-policy", json={"no_show": True, "late_cancel_hours": 24})
    assert r.status_code == 200, r.text

    # Nails at loc-1: her massage membership does not include them, her nails one is not valid here.
    nothing = f"v-{uuid.uuid4().hex[:8]}"
    await kafka.publish(topics.VISIT_NO_SHOW, no_show(chain, nothing, "svc-nails"), key=ANNA["id"])
    # Markers after it on her key, the same topic: a no-show the massage membership pays (deducted), and
    # one naming a code that does not exist (rejected).
    paid_by_massage, unknown = f"v-{uuid.uuid4().hex[:8]}", f"v-{uuid.uuid4().hex[:8]}"
    await kafka.publish(topics.VISIT_NO_SHOW, no_show(chain, paid_by_massage, "svc-massage"), key=ANNA["id"])
    await kafka.publish(topics.VISIT_NO_SHOW, no_show(chain, unknown, "svc-massage", code="NE-NONE"), key=ANNA["id"])

    deducted = await until_marker(kafka, topics.MEMBERSHIP_DEDUCTED, of_chain(chain), of_visit(chain, paid_by_massage))
    rejected = await until_marker(
        kafka, topics.MEMBERSHIP_DEDUCTION_REJECTED, of_chain(chain), of_visit(chain, unknown)
    )
    assert deducted == [] and rejected == [], (deducted, rejected)
    [marker] = await kafka.read(topics.MEMBERSHIP_DEDUCTED, of_visit(chain, paid_by_massage))
    assert (marker["code"], marker["cause"]) == ("NE-1", "no_show")
    [named] = await kafka.read(topics.MEMBERSHIP_DEDUCTION_REJECTED, of_visit(chain, unknown))
    assert named["reason"] == "unknown_code"

    one, two = (await get_membership(chain, "NE-1")).json(), (await get_membership(chain, "NE-2")).json()
    assert (one["visits_left"], two["visits_left"]) == (9, 5)
    charged = [h["visit_id"] for m in (one, two) for h in m["history"] if h["kind"] in ("deduction", "reversal")]
    assert charged == [paid_by_massage], charged


# --- running low ---------------------------------------------------------------------------------------


async def test_visits_left_down_to_the_types_threshold_texts_the_client_a_running_low_notice(
    chain: Chain, kafka: Kafka
) -> None:
    t = await create_type(
        chain,
        name="Three massages",
        notify_visits_left=2,
        services=[{"service_id": "svc-massage", "category_id": "cat-body", "visits": 3}],
    )
    await sell(chain, kafka, t["id"], "RL-1")
    await kafka.publish(topics.VISIT_PAID, paid_visit(chain, "RL-1"), key=ANNA["id"])
    await membership_eventually(chain, "RL-1", lambda m: m["visits_left"] == 2)

    async with chain.admin("memberships") as http:
        r = await http.post("/jobs/expiring_notices/run", json={"as_of": datetime.now(UTC).isoformat()})
    assert r.status_code == 200, r.text
    assert r.json()["changed"]["count"] == 1, r.json()
    [expiring] = await kafka.read(topics.MEMBERSHIP_EXPIRING, of_chain(chain, code="RL-1"))
    assert expiring["reason"] == "visits_left" and expiring["visits_left"] == 2

    [notice] = await kafka.read(topics.NOTIFICATION_SMS, lambda m: m.get("source_event_id") == expiring["event_id"])
    assert notice["type"] == "membership.running_low", notice
    assert notice["text"] == "Anna, only 2 visits left on membership RL-1."
    assert (notice["to"], notice["client_id"]) == (ANNA["phone"], ANNA["id"])

    async def told() -> list[dict[str, Any]]:
        async with chain.client("notifications") as http:
            return (await http.get("/notifications", params={"client_id": ANNA["id"]})).json()  # type: ignore[no-any-return]

    history = await eventually(told, lambda ns: any(n["source_event_id"] == expiring["event_id"] for n in ns))
    assert [n["type"] for n in history if n["source_event_id"] == expiring["event_id"]] == ["membership.running_low"]
