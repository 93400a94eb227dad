"""The checkout quote's composition (services/gateway/domain/quote.py), pure: a line a membership pays costs
nothing and gets no discount, the totals add up, stored value is capped by what is left to pay, and a part
that did not answer leaves its numbers at 0 with `part_unavailable`."""

from __future__ import annotations

import uuid
from decimal import Decimal as D

from services.gateway.domain.quote import compose
from shared.quote import (
    AccountOption,
    Amount,
    CardLine,
    DiscountOffer,
    GiftCardOption,
    LineDiscount,
    LoyaltyPart,
    MembershipLine,
    MembershipsPart,
    Percent,
    QuotePartIn,
    Reasoned,
    Unavailable,
    WalletPart,
)

Q = QuotePartIn.model_validate(
    {
        "location_id": "loc-1",
        "client": {"id": "cl-1"},
        "occurred_at": "2026-03-01T10:00:00+00:00",
        "lines": [
            {"kind": "service", "item_id": "svc-massage", "quantity": 1, "sold": "1000"},
            {"kind": "service", "item_id": "svc-hair", "quantity": 1, "sold": "1000"},
            {"kind": "product", "item_id": "prod-oil", "quantity": 1, "sold": "400"},
        ],
    }
)
PERSONAL = DiscountOffer(source="personal", percent=D("5"), code="personal_discount", reason="5%")


def amount(value: str, code: str = "x") -> Amount:
    return Amount(amount=D(value), code=code, reason=code)


def memberships() -> MembershipsPart:
    return MembershipsPart(
        lines=[
            MembershipLine(line=0, covered=True, units=1, code="chosen", reason="it pays"),
            MembershipLine(line=1, covered=False, code="none_eligible", reason="none"),
        ]
    )


def loyalty() -> LoyaltyPart:
    def off(i: int, value: str) -> LineDiscount:
        return LineDiscount(line=i, chosen=PERSONAL, amount=D(value), code="personal_discount", reason="5%")

    return LoyaltyPart(
        visit=Reasoned(code="already_paid", reason="paid at noon"),
        personal_discount=Percent(percent=D("5"), code="program", reason="5%"),
        lines=[off(0, "50"), off(1, "50"), off(2, "20")],
        cards=[],
        points_available=amount("180", "card_balance"),
        cashback=[],
        cashback_total=amount("0", "no_cashback"),
    )


def wallet(balance: str, account: str) -> WalletPart:
    card = GiftCardOption(
        gift_card_id=uuid.uuid4(),
        balance=D(balance),
        lines=[
            CardLine(line=0, pays=True, code="pays", reason="pays"),
            CardLine(line=1, pays=False, code="not_applicable", reason="no"),
            CardLine(line=2, pays=True, code="pays", reason="pays"),
        ],
        usable=amount(balance),
        code="usable",
        reason="a card",
    )
    return WalletPart(
        gift_cards=[card],
        account=AccountOption(
            balance=D(account), credit_limit=D(0), allow_credit=False, available=D(account), code="account", reason="x"
        ),
    )


def test_a_line_a_membership_pays_costs_nothing_and_gets_no_discount() -> None:
    out = compose("ch", Q, memberships(), loyalty(), wallet("100", "0"))
    massage, hair, oil = out.lines
    assert massage.after_discounts.amount == 0 and massage.after_discounts.code == "membership_covered"
    assert isinstance(massage.discount, LineDiscount) and massage.discount.code == "membership_pays"
    assert (hair.after_discounts.amount, oil.after_discounts.amount) == (D("950"), D("380"))
    assert oil.membership.code == "not_a_service"
    t = out.totals
    assert (t.sold.amount, t.discount.amount, t.membership_covered.amount) == (D("2400"), D("70"), D("1000"))
    assert t.after_discounts.amount == t.to_pay_before_points_and_stored_value.amount == D("1330")
    assert t.points_available.amount == D("180")
    assert out.visit.code == "already_paid"  # the loyalty part's word on the visit


def test_stored_value_counts_a_card_only_up_to_what_its_lines_are_left_to_pay() -> None:
    # The card pays the massage (0 left: a membership pays it) and the oil (380 left), not the hair.
    some = compose("ch", Q, memberships(), loyalty(), wallet("5000", "100")).totals.stored_value_available
    assert (some.amount, some.code) == (D("480"), "stored_value")
    everything = compose("ch", Q, memberships(), loyalty(), wallet("5000", "2000")).totals.stored_value_available
    assert (everything.amount, everything.code) == (D("1330"), "covers_all")


def test_a_part_that_did_not_answer_leaves_its_numbers_at_zero_with_part_unavailable() -> None:
    down = Unavailable(reason="the loyalty service did not answer within 1.0 s")
    out = compose("ch", Q, Unavailable(reason="m"), down, Unavailable(reason="w"))
    assert all(line.discount == down for line in out.lines)
    assert all(line.membership.code == "part_unavailable" for line in out.lines)
    assert out.visit.code == "part_unavailable"
    t = out.totals
    assert t.after_discounts.amount == D("2400")
    for total in (t.discount, t.membership_covered, t.points_available, t.stored_value_available):
        assert (total.amount, total.code) == (0, "part_unavailable")
