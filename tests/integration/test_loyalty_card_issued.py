""" "Loyalty card must be issued before a client's appointment" (issue 14, point 9), through real Kafka and
PostgreSQL: a card issued after the visit's time (its appointment, when loyalty knows it, else its
payment) earns nothing for it, however late the `visit.paid` comes; points already on the card may
still pay for it; a card brought from another system keeps the date it was issued (`issued_at`)."""

from __future__ import annotations

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, publish
from tests.integration.loyalty_helpers import (
    arrived,
    at,
    bonus_setup,
    card_eventually,
    client,
    create,
    loyalty_eventually,
    visit_paid,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_a_card_issued_after_the_visit_earns_nothing_for_it(chain: Chain, kafka: Kafka) -> None:
    ada = client("ada")
    setup = await bonus_setup(chain, ada)  # 3% of what is paid, the card issued now
    card_id = setup["card"]["id"]
    async with chain.client("loyalty") as http:
        r = await http.post(
            f"/cards/{card_id}/transactions", json={"kind": "accrue", "amount": "100", "reason": "welcome"}
        )
        assert r.status_code == 200, r.text

    # Paid yesterday, the payment coming in only now: on her cards, and on the card named, spending 50.
    late = visit_paid(chain, ada, "1000", occurred_at=at(-1))
    named = visit_paid(chain, ada, "2000", card=card_id, spent="50", occurred_at=at(-1))
    # Her appointment was an hour ago (reported before the payment, which comes after the card).
    booked = visit_paid(chain, ada, "3000")
    await publish(kafka, topics.VISIT_ARRIVED, {**arrived(chain, ada, booked["visit_id"]), "scheduled_at": at(-1 / 24)})
    await loyalty_eventually(chain, ada["id"], lambda s: s["visits"] == 1)
    for v in (late, named, booked):
        await publish(kafka, topics.VISIT_PAID, v)
    marker = visit_paid(chain, ada, "10000")  # today, after the card: 300 points
    await publish(kafka, topics.VISIT_PAID, marker)

    c = await card_eventually(
        chain, card_id, lambda c: any(t["visit_id"] == marker["visit_id"] for t in c["transactions"])
    )
    assert [(t["kind"], t["amount"], t["visit_id"]) for t in c["transactions"]] == [
        ("manual", "100.00", None),
        ("spend", "-50.00", named["visit_id"]),
        ("accrual", "300.00", marker["visit_id"]),
    ]
    assert c["balance"] == "350.00"
    # The visits count for her statistics all the same.
    state = await loyalty_eventually(chain, ada["id"], lambda s: s["sold"] == "16000.00")
    assert state["visits"] == 1


async def test_a_card_keeps_the_date_it_was_issued(chain: Chain, kafka: Kafka) -> None:
    bea = client("bea")
    setup = await bonus_setup(chain, bea, number="B-0")
    async with chain.client("loyalty") as http:
        r = await http.post(
            "/cards",
            json={
                "card_type_id": setup["card_type"]["id"],
                "client_id": bea["id"],
                "number": "B-1",
                "issued_at": at(1),
            },
        )
        assert r.status_code == 422 and "issued_at" in r.text  # never ahead of now
    old = await create(
        chain,
        "/cards",
        {"card_type_id": setup["card_type"]["id"], "client_id": bea["id"], "number": "B-1", "issued_at": at(-30)},
    )
    assert old["issued_at"][:10] == at(-30)[:10]
    v = visit_paid(chain, bea, "1000", card="B-1", occurred_at=at(-2))  # after B-1 was issued
    await publish(kafka, topics.VISIT_PAID, v)
    c = await card_eventually(chain, old["id"], lambda c: c["balance"] != "0.00")
    assert c["balance"] == "30.00"
