"""The wallet's notice rules (services/notifications/domain/wallet.py): money as written, the account
payment's notice type, whether a gift card's holder is told, what the administrator reads about payments
not taken."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.notifications import domain
from services.notifications.domain import RefusedPayment


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("500.00", "500"),
        ("250.50", "250.50"),
        ("250.5", "250.50"),
        ("0.05", "0.05"),
        ("-120.00", "-120"),
        ("-0.50", "-0.50"),
        ("1000", "1000"),
        ("1E+3", "1000"),
        ("0.00", "0"),
    ],
)
def test_money_is_written_whole_or_with_two_decimals(value: str, written: str) -> None:
    assert domain.money(Decimal(value)) == written


@pytest.mark.parametrize(
    ("balance", "notice_type"),
    [
        ("10.00", "account.charged"),
        ("0.00", "account.charged"),
        ("-0.01", "account.below_zero"),
        ("-500.00", "account.below_zero"),
    ],
)
def test_an_account_payment_below_zero_is_its_own_notice(balance: str, notice_type: str) -> None:
    assert domain.account_charged_type(Decimal(balance)) == notice_type
    assert domain.KINDS[notice_type].audience == domain.CLIENT


@pytest.mark.parametrize(
    ("buyer", "holder", "told"),
    [
        ("+36201234567", "+36207654321", True),
        (None, "+36207654321", True),
        ("+36201234567", "+36201234567", False),
        ("+36201234567", None, False),
        (None, None, False),
    ],
)
def test_the_holder_is_told_when_their_phone_is_given_and_not_the_buyers(
    buyer: str | None, holder: str | None, told: bool
) -> None:
    assert domain.holder_is_told(buyer, holder) is told


def refused(instrument: str, code: str | None, amount: str, reason: str) -> RefusedPayment:
    return RefusedPayment(instrument, code, Decimal(amount), reason)


def test_refused_payments_are_named_with_their_reasons_the_refused_before_the_held_back() -> None:
    text = domain.refused_list(
        [
            refused("account", None, "300.00", "not_taken"),
            refused("gift_card", "GC-1", "500.00", "insufficient_balance"),
            refused("gift_card", None, "99.90", "brand_new_reason"),
        ]
    )
    assert text == (
        "gift card GC-1 500: the balance is too low; gift card without a code 99.90: brand new reason; "
        "account 300: not taken, as another payment was refused"
    )


def test_at_most_three_refused_payments_are_named_and_the_rest_counted() -> None:
    many = [refused("gift_card", f"GC-{i}", "10.00", "expired") for i in range(8)]
    text = domain.refused_list(many)
    assert text.count("it has expired") == 3 and "GC-2" in text and "GC-3" not in text
    assert text.endswith("; and 5 more")
    assert domain.refused_list(many[:3]).endswith("GC-2 10: it has expired")


def test_a_reason_without_a_text_is_written_short() -> None:
    assert domain.refused_list([refused("account", None, "1.00", "x" * 500)]) == "account 1: " + "x" * 40


def test_every_reason_the_wallet_publishes_has_its_text() -> None:
    from shared.events.wallet import PAYMENT_REJECT_REASONS

    assert set(PAYMENT_REJECT_REASONS) <= set(domain.PAYMENT_REJECTIONS)


@pytest.mark.parametrize(
    ("partial", "taken", "outcome"),
    [
        (False, 0, "No payment of the visit was taken."),
        (True, 0, "No payment of the visit was taken."),
        (True, 1, "The other one was taken."),
        (True, 2, "The other 2 were taken."),
    ],
)
def test_the_outcome_says_what_happened_to_the_visits_other_payments(partial: bool, taken: int, outcome: str) -> None:
    assert domain.payment_outcome(partial, taken) == outcome
