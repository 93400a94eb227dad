"""A paid visit's gift card lines and instrument payments, as the other services read them: loyalty leaves
a gift card line out of the client's sold and paid (buying one is prepaying) and counts a line's `paid`
whatever paid it (a gift card, the account); memberships issues no membership for a gift card line (even
one naming a membership type's id and a code) and deducts a membership-paid line as ever, its payments aside."""

from __future__ import annotations

import uuid

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain
from tests.integration.helpers import ANNA, create_type, membership_eventually, paid_visit, sell
from tests.integration.loyalty_helpers import client, loyalty_eventually, put_program, visit_paid
from tests.integration.proof import until_marker

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

GIFT_CARD_TYPE = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"


def gift_card_line(type_id: str, paid: str, code: str | None = "auto") -> dict[str, object]:
    return {"kind": "gift_card", "item_id": type_id, "quantity": 1, "sold": paid, "paid": paid, "code": code}


async def test_loyalty_counts_no_gift_card_line_and_every_paid_line(chain: Chain, kafka: Kafka) -> None:
    await put_program(chain)
    cleo = client("gift-1")
    v = visit_paid(chain, cleo, "1000")
    # The service line: 400 of its 1,000 paid with a gift card, 100 from the account, the rest in money.
    v["lines"][0]["payments"] = [
        {"instrument": "gift_card", "gift_card": {"code": "G-1"}, "amount": "400.00"},
        {"instrument": "account", "amount": "100.00"},
    ]
    v["lines"].append(gift_card_line(GIFT_CARD_TYPE, "5000.00"))  # a gift card bought: prepaid, not counted
    await kafka.publish(topics.VISIT_PAID, v, key=cleo["id"])
    state = await loyalty_eventually(chain, cleo["id"], lambda s: s["sold"] != "0.00")
    assert (state["sold"], state["paid"]) == ("1000.00", "1000.00")

    # A visit of gift cards only counts nothing; a later visit on the same key is the marker.
    only_gift_cards = {**visit_paid(chain, cleo, "0"), "lines": [gift_card_line(GIFT_CARD_TYPE, "9000.00")]}
    await kafka.publish(topics.VISIT_PAID, only_gift_cards, key=cleo["id"])
    await kafka.publish(topics.VISIT_PAID, visit_paid(chain, cleo, "300"), key=cleo["id"])
    state = await loyalty_eventually(chain, cleo["id"], lambda s: s["sold"] != "1000.00")
    assert (state["sold"], state["paid"]) == ("1300.00", "1300.00")


async def test_memberships_ignores_gift_card_lines_and_instrument_payments(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain)
    await sell(chain, kafka, t["id"], "GM-1")
    v = paid_visit(chain, "GM-1")
    v["lines"][0]["paid"] = "500"
    v["lines"][0]["payments"] = [{"instrument": "account", "amount": "500.00"}]
    # A gift card line naming the membership type's id, with a code: a gift card, not a membership.
    v["lines"].append(gift_card_line(t["id"], "8000.00", code="GM-2"))
    await kafka.publish(topics.VISIT_PAID, v, key=ANNA["id"])
    m = await membership_eventually(chain, "GM-1", lambda m: m["visits_left"] == 9)
    assert m["status"] == "active"

    # The marker: a later visit selling a membership, on Anna's key. Nothing was issued for the gift card line.
    later = chain.event(
        visit_id=f"v-{uuid.uuid4().hex[:8]}",
        client=ANNA,
        lines=[
            {"kind": "membership", "item_id": t["id"], "quantity": 1, "sold": "8000", "paid": "8000", "code": "GM-3"}
        ],
    )
    await kafka.publish(topics.VISIT_PAID, later, key=ANNA["id"])
    issued = await until_marker(kafka, topics.MEMBERSHIP_ISSUED, of_chain(chain), of_chain(chain, code="GM-3"))
    assert [i["code"] for i in issued] == ["GM-1"]
    assert (await membership_eventually(chain, "GM-1", lambda m: True))["visits_left"] == 9
    deducted = await kafka.read(topics.MEMBERSHIP_DEDUCTED, of_chain(chain, visit_id=v["visit_id"]))
    assert [d["code"] for d in deducted] == ["GM-1"]
