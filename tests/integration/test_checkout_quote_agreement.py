"""The checkout quote agrees with the payment: quote a visit, pay exactly the quoted visit (`visit.paid` with
the membership, the discounts and the card the quote gave), and the services do what the quote said: the
membership it chose loses the visit (the other not), the card earns the cashback it quoted, no more."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, eventually, of_chain, publish
from tests.integration.helpers import ANNA, create_type, membership_eventually, sell
from tests.integration.loyalty_helpers import (
    PROGRAM,
    arrived,
    bonus_setup,
    card_eventually,
    create,
    loyalty_eventually,
    put_program,
)
from tests.integration.loyalty_helpers import visit_paid as loyalty_visit
from tests.integration.test_checkout_quote import line, quote_body, quoted
from tests.integration.test_loyalty_referrals import program as referral_program
from tests.integration.test_loyalty_referrals import refer

D = Decimal


def paid_as_quoted(chain: Chain, body: dict[str, Any], q: dict[str, Any]) -> dict[str, Any]:
    """The `visit.paid` of the quoted visit: each line paid what the quote left to pay, with the membership
    the quote chose; the card the quote was asked for."""
    lines = []
    for asked, out in zip(body["lines"], q["lines"], strict=True):
        paid = {**asked, "paid": out["after_discounts"]["amount"]}
        chosen = out["membership"].get("chosen") if out["membership"].get("covered") else None
        if chosen is not None:
            paid["membership"] = {"code": chosen["code_ref"]}
        discount = out["discount"].get("chosen")
        if discount is not None:
            paid["discount"] = {
                "source": discount["source"],
                "percent": discount["percent"],
                "amount": out["discount"]["amount"],
                **({"promotion_id": discount["promotion_id"]} if discount["promotion_id"] else {}),
            }
        lines.append(paid)
    return chain.event(
        visit_id=f"v-{uuid.uuid4().hex[:8]}",
        client=body["client"],
        loyalty_card_id=body.get("loyalty_card_id"),
        lines=lines,
        **({"referral": body["referral"]} if body.get("referral") else {}),
    )


async def test_paying_the_quoted_visit_deducts_the_chosen_membership_and_accrues_the_quoted_cashback(
    chain: Chain, kafka: Kafka, gateway: str
) -> None:
    soon = await create_type(chain, name="Soon", validity={"period": 1, "unit": "month", "counted_from": "sale"})
    later = await create_type(chain, name="Later")
    suffix = uuid.uuid4().hex[:6].upper()
    await sell(chain, kafka, later["id"], f"LATER-{suffix}")
    await sell(chain, kafka, soon["id"], f"SOON-{suffix}")
    await put_program(chain, PROGRAM)  # 5% from 5,000 sold
    setup = await bonus_setup(chain, ANNA, number=f"A-{suffix}")  # 3% of what is paid
    card_id = setup["card"]["id"]
    await publish(kafka, topics.VISIT_PAID, loyalty_visit(chain, ANNA, "6000"))
    await loyalty_eventually(chain, ANNA["id"], lambda s: D(s["discount_percent"]) == D("5"))
    before = await card_eventually(chain, card_id, lambda c: D(c["balance"]) == D("180"))

    body = quote_body(line(), line(item_id="svc-hair"), line("product", "prod-oil", "400"), loyalty_card_id=card_id)
    q = await quoted(gateway, chain, body)
    massage, hair, oil = q["lines"]
    assert massage["membership"]["chosen"]["code_ref"] == f"SOON-{suffix}"
    assert massage["discount"]["code"] == "membership_pays" and D(massage["after_discounts"]["amount"]) == 0
    assert D(hair["after_discounts"]["amount"]) == D("950") and D(oil["after_discounts"]["amount"]) == D("380")
    # Cashback on what is paid: 950 + 380 (the massage the membership pays is paid 0): 3% = 39.90.
    [cashback] = q["loyalty"]["cashback"]
    assert D(cashback["amount"]) == D("39.90") == D(q["loyalty"]["cashback_total"]["amount"])

    event = paid_as_quoted(chain, body, q)
    await publish(kafka, topics.VISIT_PAID, event)
    [accrued] = await kafka.read(
        topics.LOYALTY_BONUS_ACCRUED, of_chain(chain, visit_id=event["visit_id"]), timeout=30, settle=1
    )
    assert D(accrued["amount"]) == D(cashback["amount"])
    assert accrued["promotion_id"] == cashback["promotion_id"]
    after = await card_eventually(chain, card_id, lambda c: D(c["balance"]) != D(before["balance"]))
    assert D(after["balance"]) == D(before["balance"]) + D(cashback["amount"])
    chosen = await membership_eventually(chain, f"SOON-{suffix}", lambda m: m["visits_left"] != 10)
    assert chosen["visits_left"] == 9
    [deducted] = await kafka.read(
        topics.MEMBERSHIP_DEDUCTED, of_chain(chain, visit_id=event["visit_id"]), timeout=30, settle=1
    )
    assert deducted["code"] == f"SOON-{suffix}"
    assert (await membership_eventually(chain, f"LATER-{suffix}", lambda m: True))["visits_left"] == 10

    # A visit whose every service line a membership pays (loyalty answered that variant in the parallel round):
    # the cashback on the oil alone, 3% of 380 = 11.40, as the payment accrues it.
    body = quote_body(line(), line("product", "prod-oil", "400"), loyalty_card_id=card_id)
    q = await quoted(gateway, chain, body)
    assert q["lines"][0]["membership"]["covered"] and D(q["loyalty"]["cashback_total"]["amount"]) == D("11.40")
    event = paid_as_quoted(chain, body, q)
    await publish(kafka, topics.VISIT_PAID, event)
    [accrued] = await kafka.read(
        topics.LOYALTY_BONUS_ACCRUED, of_chain(chain, visit_id=event["visit_id"]), timeout=30, settle=1
    )
    assert D(accrued["amount"]) == D("11.40")


async def test_the_quote_chooses_one_discount_per_line_and_paying_it_is_applied_not_refused(
    chain: Chain, kafka: Kafka, gateway: str
) -> None:
    await put_program(chain, PROGRAM)  # 5% from 5,000 sold
    card_type = await create(chain, "/card-types", {"name": "Discount card", "location_ids": ["loc-1"]})
    kind = {"type": "static_discount", "card_type_ids": [card_type["id"]]}
    ten = await create(chain, "/promotions", {**kind, "name": "Ten off services", "percent": "10",
                                               "applies_to": {"kinds": ["service"]}})  # fmt: skip
    five = await create(chain, "/promotions", {**kind, "name": "Five off", "percent": "5"})
    card = await create(
        chain,
        "/cards",
        {"card_type_id": card_type["id"], "client_id": ANNA["id"], "phone": ANNA["phone"], "number": "D-1"},
    )
    await publish(kafka, topics.VISIT_PAID, loyalty_visit(chain, ANNA, "6000"))
    await loyalty_eventually(chain, ANNA["id"], lambda s: D(s["discount_percent"]) == D("5"))

    body = quote_body(line(item_id="svc-hair"), line("product", "prod-oil", "400"), loyalty_card_id=card["id"])
    q = await quoted(gateway, chain, body)
    hair, oil = (x["discount"] for x in q["lines"])
    # The hair: the promotion's 10% beats the personal 5% and the other promotion's 5%.
    assert (hair["chosen"]["promotion_id"], D(hair["chosen"]["percent"]), D(hair["amount"])) == (
        ten["id"],
        D("10"),
        D("100"),
    )
    assert {(o["source"], o["promotion_id"]): o["code"] for o in hair["offers"]} == {
        ("promotion", ten["id"]): "static_discount",
        ("personal", None): "lower_percent",
        ("promotion", five["id"]): "lower_percent",
    }
    # The oil: the services-only promotion does not cover it; 5% and 5%: the personal discount wins the tie.
    assert (oil["chosen"]["source"], D(oil["amount"])) == ("personal", D("20"))
    assert {(o["source"], o["promotion_id"]): o["code"] for o in oil["offers"]} == {
        ("personal", None): "personal_discount",
        ("promotion", five["id"]): "tie_lost",
        ("promotion", ten["id"]): "line_not_covered",
    }
    assert all(o["reason"] for o in hair["offers"] + oil["offers"])

    event = paid_as_quoted(chain, body, q)
    await publish(kafka, topics.VISIT_PAID, event)
    [applied] = await kafka.read(
        topics.LOYALTY_DISCOUNT_APPLIED, of_chain(chain, visit_id=event["visit_id"]), timeout=30
    )
    assert [(x["line"], x["source"], D(x["amount"])) for x in applied["lines"]] == [
        (0, "promotion", D("100")),
        (1, "personal", D("20")),
    ]
    # Nothing refused: a marker visit on the same client's partition comes after any refusal would.
    marker = paid_as_quoted(chain, {**body, "lines": [line(item_id="svc-hair")]}, {"lines": [q["lines"][0]]})
    await publish(kafka, topics.VISIT_PAID, marker)
    await kafka.read(topics.LOYALTY_DISCOUNT_APPLIED, of_chain(chain, visit_id=marker["visit_id"]), timeout=30)
    refused = await kafka.read_to_end(topics.LOYALTY_DISCOUNT_REFUSED, of_chain(chain, visit_id=event["visit_id"]))
    assert refused == []


async def test_an_invitees_first_visit_is_quoted_the_referral_discount_and_the_next_is_told_why_not(
    chain: Chain, kafka: Kafka, gateway: str
) -> None:
    await referral_program(chain, invitee_discount_percent="15")
    invitee = {"id": f"cl-inv-{uuid.uuid4().hex[:6]}", "phone": "+36205550101"}
    r = await refer(chain, invitee, client_id=ANNA["id"])
    assert r.status_code in (200, 201), r.text

    body = quote_body(line(item_id="svc-hair"), line("membership", "type-1", "8000"), client=invitee)
    q = await quoted(gateway, chain, body)
    hair, membership = (x["discount"] for x in q["lines"])
    assert (hair["chosen"]["source"], D(hair["chosen"]["percent"]), D(hair["amount"])) == (
        "referral",
        D("15"),
        D("150"),
    )
    assert hair["code"] == "referral_discount" and membership["code"] == "not_discounted"

    event = paid_as_quoted(chain, body, q)
    await publish(kafka, topics.VISIT_PAID, event)
    [applied] = await kafka.read(
        topics.LOYALTY_DISCOUNT_APPLIED, of_chain(chain, visit_id=event["visit_id"]), timeout=30
    )
    assert [(x["source"], D(x["amount"])) for x in applied["lines"]] == [("referral", D("150"))]

    async def second() -> dict[str, Any]:
        return await quoted(gateway, chain, body)

    again = await eventually(
        second, lambda a: a["lines"][0]["discount"]["code"] == "no_discount", what="the first visit recorded"
    )
    [told] = again["lines"][0]["discount"]["offers"]
    assert (told["source"], told["code"], told["percent"]) == ("referral", "not_first_visit", None)


async def test_a_referral_the_visit_will_name_is_quoted_and_its_discount_applied_when_paid(
    chain: Chain, kafka: Kafka, gateway: str
) -> None:
    await referral_program(chain, invitee_discount_percent="15")
    invitee = {"id": f"cl-new-{uuid.uuid4().hex[:6]}", "phone": "+36205550102"}
    body = quote_body(line(item_id="svc-hair"), client=invitee, referral={"referrer_client_id": ANNA["id"]})
    q = await quoted(gateway, chain, body)
    hair = q["lines"][0]["discount"]
    assert (hair["chosen"]["source"], D(hair["amount"])) == ("referral", D("150"))
    # Named by nobody, the same visit gets none: the referral is the quote's to name, as the visit's.
    alone = await quoted(gateway, chain, {**body, "referral": None})
    assert alone["lines"][0]["discount"]["code"] == "no_discount"

    event = paid_as_quoted(chain, body, q)
    await publish(kafka, topics.VISIT_PAID, event)
    [applied] = await kafka.read(
        topics.LOYALTY_DISCOUNT_APPLIED, of_chain(chain, visit_id=event["visit_id"]), timeout=30
    )
    # Applied, so not refused: each line the visit discounted is in one of the two.
    assert [(x["source"], D(x["amount"])) for x in applied["lines"]] == [("referral", D("150"))]


async def test_the_visit_an_invitee_arrived_for_is_quoted_as_their_first_when_the_quote_names_it(
    chain: Chain, kafka: Kafka, gateway: str
) -> None:
    """The desk quotes at checkout, after the client arrived: loyalty holds that visit already. Named by the
    quote (`visit_id`), it is this visit, not an earlier one, as the payment of that visit sees it."""
    await referral_program(chain, invitee_discount_percent="15")
    invitee = {"id": f"cl-new-{uuid.uuid4().hex[:6]}", "phone": "+36205550103"}
    vid = f"v-{uuid.uuid4().hex[:8]}"
    await publish(kafka, topics.VISIT_ARRIVED, arrived(chain, invitee, vid))
    await loyalty_eventually(chain, invitee["id"], lambda s: s["visits"] == 1, location_id=None)
    named = {"referrer_client_id": ANNA["id"]}
    body = quote_body(line(item_id="svc-hair"), client=invitee, referral=named, visit_id=vid)
    q = await quoted(gateway, chain, body)
    assert (q["visit_id"], q["visit"]["code"]) == (vid, "to_pay")
    hair = q["lines"][0]["discount"]
    assert (hair["chosen"]["source"], D(hair["amount"])) == ("referral", D("150"))
    # Not naming the visit, the quote cannot tell its record from an earlier visit: no discount, and why.
    unnamed = await quoted(gateway, chain, {**body, "visit_id": None})
    [refused] = [o for o in unnamed["lines"][0]["discount"]["offers"] if o["source"] == "referral"]
    assert refused["code"] == "already_a_client"

    event = {**paid_as_quoted(chain, body, q), "visit_id": vid}
    await publish(kafka, topics.VISIT_PAID, event)
    [applied] = await kafka.read(topics.LOYALTY_DISCOUNT_APPLIED, of_chain(chain, visit_id=vid), timeout=30)
    assert [(x["source"], D(x["amount"])) for x in applied["lines"]] == [("referral", D("150"))]
    # Quoted again once paid: the quote says so (paying it again would change nothing).
    again = await quoted(gateway, chain, body)
    assert again["visit"]["code"] == "already_paid" and vid in again["visit"]["reason"]
    assert unnamed["visit"]["code"] == "not_named"
