"""Chain discount promotions (issue 18, point 1) as pure rules, worked examples: what each discount
promotion offers a line of a visit about to be paid (or the code saying why not), the tiers from the
client's history before the visit, every Nth visit, max uses, `applies_to`, and `choose_discount`'s
one-discount-per-line choice with its ties."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from services.loyalty.domain import History, Promotion, Tier
from services.loyalty.domain.discounts import (
    AppliesTo,
    CardStanding,
    Line,
    Offer,
    card_offer,
    choose_discount,
    discount_amount,
    line_offer,
)

HAIR = Line("service", "svc-hair", "cat-hair")
OIL = Line("product", "prod-oil", "cat-oils")
PASS = Line("membership", "type-1")
NONE = History()


def promo(kind: str, **fields: object) -> Promotion:
    return Promotion(id=fields.pop("id", "p-1"), name="Discount", type=kind, **fields)  # type: ignore[arg-type]


def offer(p: Promotion, line: Line = HAIR, history: History = NONE, **kw: object) -> Offer:
    return line_offer(p, line, location_id=str(kw.pop("location_id", "loc-1")), history=history, **kw)  # type: ignore[arg-type]


# --- each type ------------------------------------------------------------------------------------


def test_a_static_discount_offers_its_percent_on_every_visit() -> None:
    p = promo("static_discount", percent=D("10"))
    for visits in (0, 1, 7):
        o = offer(p, history=History(visits=visits))
        assert (o.percent, o.code, o.promotion_id, o.source) == (D("10"), "static_discount", "p-1", "promotion")
        assert "10%" in o.reason


SEED_TIERS = (Tier(D("0"), D("3")), Tier(D("10000"), D("5")), Tier(D("50000"), D("10")))


def test_cumulative_discount_by_sold_takes_its_tier_from_the_history_before_this_visit() -> None:
    # The seed's way: 3% from the start, 5% from 10,000 sold, 10% from 50,000; the history is what the
    # client was sold before this visit (the discount is known at the checkout, before the payment).
    p = promo("cumulative_discount_sold", rules=SEED_TIERS)
    assert offer(p, history=History(D("9999.99"), D("0"), 9)).percent == D("3")
    assert offer(p, history=History(D("10000"), D("0"), 10)).percent == D("5")
    top = offer(p, history=History(D("50000"), D("1"), 30))
    assert (top.percent, top.code) == (D("10"), "tier_reached")
    assert "50000" in top.reason


def test_cumulative_discount_by_paid_reads_the_paid_total() -> None:
    p = promo("cumulative_discount_paid", rules=SEED_TIERS)
    assert offer(p, history=History(D("90000"), D("9000"), 5)).percent == D("3")
    assert offer(p, history=History(D("0"), D("10000"), 5)).percent == D("5")


def test_a_tier_not_reached_offers_nothing() -> None:
    p = promo("cumulative_discount_sold", rules=(Tier(D("5000"), D("5")),))
    o = offer(p, history=History(D("4999.99"), D("0"), 3))
    assert (o.percent, o.code) == (None, "tier_not_reached")
    assert "5000" in o.reason


def test_cumulative_visits_discount_counts_the_visits_before_this_one() -> None:
    p = promo("cumulative_visits_discount", rules=(Tier(D("3"), D("5")), Tier(D("10"), D("15"))))
    assert offer(p, history=History(visits=2)).code == "tier_not_reached"  # this is her 3rd visit
    assert offer(p, history=History(visits=3)).percent == D("5")  # her 4th: 3 before it
    assert offer(p, history=History(visits=10)).percent == D("15")


def test_the_online_booking_discount_needs_an_online_visit() -> None:
    p = promo("online_booking_discount", percent=D("7"))
    assert offer(p, channel="online").percent == D("7")
    assert offer(p, channel="online").code == "online_booking"
    refused = offer(p, channel="desk")
    assert (refused.percent, refused.code) == (None, "not_online")


def test_a_cashback_promotion_is_no_discount() -> None:
    with pytest.raises(ValueError, match="not a discount"):
        offer(promo("fixed_cashback_sold", percent=D("3")))


# --- where, when, how often ------------------------------------------------------------------------


def test_an_archived_promotion_or_another_location_offers_nothing() -> None:
    assert offer(promo("static_discount", percent=D("10"), archived=True)).code == "archived"
    there = promo("static_discount", percent=D("10"), location_ids=("loc-2",))
    assert offer(there).code == "wrong_location"
    assert offer(there, location_id="loc-2").percent == D("10")


def test_every_3rd_visit_gets_the_discount_on_the_3rd_6th_and_9th() -> None:
    p = promo("static_discount", percent=D("10"), every_nth_visit=3)
    got = [before + 1 for before in range(9) if offer(p, history=History(visits=before)).percent]
    assert got == [3, 6, 9]
    assert offer(p, history=History(visits=0)).code == "not_nth_visit"


def test_max_uses_caps_the_discounts_applied_on_the_card_and_0_is_unlimited() -> None:
    capped = promo("static_discount", percent=D("10"), max_uses=2)
    assert [offer(capped, uses=u).code for u in (0, 1, 2, 3)] == [
        "static_discount",
        "static_discount",
        "max_uses_reached",
        "max_uses_reached",
    ]
    assert offer(promo("static_discount", percent=D("10")), uses=10_000).percent == D("10")


# --- which lines ---------------------------------------------------------------------------------------


def test_applies_to_every_service_and_product_by_default_never_a_membership() -> None:
    p = promo("static_discount", percent=D("10"))
    assert offer(p, HAIR).percent == offer(p, OIL).percent == D("10")
    assert offer(p, PASS).code == "line_not_covered"


def test_applies_to_some_kinds_categories_or_items() -> None:
    services = promo("static_discount", percent=D("10"), applies_to=AppliesTo(kinds=("service",)))
    assert offer(services, HAIR).percent and offer(services, OIL).code == "line_not_covered"
    hair = promo("static_discount", percent=D("10"), applies_to=AppliesTo(category_ids=("cat-hair",)))
    assert offer(hair, HAIR).percent and offer(hair, OIL).code == "line_not_covered"
    oil = promo("static_discount", percent=D("10"), applies_to=AppliesTo(item_ids=("prod-oil",)))
    assert offer(oil, OIL).percent and offer(oil, HAIR).code == "line_not_covered"
    either = AppliesTo(category_ids=("cat-hair",), item_ids=("prod-oil",))
    assert either.covers(HAIR) and either.covers(OIL) and not either.covers(Line("service", "svc-nails", "cat-nails"))
    no_products = AppliesTo(kinds=("service",), item_ids=("prod-oil",))
    assert not no_products.covers(OIL)  # its kind is not listed, whatever the ids say


# --- the client's cards -----------------------------------------------------------------------------


def test_the_offer_comes_through_the_first_card_that_gets_it() -> None:
    p = promo("static_discount", percent=D("10"), max_uses=1)
    used, fresh = CardStanding("card-1", NONE, uses=1), CardStanding("card-2", NONE, uses=0)
    got = card_offer(p, HAIR, location_id="loc-1", cards=[used, fresh])
    assert (got.percent, got.card_id) == (D("10"), "card-2")
    refused = card_offer(p, HAIR, location_id="loc-1", cards=[used])
    assert (refused.code, refused.card_id) == ("max_uses_reached", "card-1")
    nothing = card_offer(p, HAIR, location_id="loc-1", cards=[])
    assert (nothing.percent, nothing.code) == (None, "no_card")


# --- one discount per line -----------------------------------------------------------------------------


def test_the_highest_percent_wins_and_each_other_says_why_it_lost() -> None:
    ten = Offer.promotion("p-1", D("10"), rank=0)
    fifteen = Offer.promotion("p-2", D("15"), rank=1)
    online = Offer.refused("promotion", "not_online", "booked at the desk", promotion_id="p-3", rank=2)
    choice = choose_discount([ten, online, fifteen])
    assert choice.winner == fifteen
    assert [(lost.offer.promotion_id, lost.code) for lost in choice.others] == [
        ("p-1", "lower_percent"),
        ("p-3", "not_online"),
    ]
    assert all(lost.reason for lost in choice.others)


def test_a_tie_goes_to_the_personal_discount_then_referral_then_promotions_in_creation_order() -> None:
    first, second = Offer.promotion("p-1", D("10"), rank=0), Offer.promotion("p-2", D("10"), rank=1)
    personal, referral = Offer.personal(D("10")), Offer.referral(D("10"))
    choice = choose_discount([second, first, referral, personal])
    assert choice.winner == personal
    assert [(lost.offer.source, lost.offer.promotion_id, lost.code) for lost in choice.others] == [
        ("referral", None, "tie_lost"),
        ("promotion", "p-1", "tie_lost"),
        ("promotion", "p-2", "tie_lost"),
    ]
    assert choose_discount([second, referral]).winner == referral
    assert choose_discount([second, first]).winner == first


def test_no_offer_no_winner() -> None:
    assert choose_discount([]).winner is None
    refused = Offer.refused("promotion", "archived", "archived", promotion_id="p-1")
    choice = choose_discount([refused])
    assert choice.winner is None and [lost.code for lost in choice.others] == ["archived"]


def test_the_amount_is_the_percent_of_the_line_rounded_half_up_to_cents() -> None:
    assert discount_amount(D("1000"), D("10")) == D("100.00")
    assert discount_amount(D("333.50"), D("3")) == D("10.01")  # 10.005
    assert discount_amount(D("0"), D("50")) == D("0.00")
