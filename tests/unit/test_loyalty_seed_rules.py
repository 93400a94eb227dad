"""Issue 14's loyalty points as pure rules: the discount-expiration switch (the warning's window, whether
a lapse is told), manual values over the derived ones, and a card earning only for visits from its issue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from services.loyalty import domain
from services.loyalty.domain import DiscountRule, LoyaltyState, Manual, Program, Stats
from services.loyalty.domain.cards import Card
from services.loyalty.domain.earning import earns_for, visit_time
from services.loyalty.domain.expiry import tell_change, warning_due
from services.loyalty.domain.visits import VisitRow
from services.loyalty.manual_schemas import ManualIn
from services.loyalty.schemas import ProgramIn
from services.notifications.domain import KINDS, render
from services.notifications.usecases.notify_loyalty import discount_changed_draft, discount_expiring_draft
from shared.events import Client, DiscountChanged, DiscountExpiring

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ON = Program(
    discount_rules=(DiscountRule("sold", D("1000"), D("5")),),
    discount_reset_after_days=30,
    notify_discount_expiration=True,
    discount_expiration_notice_days=7,
)
CAME = NOW  # her last visit
HERS = Stats(D("2000"), D("2000"), 1, 0, CAME, None)
FIVE = LoyaltyState(D("5"))


# --- the discount-expiration switch ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_later", "warned"),
    [
        (22, False),  # the window opens 7 days before the lapse (day 30): day 23
        (23, True),
        (29.9, True),
        (30, False),  # lapsed: the lapse is told instead
    ],
)
def test_the_warning_is_due_within_the_notice_days_before_the_lapse(days_later: float, warned: bool) -> None:
    due = warning_due(ON, HERS, FIVE, NOW + timedelta(days=days_later))
    assert due == (CAME + timedelta(days=30) if warned else None)


def test_no_warning_with_the_switch_off_no_discount_a_manual_discount_or_no_reset() -> None:
    at = NOW + timedelta(days=25)
    off = Program(discount_rules=ON.discount_rules, discount_reset_after_days=30)
    assert warning_due(off, HERS, FIVE, at) is None
    assert warning_due(ON, HERS, LoyaltyState(), at) is None
    assert warning_due(ON, HERS, Manual(discount_percent=D("15")).over(FIVE), at) is None
    endless = Program(discount_rules=ON.discount_rules, notify_discount_expiration=True)
    assert warning_due(endless, HERS, FIVE, at) is None


def test_a_lapse_is_told_only_with_the_switch_on_any_other_change_always() -> None:
    off = Program(discount_reset_after_days=30)
    assert tell_change(ON, "inactivity") and not tell_change(off, "inactivity")
    assert all(tell_change(off, reason) for reason in ("visit_paid", "manual", "program_saved"))


def test_the_notice_days_are_bounded_and_shorter_than_the_reset() -> None:
    assert ProgramIn().discount_expiration_notice_days == 7
    with pytest.raises(ValidationError, match="discount_expiration_notice_days"):
        ProgramIn.model_validate({"discount_reset_after_days": 7, "notify_discount_expiration": True})
    with pytest.raises(ValidationError, match="discount_expiration_notice_days"):
        ProgramIn.model_validate({"discount_expiration_notice_days": 366})
    # Off, or without a reset, the warning never comes: no conflict.
    assert ProgramIn.model_validate({"discount_reset_after_days": 7}).discount_expiration_notice_days == 7


def test_notifications_follow_what_loyalty_says() -> None:
    common = {"chain_id": "ch-1", "location_id": "loc-1", "client": Client(id="cl-1", phone="+36201234567")}
    lapse = {**common, "reason": "inactivity", "old_percent": D("5"), "new_percent": D("0")}
    assert discount_changed_draft(DiscountChanged(**lapse, notify=False)) is None
    told = discount_changed_draft(DiscountChanged(**lapse))
    assert told is not None and told.type == "loyalty.discount_expired"
    warning = discount_expiring_draft(
        DiscountExpiring(**common, discount_percent=D("5"), expires_at=NOW, last_visit_at=NOW - timedelta(days=30))
    )
    assert warning.type == "loyalty.discount_expiring"
    assert render(KINDS[warning.type].template, {**warning.values, "expires_at": "2026-03-01"}) == (
        "Dear client, your 5% discount expires on 2026-03-01 unless you visit us before then."
    )


# --- manual values --------------------------------------------------------------------------------


def test_a_manual_value_overrides_its_derived_one_until_removed() -> None:
    manual = Manual().patched({"discount_percent": D("15"), "categories": ["Staff", "Friends", "Staff"]})
    assert manual == Manual(D("15"), None, ("Friends", "Staff"))
    state = domain.evaluate(ON, HERS, NOW, manual)
    assert (state.discount_percent, state.level, state.categories) == (D("15"), None, ("Friends", "Staff"))
    # The inactivity reset takes the derived discount, never the manual one.
    later = domain.evaluate(ON, HERS, NOW + timedelta(days=31), manual)
    assert later.discount_percent == D("15")
    assert domain.evaluate(ON, HERS, NOW + timedelta(days=31)).discount_percent == 0
    removed = manual.patched({"discount_percent": None})
    assert removed == Manual(None, None, ("Friends", "Staff"))
    assert domain.evaluate(ON, HERS, NOW, removed).discount_percent == D("5")
    assert Manual().patched({"categories": []}).over(LoyaltyState(categories=("Economy",))).categories == ()


def test_a_manual_body_names_what_it_changes() -> None:
    assert ManualIn.model_validate({"level": None, "discount_percent": "10"}).changes() == {
        "level": None,
        "discount_percent": D("10"),
    }
    assert ManualIn.model_validate({}).changes() == {}
    with pytest.raises(ValidationError, match="level"):
        ManualIn.model_validate({"level": "platinum"})
    with pytest.raises(ValidationError, match="discount_percent"):
        ManualIn.model_validate({"discount_percent": "100.01"})


# --- a card earns for visits from its issue ------------------------------------------------------


def test_the_visit_time_is_its_appointment_when_known_else_its_payment() -> None:
    paid = NOW
    assert visit_time(None, paid) == paid
    row = VisitRow("v-1", "loc-1", "cl-1", scheduled_at=NOW - timedelta(hours=2))
    assert visit_time(row, paid) == NOW - timedelta(hours=2)
    prepaid = VisitRow("v-2", "loc-1", "cl-1", scheduled_at=NOW + timedelta(days=1))
    assert visit_time(prepaid, paid) == paid  # paid before the appointment: the earlier


def test_a_card_earns_only_for_visits_from_its_issue_on() -> None:
    card = Card("c-1", "t-1", "cl-1", None, "C-1", D("0"), issued_at=NOW)
    assert earns_for(card, NOW) and earns_for(card, NOW + timedelta(seconds=1))
    assert not earns_for(card, NOW - timedelta(seconds=1))
