"""Chain discount promotions (issue 18, point 1) through real Kafka and PostgreSQL: promotions made through
the API, visits paid naming the discount they applied, and what loyalty says of each
(`loyalty.discount_applied`, or `loyalty.discount_refused` with the reason when the promotion was not the
client's to have: recorded and flagged, the visit's other effects going on)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, new_chain, of_chain, publish
from tests.integration.loyalty_helpers import card_eventually, client, create

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

HAIR = {"kind": "service", "item_id": "svc-hair", "category_id": "cat-hair", "quantity": 1}
OIL = {"kind": "product", "item_id": "prod-oil", "category_id": "cat-oils", "quantity": 1}


async def discount_setup(chain: Chain, who: dict[str, Any], **promotion: Any) -> dict[str, Any]:
    """A card type valid at loc-1, a discount promotion on it (10% on every visit unless told), a card."""
    card_type = await create(chain, "/card-types", {"name": "Discount card", "location_ids": ["loc-1"]})
    body = {"name": "Ten off", "type": "static_discount", "card_type_ids": [card_type["id"]], "percent": "10"}
    promo = await create(chain, "/promotions", {**body, **promotion})
    card = await create(
        chain,
        "/cards",
        {"card_type_id": card_type["id"], "client_id": who["id"], "phone": who["phone"], "number": f"D-{who['id']}"},
    )
    return {"card_type": card_type, "promotion": promo, "card": card}


def line(
    base: dict[str, Any], sold: str, percent: str | None = None, promotion_id: str | None = None, **d: Any
) -> dict[str, Any]:
    """A line sold at `sold`, with the discount the booking system applied (a promotion's unless `d` says)."""
    if percent is None:
        return {**base, "sold": sold, "paid": sold}
    amount = f"{float(sold) * float(percent) / 100:.2f}"
    discount = {"source": "promotion", "promotion_id": promotion_id, "percent": percent, "amount": amount, **d}
    if discount["source"] != "promotion":
        discount.pop("promotion_id")
    return {**base, "sold": sold, "paid": f"{float(sold) - float(amount):.2f}", "discount": discount}


def paid(chain: Chain, who: dict[str, Any], visit_id: str, *lines: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return chain.event(visit_id=visit_id, client=who, lines=list(lines), **fields)


def by_visit(events: list[dict[str, Any]]) -> dict[str, list[tuple[Any, ...]]]:
    return {
        e["visit_id"]: [(x["line"], x["source"], x.get("promotion_id"), x["percent"], x["amount"]) for x in e["lines"]]
        for e in events
    }


async def test_a_static_discount_is_applied_once_per_card_then_refused_max_uses_reached(
    chain: Chain, kafka: Kafka
) -> None:
    ann = client("disc-ann")
    setup = await discount_setup(chain, ann, max_uses=1)
    pid = setup["promotion"]["id"]
    assert setup["promotion"]["applies_to"] == {"kinds": ["service", "product"], "category_ids": [], "item_ids": []}
    await publish(kafka, topics.VISIT_PAID, paid(chain, ann, "dv-1", line(HAIR, "1000", "10", pid)))
    await publish(kafka, topics.VISIT_PAID, paid(chain, ann, "dv-2", line(HAIR, "500", "10", pid)))
    [applied] = await kafka.read(topics.LOYALTY_DISCOUNT_APPLIED, of_chain(chain))
    assert by_visit([applied]) == {"dv-1": [(0, "promotion", pid, "10.00", "100.00")]}
    assert applied["amount"] == "100.00" and applied["lines"][0]["card_id"] == setup["card"]["id"]
    [refused] = await kafka.read(topics.LOYALTY_DISCOUNT_REFUSED, of_chain(chain))
    assert refused["visit_id"] == "dv-2" and refused["client"]["id"] == ann["id"]
    assert [(x["reason"], x["percent"], x["amount"]) for x in refused["lines"]] == [
        ("max_uses_reached", "10.00", "50.00")
    ]


async def test_cumulative_discount_tiers_from_the_history_before_the_visit(chain: Chain, kafka: Kafka) -> None:
    # The seed's way: 3% from the first visit, 5% once 10,000 was sold before the visit.
    bea = client("disc-bea")
    tiers = [{"from": "0", "percent": "3"}, {"from": "10000", "percent": "5"}]
    setup = await discount_setup(chain, bea, type="cumulative_discount_sold", percent=None, rules=tiers)
    pid = setup["promotion"]["id"]
    await publish(kafka, topics.VISIT_PAID, paid(chain, bea, "dv-10", line(HAIR, "10000", "3", pid)))
    # 10,000 sold before this one: the 5% tier; asking 5% on the first visit would have been refused.
    await publish(kafka, topics.VISIT_PAID, paid(chain, bea, "dv-11", line(HAIR, "2000", "5", pid)))
    await publish(kafka, topics.VISIT_PAID, paid(chain, bea, "dv-12", line(HAIR, "2000", "7", pid)))
    applied = await kafka.read(topics.LOYALTY_DISCOUNT_APPLIED, of_chain(chain), count=2)
    assert by_visit(applied) == {
        "dv-10": [(0, "promotion", pid, "3.00", "300.00")],
        "dv-11": [(0, "promotion", pid, "5.00", "100.00")],
    }
    [refused] = await kafka.read(topics.LOYALTY_DISCOUNT_REFUSED, of_chain(chain))
    assert (refused["visit_id"], refused["lines"][0]["reason"]) == ("dv-12", "percent_exceeds_offer")


async def test_the_online_booking_discount_needs_an_online_visit(chain: Chain, kafka: Kafka) -> None:
    cid = client("disc-cid")
    setup = await discount_setup(chain, cid, type="online_booking_discount", percent="7")
    pid = setup["promotion"]["id"]
    await publish(kafka, topics.VISIT_PAID, paid(chain, cid, "dv-20", line(HAIR, "1000", "7", pid)))  # the desk
    await publish(kafka, topics.VISIT_PAID, paid(chain, cid, "dv-21", line(HAIR, "1000", "7", pid), channel="online"))
    [applied] = await kafka.read(topics.LOYALTY_DISCOUNT_APPLIED, of_chain(chain))
    assert by_visit([applied]) == {"dv-21": [(0, "promotion", pid, "7.00", "70.00")]}
    [refused] = await kafka.read(topics.LOYALTY_DISCOUNT_REFUSED, of_chain(chain))
    assert (refused["visit_id"], refused["lines"][0]["reason"]) == ("dv-20", "not_online")


async def test_applies_to_every_nth_visit_and_other_sources_in_one_visit(chain: Chain, kafka: Kafka) -> None:
    dora = client("disc-dora")
    setup = await discount_setup(chain, dora, applies_to={"kinds": ["service"], "category_ids": ["cat-hair"]})
    hair_only = setup["promotion"]["id"]
    second = await create(
        chain,
        "/promotions",
        {
            "name": "Every 2nd visit",
            "type": "static_discount",
            "card_type_ids": [setup["card_type"]["id"]],
            "percent": "20",
            "every_nth_visit": 2,
        },
    )
    first_visit = paid(
        chain,
        dora,
        "dv-30",
        line(HAIR, "1000", "10", hair_only),
        line(OIL, "200", "10", hair_only),  # a product: not covered
        line(HAIR, "400", "20", second["id"]),  # her first visit: not the 2nd
        line(OIL, "100", "5", source="personal"),  # the location program's: recorded as said
    )
    await publish(kafka, topics.VISIT_PAID, first_visit)
    await publish(kafka, topics.VISIT_PAID, paid(chain, dora, "dv-31", line(HAIR, "400", "20", second["id"])))
    applied = await kafka.read(topics.LOYALTY_DISCOUNT_APPLIED, of_chain(chain), count=2)
    assert by_visit(applied) == {
        "dv-30": [(0, "promotion", hair_only, "10.00", "100.00"), (3, "personal", None, "5.00", "5.00")],
        "dv-31": [(0, "promotion", second["id"], "20.00", "80.00")],
    }
    [refused] = await kafka.read(topics.LOYALTY_DISCOUNT_REFUSED, of_chain(chain))
    assert refused["visit_id"] == "dv-30"
    assert [(x["line"], x["promotion_id"], x["reason"]) for x in refused["lines"]] == [
        (1, hair_only, "line_not_covered"),
        (2, second["id"], "not_nth_visit"),
    ]


async def test_a_refused_discount_never_blocks_the_visits_cashback(chain: Chain, kafka: Kafka) -> None:
    eve = client("disc-eve")
    setup = await discount_setup(chain, eve, archived=True)
    cashback = {"name": "Cashback", "type": "fixed_cashback_paid", "percent": "10"}
    await create(chain, "/promotions", {**cashback, "card_type_ids": [setup["card_type"]["id"]]})
    other = await create(chain, "/card-types", {"name": "Not hers"})
    theirs = await create(
        chain,
        "/promotions",
        {"name": "Theirs", "type": "static_discount", "card_type_ids": [other["id"]], "percent": "15"},
    )
    unknown = "00000000-0000-4000-8000-000000000000"
    visit = paid(
        chain,
        eve,
        "dv-40",
        line(HAIR, "1000", "10", setup["promotion"]["id"]),
        line(HAIR, "1000", "15", theirs["id"]),
        line(OIL, "1000", "10", unknown),
    )
    await publish(kafka, topics.VISIT_PAID, visit)
    [refused] = await kafka.read(topics.LOYALTY_DISCOUNT_REFUSED, of_chain(chain))
    assert [x["reason"] for x in refused["lines"]] == ["archived", "no_card", "not_found"]
    c = await card_eventually(chain, setup["card"]["id"], lambda c: c["balance"] != "0.00")
    assert c["balance"] == "265.00"  # 10% of the 2,650 paid: the cashback went on


async def test_the_history_start_and_the_paid_total_choose_the_tiers_as_the_seed_does(
    chain: Chain, kafka: Kafka
) -> None:
    # The seed's ten visits, 2022-08-10 to -19, paid 100 each; the visits tier counts from 2022-08-15 only.
    fay = client("disc-fay")
    setup = await discount_setup(
        chain,
        fay,
        type="cumulative_visits_discount",
        percent=None,
        rules=[{"from": "5", "percent": "10"}],
        history_start="2022-08-15",
    )
    async with chain.client("loyalty") as http:  # her card from before the visits
        r = await http.post(
            "/cards",
            json={
                "card_type_id": setup["card_type"]["id"],
                "client_id": fay["id"],
                "number": "D-fay-2022",
                "issued_at": "2022-08-01T00:00:00+00:00",
            },
        )
    assert r.status_code == 201, r.text
    paid_tier = await create(
        chain,
        "/promotions",
        {
            "name": "Paid 900",
            "type": "cumulative_discount_paid",
            "card_type_ids": [setup["card_type"]["id"]],
            "rules": [{"from": "900", "percent": "4"}],
        },
    )
    visits = setup["promotion"]["id"]

    def on(day: int, *lines: dict[str, Any]) -> dict[str, Any]:
        v = paid(chain, fay, f"dv-5{day}", *(lines or (line(HAIR, "100"),)))
        return {**v, "occurred_at": f"2022-08-{day}T10:00:00+00:00"}

    for day in range(10, 19):
        await publish(kafka, topics.VISIT_PAID, on(day))
    # The 10th: 4 visits since Aug 15 before it (the 5-visit tier not reached); 900 paid before it (4%).
    await publish(
        kafka, topics.VISIT_PAID, on(19, line(HAIR, "100", "10", visits), line(OIL, "100", "4", paid_tier["id"]))
    )
    await publish(kafka, topics.VISIT_PAID, on(20, line(HAIR, "100", "10", visits)))  # 5 since Aug 15 before it
    applied = await kafka.read(topics.LOYALTY_DISCOUNT_APPLIED, of_chain(chain), count=2)
    assert by_visit(applied) == {
        "dv-519": [(1, "promotion", paid_tier["id"], "4.00", "4.00")],
        "dv-520": [(0, "promotion", visits, "10.00", "10.00")],
    }
    [refused] = await kafka.read(topics.LOYALTY_DISCOUNT_REFUSED, of_chain(chain))
    assert (refused["visit_id"], [x["reason"] for x in refused["lines"]]) == ("dv-519", ["tier_not_reached"])


async def test_another_chains_promotion_is_not_found_and_its_uses_stay_untouched(
    chain: Chain, kafka: Kafka, stack: Stack, db: asyncpg.Pool
) -> None:
    other = await new_chain(stack, db)
    gus = client("disc-gus")  # a client of both chains, with a card in each
    theirs = await discount_setup(other, gus, max_uses=1)
    await discount_setup(chain, gus)
    pid = theirs["promotion"]["id"]
    await publish(kafka, topics.VISIT_PAID, paid(chain, gus, "dv-60", line(HAIR, "1000", "10", pid)))
    [refused] = await kafka.read(topics.LOYALTY_DISCOUNT_REFUSED, of_chain(chain))
    assert [(x["promotion_id"], x["reason"], x["card_id"]) for x in refused["lines"]] == [(pid, "not_found", None)]
    # There, the promotion's only use is still free: this chain's visit used nothing of it.
    await publish(kafka, topics.VISIT_PAID, paid(other, gus, "dv-61", line(HAIR, "1000", "10", pid)))
    [applied] = await kafka.read(topics.LOYALTY_DISCOUNT_APPLIED, of_chain(other))
    assert by_visit([applied]) == {"dv-61": [(0, "promotion", pid, "10.00", "100.00")]}
