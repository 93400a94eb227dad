"""The wallet's pure rules: application limits, validity, write-off, account floors, all-or-nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from services.wallet import domain
from services.wallet.domain import Account, GiftCard, GiftCardType, Limits, LineFacts, Payment, Validity

AT = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
TYPE = GiftCardType("t-1", "ch-1", "Spa", Decimal("1000.00"), "multiple")


def card(**fields: object) -> GiftCard:
    base = GiftCard("c-1", "ch-1", TYPE, "G-1", "s-1", "cl-5", None, "+36201234567", "loc-1", Decimal("900"),
                    Decimal("1000.00"), "active", AT, None)  # fmt: skip
    return replace(base, **fields)  # type: ignore[arg-type]


SERVICE = LineFacts("service", "svc-massage", "cat-body")
OTHER_SERVICE = LineFacts("service", "svc-nails", "cat-nails")
PRODUCT = LineFacts("product", "prod-oil")
MEMBERSHIP = LineFacts("membership", "m-type")


@pytest.mark.parametrize(
    ("applies_to", "pays"),
    [
        ("any", {SERVICE, OTHER_SERVICE, PRODUCT, MEMBERSHIP}),
        ("services", {SERVICE, OTHER_SERVICE}),
        ("products", {PRODUCT}),
        ("some_services_and_products", {SERVICE, PRODUCT}),
        ("some_services", {SERVICE}),
    ],
)
def test_each_application_limit(applies_to: str, pays: set[LineFacts]) -> None:
    t = replace(TYPE, limits=Limits(applies_to, (), ("cat-body",)))
    assert {f for f in (SERVICE, OTHER_SERVICE, PRODUCT, MEMBERSHIP) if domain.applies(t, f)} == pays


def test_validity_kinds() -> None:
    assert domain.valid_until(Validity(), AT) is None
    assert domain.valid_until(Validity("until", date(2026, 3, 1)), AT) == datetime(2026, 3, 2, tzinfo=UTC)
    assert domain.valid_until(Validity("period", None, "month", 1), AT) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert domain.valid_until(Validity("period", None, "week", 2), AT) == AT + timedelta(days=14)
    assert domain.valid_until(Validity("period", None, "year", 1), AT) == AT.replace(year=2027)
    assert domain.valid_until(Validity("period", None, "year", 1000), datetime(9000, 1, 1, tzinfo=UTC)) is None


def test_a_single_card_is_spent_whole_and_a_multiple_one_until_zero() -> None:
    single = card(type=replace(TYPE, write_off="single"))
    after, taken = domain.charge_card(single, Decimal("10"))
    assert (after.balance, after.status, taken) == (Decimal("0"), "spent", Decimal("1000.00"))
    after, taken = domain.charge_card(card(), Decimal("1000.00"))
    assert (after.balance, after.status, taken) == (Decimal("0"), "spent", Decimal("1000.00"))
    assert domain.refund_card(after, taken, AT) == replace(after, balance=Decimal("1000.00"), status="active")
    assert domain.refund_card(card(valid_until=AT), Decimal("1"), AT) is None


def test_the_first_failing_check_is_the_reason() -> None:
    def check(c: GiftCard | None, amount: str = "10", phone: str | None = None) -> str | None:
        reason = domain.check_card_payment(c, SERVICE, Decimal(amount), at=AT, location_id="loc-1", phone=phone)
        return reason.value if reason else None

    assert check(None) == "not_found"
    assert check(card(status="spent", valid_until=AT)) == "spent"
    assert check(card(valid_until=AT)) == "expired"
    assert check(card(type=replace(TYPE, location_ids=("loc-2",)))) == "wrong_location"
    assert check(card(type=replace(TYPE, limits=Limits("products")))) == "not_applicable"
    assert check(card(code=None), phone="+36209999999") == "phone_mismatch"
    assert check(card(code=None), phone="+36201234567") is None
    assert check(card(), "1000.01") == "insufficient_balance"


def test_an_account_pays_to_zero_or_to_minus_its_limit_where_credit_is_allowed() -> None:
    a = Account("ch-1", "cl-5", Decimal("100"), Decimal("50"))
    assert domain.check_account_payment(a, Decimal("100"), allow_credit=False) is None
    assert domain.check_account_payment(a, Decimal("101"), allow_credit=False) == "insufficient_balance"
    assert domain.check_account_payment(a, Decimal("150"), allow_credit=True) is None
    assert domain.check_account_payment(a, Decimal("150.01"), allow_credit=True) == "credit_limit_exceeded"
    assert not domain.credit_limit_fits(replace(a, balance=Decimal("-60")), Decimal("50"))


def _payments() -> list[Payment]:
    return [
        Payment(0, 0, "gift_card", "G-1", None, Decimal("600"), SERVICE),
        Payment(0, 1, "gift_card", "G-1", None, Decimal("600"), SERVICE),  # the card as the first left it
        Payment(1, 0, "account", None, None, Decimal("50"), PRODUCT),
    ]


@pytest.mark.parametrize("partial", [False, True])
def test_a_visit_takes_all_or_none_unless_partial(partial: bool) -> None:
    decided = domain.decide_visit(
        _payments(),
        card_of=lambda p: "c-1",
        cards={"c-1": card()},
        account=Account("ch-1", "cl-5", Decimal("100")),
        allow_credit=False,
        at=AT,
        location_id="loc-1",
        phone=None,
        partial=partial,
    )
    reasons = [(p.line, p.n, r.value) for p, r in decided.rejected]
    if partial:
        assert [(t.payment.line, t.balance) for t in decided.taken] == [(0, Decimal("400.00")), (1, Decimal("50"))]
        assert reasons == [(0, 1, "insufficient_balance")]
        assert decided.cards["c-1"].balance == Decimal("400.00")
    else:
        assert decided.taken == []
        assert reasons == [(0, 0, "not_taken"), (0, 1, "insufficient_balance"), (1, 0, "not_taken")]
        assert decided.cards["c-1"].balance == Decimal("1000.00") and decided.account.balance == Decimal("100")  # type: ignore[union-attr]


def test_a_cancellation_undoes_a_payment_that_happened_before_it_or_at_once_not_after() -> None:
    at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert domain.cancellation_undoes(at - timedelta(minutes=1), at)
    assert domain.cancellation_undoes(at, at)
    assert not domain.cancellation_undoes(at + timedelta(minutes=1), at)
