"""Membership lifecycle rules (services/memberships/domain.py after `deduct`): eligibility, activation and
auto-activation, expiry and expiring-soon notices, freezing, type changes after a sale, duplicate names,
automatic deduction policy, choosing a membership, editing. Pure: no I/O."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from services.memberships.domain import (
    OVERALL,
    Deducted,
    DeductionPolicy,
    EditError,
    ExpiringSoon,
    FreezeError,
    Membership,
    MembershipType,
    Reason,
    Rejected,
    ServicePolicy,
    Status,
    TypeChangeError,
    TypeService,
    Validity,
    activate,
    auto_activate,
    auto_activation_due,
    begin_freeze,
    check_type_change,
    choose_membership,
    duplicate_name,
    edit,
    eligibility,
    end_freeze,
    expire,
    expiring_soon,
    expiry_due,
    freeze,
    freeze_ended,
    is_late_cancel,
    unfreeze,
)
from shared import phones
from tests.unit.test_membership_domain import PHONE, SOLD_AT, deducted, overall_type, sold, split_type, use

# split_type() is valid 3 months from the sale: 2026-03-01 10:00 -> 2026-06-01 10:00.
VALID_UNTIL = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
FIRST_USE = SOLD_AT + timedelta(days=1)
TODAY = date(2026, 3, 10)


def active(t: MembershipType, *, at: datetime = FIRST_USE, **changes: object) -> Membership:
    m = activate(sold(t), t, at)
    return replace(m, **changes) if changes else m  # type: ignore[arg-type]


def freezable(**overrides: object) -> MembershipType:
    values: dict[str, object] = dict(freeze_allowed=True, freeze_max_days=14)
    values.update(overrides)
    return split_type(**values)


def ok(result: Membership | FreezeError | EditError) -> Membership:
    assert isinstance(result, Membership), result
    return result


def at_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)


# --- eligibility --------------------------------------------------------------------------------


def check(
    m: Membership,
    t: MembershipType,
    *,
    service_id: str = "svc-massage",
    location_id: str = "loc-1",
    at: datetime = FIRST_USE,
    phone: str | None = PHONE,
    units: int = 1,
) -> Rejected | None:
    return eligibility(m, t, service_id=service_id, location_id=location_id, at=at, phone=phone, units=units)


def test_eligibility_of_a_usable_membership_is_none() -> None:
    t = split_type()
    assert check(sold(t), t) is None
    assert check(active(t), t, service_id="svc-sauna") is None


def test_eligibility_accepts_exactly_the_visits_left_and_rejects_one_more() -> None:
    t = split_type()
    m = sold(t)
    assert check(m, t, service_id="svc-sauna", units=5) is None
    assert check(m, t, service_id="svc-sauna", units=6) == Rejected(Reason.EXHAUSTED)


ELIGIBILITY_REJECTIONS: dict[str, tuple[dict[str, object], dict[str, object], Reason]] = {
    "service_not_included": ({}, dict(service_id="svc-haircut"), Reason.SERVICE_NOT_INCLUDED),
    "expired_at_valid_until": ({}, dict(at=VALID_UNTIL), Reason.EXPIRED),
    "expired_status": (dict(status=Status.EXPIRED), {}, Reason.EXPIRED),
    "exhausted": (dict(status=Status.EXHAUSTED, balance={"svc-massage": 0, "svc-sauna": 0}), {}, Reason.EXHAUSTED),
    "service_used_up": (dict(balance={"svc-massage": 0, "svc-sauna": 5}), {}, Reason.EXHAUSTED),
    "frozen_status": (dict(status=Status.FROZEN), {}, Reason.FROZEN),
    "inside_a_freeze": (
        dict(frozen_from=date(2026, 3, 2), frozen_until=date(2026, 3, 5)),
        dict(at=datetime(2026, 3, 3, 9, 0, tzinfo=UTC)),
        Reason.FROZEN,
    ),
}


@pytest.mark.parametrize("case", list(ELIGIBILITY_REJECTIONS))
def test_eligibility_says_why_not_and_changes_nothing(case: str) -> None:
    changes, call, reason = ELIGIBILITY_REJECTIONS[case]
    t = split_type()
    m = replace(active(t), **changes)  # type: ignore[arg-type]
    before = copy.deepcopy(m)
    assert check(m, t, **call) == Rejected(reason)  # type: ignore[arg-type]
    assert m == before


def test_eligibility_rejects_another_location_and_another_phone() -> None:
    t = split_type(location_ids=("loc-1",), allow_without_code=True)
    m = sold(t, code=None)
    assert check(m, t, location_id="loc-2") == Rejected(Reason.LOCATION_NOT_ALLOWED)
    assert check(m, t, phone="+36209999999") == Rejected(Reason.PHONE_MISMATCH)
    assert check(m, t, phone=phones.e164("06 20 123 4567", "HU")) is None  # as the route reads it


def test_eligibility_of_an_unused_membership_does_not_activate_it() -> None:
    t = split_type(validity=Validity(1, "month", "first_visit"))
    m = sold(t)
    before = copy.deepcopy(m)
    assert check(m, t) is None
    assert m == before
    assert m.status == Status.SOLD and m.valid_until is None and m.activated_at is None


# --- activate -----------------------------------------------------------------------------------


def test_activate_turns_sold_into_active_at_that_moment() -> None:
    t = split_type()
    m = sold(t)
    at = datetime(2026, 3, 5, 14, 30, tzinfo=UTC)
    a = activate(m, t, at)
    assert a.status == Status.ACTIVE
    assert a.activated_at == at
    assert a.balance == m.balance
    assert m.status == Status.SOLD and m.activated_at is None  # the original is untouched


def test_activating_a_first_visit_type_starts_valid_until_at_activation() -> None:
    t = split_type(validity=Validity(1, "month", "first_visit"))
    a = activate(sold(t), t, datetime(2026, 3, 31, 12, 0, tzinfo=UTC))
    assert a.valid_until == datetime(2026, 4, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("validity", "expected"),
    [
        (Validity(10, "day", "first_visit"), datetime(2026, 3, 15, 9, 0, tzinfo=UTC)),
        (Validity(2, "week", "first_visit"), datetime(2026, 3, 19, 9, 0, tzinfo=UTC)),
        (Validity(1, "year", "first_visit"), datetime(2027, 3, 5, 9, 0, tzinfo=UTC)),
    ],
)
def test_first_visit_validity_runs_from_activation_in_its_unit(validity: Validity, expected: datetime) -> None:
    t = split_type(validity=validity)
    assert activate(sold(t), t, datetime(2026, 3, 5, 9, 0, tzinfo=UTC)).valid_until == expected


def test_activating_a_sale_type_keeps_valid_until_from_the_sale() -> None:
    t = split_type(validity=Validity(3, "month", "sale"))
    assert activate(sold(t), t, SOLD_AT + timedelta(days=40)).valid_until == VALID_UNTIL


def test_activating_a_first_visit_type_keeps_a_valid_until_already_set() -> None:
    t = split_type(validity=Validity(1, "month", "first_visit"))
    edited = replace(sold(t), valid_until=datetime(2026, 12, 31, tzinfo=UTC))
    assert activate(edited, t, FIRST_USE).valid_until == datetime(2026, 12, 31, tzinfo=UTC)


def test_activating_an_unlimited_first_visit_type_stays_unlimited() -> None:
    t = split_type(validity=Validity(0, "month", "first_visit"))
    assert activate(sold(t), t, FIRST_USE).valid_until is None


# --- auto-activation ----------------------------------------------------------------------------


def test_auto_activation_is_due_exactly_n_days_after_the_sale_and_not_before() -> None:
    t = split_type(auto_activation_days=30)
    m = sold(t)
    due = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
    assert not auto_activation_due(m, t, SOLD_AT)
    assert not auto_activation_due(m, t, due - timedelta(days=1))
    assert not auto_activation_due(m, t, due - timedelta(microseconds=1))
    assert auto_activation_due(m, t, due)
    assert auto_activation_due(m, t, due + timedelta(days=100))


def test_auto_activation_is_never_due_without_auto_activation_days() -> None:
    t = split_type(auto_activation_days=None)
    assert not auto_activation_due(sold(t), t, SOLD_AT + timedelta(days=3650))


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.FROZEN, Status.EXPIRED, Status.EXHAUSTED])
def test_auto_activation_is_due_only_for_unused_memberships(status: Status) -> None:
    t = split_type(auto_activation_days=30)
    m = replace(sold(t), status=status)
    assert not auto_activation_due(m, t, SOLD_AT + timedelta(days=31))


def test_auto_activation_of_a_first_visit_type_starts_validity_on_the_due_day_not_the_jobs_day() -> None:
    t = split_type(validity=Validity(1, "month", "first_visit"), auto_activation_days=30)
    m = sold(t)
    job_ran = datetime(2026, 4, 10, 3, 0, tzinfo=UTC)  # ten days late
    assert auto_activation_due(m, t, job_ran)
    a = auto_activate(m, t)
    assert a.status == Status.ACTIVE
    assert a.activated_at == datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
    assert a.valid_until == datetime(2026, 4, 30, 10, 0, tzinfo=UTC)
    assert a.balance == m.balance
    assert not auto_activation_due(a, t, job_ran)  # idempotent: it is no longer sold


def test_auto_activation_of_a_sale_type_keeps_the_validity_from_the_sale() -> None:
    t = split_type(validity=Validity(3, "month", "sale"), auto_activation_days=7)
    a = auto_activate(sold(t), t)
    assert a.activated_at == datetime(2026, 3, 8, 10, 0, tzinfo=UTC)
    assert a.valid_until == VALID_UNTIL


def test_auto_activated_membership_keeps_its_activation_on_first_use() -> None:
    t = split_type(validity=Validity(1, "month", "first_visit"), auto_activation_days=30)
    a = auto_activate(sold(t), t)
    used = deducted(use(a, t, at=datetime(2026, 4, 20, tzinfo=UTC))).membership
    assert used.activated_at == a.activated_at
    assert used.valid_until == datetime(2026, 4, 30, 10, 0, tzinfo=UTC)
    assert use(used, t, at=datetime(2026, 4, 30, 10, 0, tzinfo=UTC)) == Rejected(Reason.EXPIRED)


def run_daily_jobs(m: Membership, t: MembershipType, first: date, last: date) -> Membership:
    """What the scheduler does each day (services/memberships/usecases/jobs.py), with the pure rules."""
    day = first
    while day <= last:
        as_of = datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)
        if freeze_ended(m, day):
            m = end_freeze(m)
        elif m.status != Status.FROZEN and m.frozen_on(day):
            m = begin_freeze(m, day)
        if auto_activation_due(m, t, as_of):
            m = auto_activate(m, t)
        day += timedelta(days=1)
    return m


def test_frozen_days_after_an_auto_activation_due_during_the_freeze_still_extend_the_validity() -> None:
    # Sold 1 March, 1 month from first visit, auto-activation after 30 days (31 March). The unused membership
    # is frozen 25 March - 7 April (14 days), so the validity timer may not run on 31 March - 7 April: the
    # client must get at least those 8 days back (valid_until >= 30 April + 8 days).
    t = split_type(
        validity=Validity(1, "month", "first_visit"), auto_activation_days=30, freeze_allowed=True, freeze_max_days=14
    )
    f = ok(freeze(sold(t), t, date(2026, 3, 25), 14, date(2026, 3, 25)))
    assert f.status == Status.FROZEN
    m = run_daily_jobs(f, t, date(2026, 3, 25), date(2026, 4, 20))
    assert m.status == Status.ACTIVE
    assert m.valid_until is not None
    assert m.valid_until >= datetime(2026, 5, 8, 10, 0, tzinfo=UTC), (
        f"valid_until {m.valid_until}: the 8 frozen days after the auto-activation were lost"
    )


# --- expiry -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.SOLD, Status.ACTIVE, Status.FROZEN])
def test_expiry_is_due_at_and_after_valid_until(status: Status) -> None:
    m = replace(sold(split_type()), status=status)
    assert not expiry_due(m, VALID_UNTIL - timedelta(microseconds=1))
    assert not expiry_due(m, SOLD_AT)
    assert expiry_due(m, VALID_UNTIL)
    assert expiry_due(m, VALID_UNTIL + timedelta(days=30))


@pytest.mark.parametrize("status", [Status.EXHAUSTED, Status.EXPIRED])
def test_expiry_is_never_due_for_exhausted_or_expired(status: Status) -> None:
    m = replace(sold(split_type()), status=status)
    assert not expiry_due(m, VALID_UNTIL)
    assert not expiry_due(m, VALID_UNTIL + timedelta(days=365))


def test_expiry_is_never_due_without_valid_until() -> None:
    unlimited = sold(split_type(validity=Validity(0, "month", "sale")))
    not_started = sold(split_type(validity=Validity(1, "month", "first_visit")))
    far = datetime(2036, 1, 1, tzinfo=UTC)
    assert not expiry_due(unlimited, far)
    assert not expiry_due(not_started, far)


def test_expire_sets_expired_and_keeps_the_rest() -> None:
    m = active(split_type(), balance={"svc-massage": 3, "svc-sauna": 1})
    e = expire(m)
    assert e.status == Status.EXPIRED
    assert e.balance == {"svc-massage": 3, "svc-sauna": 1}
    assert e.valid_until == m.valid_until == VALID_UNTIL
    assert e.activated_at == m.activated_at
    assert m.status == Status.ACTIVE
    assert not expiry_due(e, VALID_UNTIL + timedelta(days=1))  # the job does it once


def test_an_expired_membership_cannot_pay() -> None:
    t = split_type()
    assert use(expire(active(t)), t, at=FIRST_USE) == Rejected(Reason.EXPIRED)


# --- expiring soon ------------------------------------------------------------------------------


def test_expiring_soon_starts_exactly_n_days_before_valid_until() -> None:
    t = split_type(notify_days_before_expiry=7)
    m = active(t)
    assert expiring_soon(m, t, VALID_UNTIL - timedelta(days=7, seconds=1)) is None
    assert expiring_soon(m, t, VALID_UNTIL - timedelta(days=7)) == ExpiringSoon("valid_until", 7)
    assert expiring_soon(m, t, VALID_UNTIL - timedelta(days=2)) == ExpiringSoon("valid_until", 2)
    assert expiring_soon(m, t, VALID_UNTIL - timedelta(hours=12)) == ExpiringSoon("valid_until", 0)


def test_expiring_soon_counts_whole_days_left() -> None:
    t = split_type(notify_days_before_expiry=7)
    soon = expiring_soon(active(t), t, VALID_UNTIL - timedelta(days=3, hours=5))
    assert soon == ExpiringSoon("valid_until", 3)


def test_expiring_soon_is_over_once_expired() -> None:
    t = split_type(notify_days_before_expiry=7)
    m = active(t)
    assert expiring_soon(m, t, VALID_UNTIL) is None
    assert expiring_soon(m, t, VALID_UNTIL + timedelta(days=1)) is None


def test_expiring_soon_by_visits_left() -> None:
    t = overall_type(notify_visits_left=3)
    assert expiring_soon(active(t, balance={OVERALL: 4}), t, FIRST_USE) is None
    assert expiring_soon(active(t, balance={OVERALL: 3}), t, FIRST_USE) == ExpiringSoon("visits_left")
    assert expiring_soon(active(t, balance={OVERALL: 1}), t, FIRST_USE) == ExpiringSoon("visits_left", None)
    assert expiring_soon(active(t, balance={OVERALL: 0}), t, FIRST_USE) is None


def test_expiring_soon_by_visits_counts_every_service_of_a_split_membership() -> None:
    t = split_type(notify_visits_left=2)
    assert expiring_soon(active(t, balance={"svc-massage": 1, "svc-sauna": 1}), t, FIRST_USE) == (
        ExpiringSoon("visits_left")
    )
    assert expiring_soon(active(t, balance={"svc-massage": 2, "svc-sauna": 1}), t, FIRST_USE) is None


def test_expiring_soon_prefers_the_date_when_both_apply() -> None:
    t = overall_type(notify_days_before_expiry=7, notify_visits_left=3)
    m = active(t, balance={OVERALL: 2})
    assert expiring_soon(m, t, VALID_UNTIL - timedelta(days=5)) == ExpiringSoon("valid_until", 5)
    assert expiring_soon(m, t, VALID_UNTIL - timedelta(days=30)) == ExpiringSoon("visits_left")


def test_expiring_soon_is_none_when_not_configured() -> None:
    t = overall_type()
    assert t.notify_days_before_expiry is None and t.notify_visits_left is None
    m = active(t, balance={OVERALL: 1})
    assert expiring_soon(m, t, VALID_UNTIL - timedelta(hours=1)) is None


def test_expiring_soon_by_date_is_none_without_valid_until() -> None:
    t = split_type(validity=Validity(1, "month", "first_visit"), notify_days_before_expiry=400)
    assert expiring_soon(sold(t), t, FIRST_USE) is None
    u = split_type(validity=Validity(0, "month", "sale"), notify_days_before_expiry=400)
    assert expiring_soon(active(u), u, FIRST_USE) is None


def test_expiring_soon_applies_to_an_unused_membership() -> None:
    t = split_type(notify_days_before_expiry=7)
    assert expiring_soon(sold(t), t, VALID_UNTIL - timedelta(days=1)) == ExpiringSoon("valid_until", 1)


@pytest.mark.parametrize("status", [Status.FROZEN, Status.EXPIRED, Status.EXHAUSTED])
def test_expiring_soon_is_none_unless_sold_or_active(status: Status) -> None:
    t = overall_type(notify_days_before_expiry=7, notify_visits_left=3)
    m = active(t, balance={OVERALL: 1}, status=status)
    assert expiring_soon(m, t, VALID_UNTIL - timedelta(days=1)) is None


# --- freeze -------------------------------------------------------------------------------------


def test_freeze_in_the_future_extends_validity_and_waits_for_its_first_day() -> None:
    t = freezable()
    m = active(t)
    f = ok(freeze(m, t, date(2026, 3, 15), 5, TODAY))
    assert f.frozen_from == date(2026, 3, 15)
    assert f.frozen_until == date(2026, 3, 20)  # first day usable again
    assert f.freeze_days_used == 5
    assert f.valid_until == VALID_UNTIL + timedelta(days=5)
    assert f.status == Status.ACTIVE  # not frozen yet
    assert m.status == Status.ACTIVE and m.frozen_from is None and m.valid_until == VALID_UNTIL  # untouched


def test_freeze_starting_today_is_frozen_at_once() -> None:
    t = freezable()
    f = ok(freeze(active(t), t, TODAY, 3, TODAY))
    assert f.status == Status.FROZEN
    assert (f.frozen_from, f.frozen_until) == (TODAY, date(2026, 3, 13))
    assert f.valid_until == datetime(2026, 6, 4, 10, 0, tzinfo=UTC)


def test_freeze_up_to_the_types_max_days() -> None:
    t = freezable(freeze_max_days=14)
    assert ok(freeze(active(t), t, TODAY, 14, TODAY)).freeze_days_used == 14
    assert freeze(active(t), t, TODAY, 15, TODAY) == FreezeError.TOO_LONG


@pytest.mark.parametrize("days", [0, -1])
def test_freeze_of_no_days_is_refused(days: int) -> None:
    t = freezable()
    assert freeze(active(t), t, TODAY, days, TODAY) == FreezeError.TOO_LONG


def test_several_freezes_add_up_to_the_max_days() -> None:
    t = freezable(freeze_max_days=14)
    first = ok(freeze(active(t), t, TODAY, 5, TODAY))
    assert freeze_ended(first, date(2026, 3, 15))
    after_first = end_freeze(first)
    second = ok(freeze(after_first, t, date(2026, 4, 1), 9, date(2026, 3, 20)))
    assert second.freeze_days_used == 14
    assert second.valid_until == VALID_UNTIL + timedelta(days=14)
    later = end_freeze(begin_freeze(second, date(2026, 4, 1)))
    assert freeze(later, t, date(2026, 5, 1), 1, date(2026, 4, 20)) == FreezeError.TOO_LONG


def test_a_second_freeze_beyond_what_is_left_is_too_long() -> None:
    t = freezable(freeze_max_days=14)
    first = end_freeze(ok(freeze(active(t), t, TODAY, 10, TODAY)))
    assert freeze(first, t, date(2026, 4, 1), 5, date(2026, 3, 25)) == FreezeError.TOO_LONG
    assert ok(freeze(first, t, date(2026, 4, 1), 4, date(2026, 3, 25))).freeze_days_used == 14


def test_freeze_not_allowed_by_the_type() -> None:
    t = split_type(freeze_allowed=False, freeze_max_days=14)
    assert freeze(active(t), t, TODAY, 3, TODAY) == FreezeError.NOT_ALLOWED


def test_freeze_cannot_start_in_the_past() -> None:
    t = freezable()
    assert freeze(active(t), t, TODAY - timedelta(days=1), 3, TODAY) == FreezeError.IN_THE_PAST


def test_a_planned_freeze_blocks_another_one() -> None:
    t = freezable()
    planned = ok(freeze(active(t), t, date(2026, 3, 15), 3, TODAY))
    assert freeze(planned, t, date(2026, 3, 25), 3, TODAY) == FreezeError.ALREADY_FROZEN
    # its first day has come but the job has not marked it frozen yet
    assert freeze(planned, t, date(2026, 3, 25), 3, date(2026, 3, 16)) == FreezeError.ALREADY_FROZEN


def test_a_frozen_membership_cannot_be_frozen_again_already_frozen() -> None:
    t = freezable()
    f = ok(freeze(active(t), t, TODAY, 5, TODAY))
    assert f.status == Status.FROZEN
    assert freeze(f, t, date(2026, 3, 12), 2, date(2026, 3, 11)) == FreezeError.ALREADY_FROZEN


@pytest.mark.parametrize("status", [Status.EXPIRED, Status.EXHAUSTED])
def test_an_expired_or_exhausted_membership_cannot_be_frozen(status: Status) -> None:
    t = freezable()
    assert freeze(active(t, status=status), t, TODAY, 3, TODAY) == FreezeError.NOT_ACTIVE


def test_an_unused_membership_can_be_frozen_and_returns_to_sold() -> None:
    t = freezable()
    f = ok(freeze(sold(t), t, TODAY, 4, TODAY))
    assert f.status == Status.FROZEN
    assert f.valid_until == VALID_UNTIL + timedelta(days=4)
    assert end_freeze(f).status == Status.SOLD
    assert ok(unfreeze(f, date(2026, 3, 12))).status == Status.SOLD


def test_freezing_a_not_started_first_visit_membership_leaves_valid_until_open() -> None:
    t = freezable(validity=Validity(1, "month", "first_visit"))
    f = ok(freeze(sold(t), t, TODAY, 4, TODAY))
    assert f.valid_until is None
    assert f.freeze_days_used == 4


def test_a_frozen_membership_rejects_deduction_on_a_day_inside_the_freeze() -> None:
    t = freezable()
    f = ok(freeze(active(t), t, TODAY, 5, TODAY))  # 10-14 March
    assert use(f, t, at=at_noon(TODAY)) == Rejected(Reason.FROZEN)
    assert use(f, t, at=at_noon(date(2026, 3, 14))) == Rejected(Reason.FROZEN)
    assert eligibility(
        f, t, service_id="svc-massage", location_id="loc-1", at=at_noon(date(2026, 3, 12)), phone=PHONE
    ) == Rejected(Reason.FROZEN)


def test_a_planned_freeze_rejects_deduction_on_its_days_even_before_the_job_marks_it() -> None:
    t = freezable()
    planned = ok(freeze(active(t), t, date(2026, 3, 15), 5, TODAY))
    assert planned.status == Status.ACTIVE
    assert isinstance(use(planned, t, at=at_noon(date(2026, 3, 14))), Deducted)
    assert use(planned, t, at=at_noon(date(2026, 3, 15))) == Rejected(Reason.FROZEN)
    assert use(planned, t, at=at_noon(date(2026, 3, 19))) == Rejected(Reason.FROZEN)
    assert isinstance(use(planned, t, at=at_noon(date(2026, 3, 20))), Deducted)


def test_a_membership_pays_again_once_its_freeze_has_ended() -> None:
    t = freezable()
    f = ok(freeze(active(t), t, TODAY, 5, TODAY))
    result = deducted(use(end_freeze(f), t, at=at_noon(date(2026, 3, 15))))
    assert result.membership.status == Status.ACTIVE
    assert result.membership.valid_until == VALID_UNTIL + timedelta(days=5)


def test_a_membership_pays_on_the_first_day_after_its_freeze_even_before_the_job_ends_it() -> None:
    # frozen_until is "the first day it is usable again"; whether the freezes job has already run that day
    # must not matter (as auto_activate says: a late job run costs the client nothing).
    t = freezable()
    f = ok(freeze(active(t), t, TODAY, 5, TODAY))  # frozen 10-14 March, usable from 15 March
    assert f.status == Status.FROZEN
    assert isinstance(use(f, t, at=at_noon(date(2026, 3, 15))), Deducted)


def test_frozen_days_extend_the_validity_the_membership_can_be_used() -> None:
    t = freezable()
    f = end_freeze(ok(freeze(active(t), t, TODAY, 7, TODAY)))
    extended = VALID_UNTIL + timedelta(days=7)
    assert isinstance(use(f, t, at=extended - timedelta(minutes=1)), Deducted)
    assert use(f, t, at=extended) == Rejected(Reason.EXPIRED)
    assert expiry_due(f, extended) and not expiry_due(f, extended - timedelta(minutes=1))


# --- begin_freeze -------------------------------------------------------------------------------


def test_begin_freeze_waits_for_the_first_day_and_stops_at_frozen_until() -> None:
    t = freezable()
    planned = ok(freeze(active(t), t, date(2026, 3, 15), 5, TODAY))  # 15-19 March
    assert begin_freeze(planned, date(2026, 3, 14)) == planned
    assert begin_freeze(planned, date(2026, 3, 15)).status == Status.FROZEN
    assert begin_freeze(planned, date(2026, 3, 19)).status == Status.FROZEN
    assert begin_freeze(planned, date(2026, 3, 20)) == planned


def test_begin_freeze_of_an_unused_membership() -> None:
    t = freezable()
    planned = ok(freeze(sold(t), t, date(2026, 3, 15), 5, TODAY))
    assert planned.status == Status.SOLD
    assert begin_freeze(planned, date(2026, 3, 16)).status == Status.FROZEN


@pytest.mark.parametrize("status", [Status.EXPIRED, Status.EXHAUSTED, Status.FROZEN])
def test_begin_freeze_leaves_other_statuses_alone(status: Status) -> None:
    m = active(freezable(), status=status, frozen_from=TODAY, frozen_until=date(2026, 3, 15))
    assert begin_freeze(m, TODAY) == m


def test_begin_freeze_without_a_freeze_changes_nothing() -> None:
    m = active(freezable())
    assert begin_freeze(m, TODAY) == m


# --- unfreeze -----------------------------------------------------------------------------------


def test_unfreeze_early_gives_back_the_unused_days() -> None:
    t = freezable()
    f = ok(freeze(active(t), t, TODAY, 10, TODAY))  # 10-19 March, valid_until + 10 days
    assert f.valid_until == VALID_UNTIL + timedelta(days=10)
    u = ok(unfreeze(f, date(2026, 3, 13)))  # 3 days used: 10, 11, 12 March
    assert u.status == Status.ACTIVE
    assert u.freeze_days_used == 3
    assert u.valid_until == VALID_UNTIL + timedelta(days=3)
    assert u.frozen_from == TODAY
    assert u.frozen_until == date(2026, 3, 13)
    assert not u.frozen_on(date(2026, 3, 13))
    assert isinstance(use(u, t, at=at_noon(date(2026, 3, 13))), Deducted)


def test_unfreeze_on_the_first_day_gives_back_every_day() -> None:
    t = freezable()
    f = ok(freeze(active(t), t, TODAY, 10, TODAY))
    u = ok(unfreeze(f, TODAY))
    assert u.freeze_days_used == 0
    assert u.valid_until == VALID_UNTIL
    assert u.status == Status.ACTIVE


def test_days_given_back_by_an_unfreeze_can_be_frozen_again() -> None:
    t = freezable(freeze_max_days=14)
    u = ok(unfreeze(ok(freeze(active(t), t, TODAY, 10, TODAY)), date(2026, 3, 13)))
    again = ok(freeze(u, t, date(2026, 3, 13), 11, date(2026, 3, 13)))
    assert again.freeze_days_used == 14
    assert again.valid_until == VALID_UNTIL + timedelta(days=14)
    assert freeze(u, t, date(2026, 3, 13), 12, date(2026, 3, 13)) == FreezeError.TOO_LONG


def test_unfreeze_cancels_a_freeze_not_started_yet() -> None:
    t = freezable()
    planned = ok(freeze(active(t), t, date(2026, 3, 15), 5, TODAY))
    c = ok(unfreeze(planned, date(2026, 3, 12)))
    assert c.status == Status.ACTIVE
    assert c.freeze_days_used == 0
    assert c.valid_until == VALID_UNTIL
    for day in range(15, 20):
        assert not c.frozen_on(date(2026, 3, day))
    assert isinstance(use(c, t, at=at_noon(date(2026, 3, 16))), Deducted)
    assert begin_freeze(c, date(2026, 3, 15)).status == Status.ACTIVE


def test_after_cancelling_a_planned_freeze_another_one_can_be_planned() -> None:
    t = freezable()
    planned = ok(freeze(active(t), t, date(2026, 3, 20), 5, TODAY))
    cancelled = ok(unfreeze(planned, date(2026, 3, 12)))
    replanned = freeze(cancelled, t, date(2026, 3, 14), 3, date(2026, 3, 12))
    assert isinstance(replanned, Membership), (
        f"{replanned}: the cancelled freeze (frozen_until {cancelled.frozen_until}) still blocks a new one"
    )
    assert replanned.freeze_days_used == 3
    assert replanned.valid_until == VALID_UNTIL + timedelta(days=3)


def test_unfreeze_without_a_freeze_is_refused() -> None:
    assert unfreeze(active(freezable()), TODAY) == FreezeError.NOT_ACTIVE


def test_unfreeze_after_the_freeze_ended_is_refused() -> None:
    t = freezable()
    f = ok(freeze(active(t), t, TODAY, 5, TODAY))
    assert unfreeze(f, date(2026, 3, 15)) == FreezeError.NOT_ACTIVE
    assert unfreeze(end_freeze(f), date(2026, 3, 20)) == FreezeError.NOT_ACTIVE


def test_unfreeze_of_a_not_started_first_visit_membership_keeps_valid_until_open() -> None:
    t = freezable(validity=Validity(1, "month", "first_visit"))
    u = ok(unfreeze(ok(freeze(sold(t), t, TODAY, 6, TODAY)), date(2026, 3, 12)))
    assert u.valid_until is None
    assert u.freeze_days_used == 2
    assert u.status == Status.SOLD


# --- freeze end ---------------------------------------------------------------------------------


def test_freeze_ends_on_frozen_until_after_the_last_frozen_day() -> None:
    t = freezable()
    f = ok(freeze(active(t), t, TODAY, 5, TODAY))  # last frozen day 14 March
    assert not freeze_ended(f, date(2026, 3, 14))
    assert freeze_ended(f, date(2026, 3, 15))
    assert freeze_ended(f, date(2026, 4, 1))


def test_freeze_ended_only_for_frozen_memberships() -> None:
    t = freezable()
    planned = ok(freeze(active(t), t, date(2026, 3, 15), 5, TODAY))
    assert not freeze_ended(planned, date(2026, 3, 25))  # never started: status active
    assert not freeze_ended(active(t), date(2026, 3, 25))


def test_end_freeze_returns_to_active_keeping_the_extension() -> None:
    t = freezable()
    f = ok(freeze(active(t), t, TODAY, 5, TODAY))
    e = end_freeze(f)
    assert e.status == Status.ACTIVE
    assert e.valid_until == VALID_UNTIL + timedelta(days=5)
    assert e.freeze_days_used == 5
    assert e.balance == f.balance
    assert not freeze_ended(e, date(2026, 3, 15))  # the job does it once


def test_end_freeze_of_an_unused_membership_returns_to_sold() -> None:
    t = freezable()
    assert end_freeze(ok(freeze(sold(t), t, TODAY, 5, TODAY))).status == Status.SOLD


# --- type changes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        dict(price=Decimal("9000")),
        dict(name="Massage 2026"),
        dict(balance="overall", total_visits=15),
        dict(services=(TypeService("svc-massage", "cat-body", 20), TypeService("svc-sauna", "cat-body", 5))),
        dict(
            services=(
                TypeService("svc-massage", "cat-body", 10),
                TypeService("svc-sauna", "cat-body", 5),
                TypeService("svc-pool", None, 3),
            )
        ),
        dict(validity=Validity(6, "month", "first_visit")),
    ],
    ids=["price", "name", "balance", "visits", "added_service", "validity"],
)
def test_before_any_sale_anything_may_change(changes: dict[str, object]) -> None:
    old = split_type()
    assert check_type_change(old, replace(old, **changes), sold=False) is None  # type: ignore[arg-type]


def test_services_are_removed_only_before_the_first_sale() -> None:
    """The seed forbids it "after the membership has been sold": before, a type is still a draft."""
    old = split_type()
    new = replace(old, services=(TypeService("svc-massage", "cat-body", 10),))
    o = overall_type()
    fewer = replace(o, services=(TypeService("svc-sauna"),))
    assert check_type_change(old, new, sold=False) is None
    assert check_type_change(o, fewer, sold=False) is None
    assert check_type_change(old, new, sold=True) == TypeChangeError.SERVICE_REMOVED
    assert check_type_change(o, fewer, sold=True) == TypeChangeError.SERVICE_REMOVED


def test_after_a_sale_the_price_is_fixed() -> None:
    old = split_type()
    assert check_type_change(old, replace(old, price=Decimal("9000")), sold=True) == TypeChangeError.PRICE_FIXED
    assert check_type_change(old, replace(old, price=Decimal("7999.99")), sold=True) == (TypeChangeError.PRICE_FIXED)
    assert check_type_change(old, replace(old, price=Decimal("8000.00")), sold=True) is None


def test_after_a_sale_services_cannot_be_added_to_a_split_type() -> None:
    old = split_type()
    new = replace(old, services=(*old.services, TypeService("svc-pool", None, 3)))
    assert check_type_change(old, new, sold=True) == TypeChangeError.SERVICE_ADDED_TO_SPLIT


def test_after_a_sale_services_may_be_added_to_an_overall_type() -> None:
    old = overall_type()
    new = replace(old, services=(*old.services, TypeService("svc-pool")))
    assert check_type_change(old, new, sold=True) is None


def test_after_a_sale_the_visits_of_a_split_type_are_fixed() -> None:
    old = split_type()
    new = replace(old, services=(TypeService("svc-massage", "cat-body", 12), TypeService("svc-sauna", "cat-body", 5)))
    assert check_type_change(old, new, sold=True) == TypeChangeError.VISITS_CHANGED


def test_after_a_sale_the_total_visits_of_an_overall_type_are_fixed() -> None:
    old = overall_type(total_visits=10)
    assert check_type_change(old, replace(old, total_visits=12), sold=True) == TypeChangeError.VISITS_CHANGED
    assert check_type_change(old, replace(old, total_visits=8), sold=True) == TypeChangeError.VISITS_CHANGED


def test_after_a_sale_the_balance_kind_is_fixed() -> None:
    old = split_type()
    new = replace(old, balance="overall", total_visits=15)
    assert check_type_change(old, new, sold=True) == TypeChangeError.BALANCE_CHANGED


@pytest.mark.parametrize(
    "changes",
    [
        dict(name="Massage 2026"),
        dict(validity=Validity(6, "month", "first_visit")),
        dict(freeze_allowed=True, freeze_max_days=30),
        dict(location_ids=("loc-1", "loc-9")),
        dict(notify_days_before_expiry=7, notify_visits_left=2),
        dict(allow_without_code=True, editing="all_locations", online_sale=True, archived=True),
        dict(services=(TypeService("svc-massage", "cat-new", 10), TypeService("svc-sauna", "cat-body", 5))),
    ],
    ids=["name", "validity", "freeze", "locations", "notices", "flags", "category"],
)
def test_after_a_sale_the_other_settings_may_change(changes: dict[str, object]) -> None:
    old = split_type()
    assert check_type_change(old, replace(old, **changes), sold=True) is None  # type: ignore[arg-type]


def test_unchanged_type_is_fine_sold_or_not() -> None:
    assert check_type_change(split_type(), split_type(), sold=True) is None
    assert check_type_change(overall_type(), overall_type(), sold=False) is None


def test_type_change_errors_are_their_strings() -> None:
    assert TypeChangeError.PRICE_FIXED == "price_fixed_after_sale"
    assert TypeChangeError.SERVICE_REMOVED == "services_cannot_be_removed"
    assert TypeChangeError.SERVICE_ADDED_TO_SPLIT == "services_cannot_be_added_to_split_type"
    assert TypeChangeError.VISITS_CHANGED == "visits_fixed_after_sale"


# --- duplicate_name -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "taken", "expected"),
    [
        ("Massage", {"Massage"}, "Massage (2)"),
        ("Massage", {"Massage", "Massage (2)"}, "Massage (3)"),
        ("Massage", {"Massage", "Massage (2)", "Massage (3)"}, "Massage (4)"),
        ("Massage (2)", {"Massage", "Massage (2)"}, "Massage (3)"),
        ("Massage (3)", {"Massage", "Massage (2)", "Massage (3)"}, "Massage (4)"),
        ("Massage", {"Massage", "Massage (3)"}, "Massage (2)"),
        ("Massage", set(), "Massage (2)"),
        ("Spa (Premium)", {"Spa (Premium)"}, "Spa (Premium) (2)"),
        ("Massage(2)", {"Massage(2)"}, "Massage(2) (2)"),
    ],
)
def test_duplicate_name(name: str, taken: set[str], expected: str) -> None:
    assert duplicate_name(name, taken) == expected


def test_duplicating_a_duplicate_repeatedly_counts_on() -> None:
    taken = {"Massage"}
    name = "Massage"
    for expected in ("Massage (2)", "Massage (3)", "Massage (4)"):
        name = duplicate_name(name, taken)
        assert name == expected
        taken.add(name)


# --- late cancellation and the deduction policy ---------------------------------------------------

SCHEDULED = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("before", "hours", "late"),
    [
        (timedelta(hours=23), 24, True),
        (timedelta(hours=25), 24, False),
        (timedelta(hours=24), 24, False),  # exactly 24 hours before is in time
        (timedelta(hours=24) - timedelta(seconds=1), 24, True),
        (timedelta(0), 24, True),
        (-timedelta(hours=1), 24, True),  # cancelled after the start
        (timedelta(hours=1), 2, True),
        (timedelta(hours=3), 2, False),
        (timedelta(minutes=1), 0, False),
        (-timedelta(minutes=1), 0, True),
    ],
)
def test_is_late_cancel(before: timedelta, hours: int, late: bool) -> None:
    assert is_late_cancel(SCHEDULED, SCHEDULED - before, hours) is late


def test_default_policy_deducts_nothing() -> None:
    p = DeductionPolicy()
    assert not p.deducts_no_show("svc-massage")
    assert not p.deducts_late_cancel("svc-massage", SCHEDULED, SCHEDULED + timedelta(hours=1))


def test_no_show_policy_of_the_location_applies_to_every_service() -> None:
    p = DeductionPolicy(no_show=True)
    assert p.deducts_no_show("svc-massage")
    assert p.deducts_no_show("svc-anything")


def test_no_show_override_false_for_one_service() -> None:
    p = DeductionPolicy(no_show=True, services={"svc-massage": ServicePolicy(no_show=False)})
    assert not p.deducts_no_show("svc-massage")
    assert p.deducts_no_show("svc-sauna")


def test_no_show_override_true_for_one_service() -> None:
    p = DeductionPolicy(no_show=False, services={"svc-massage": ServicePolicy(no_show=True)})
    assert p.deducts_no_show("svc-massage")
    assert not p.deducts_no_show("svc-sauna")


def test_override_without_no_show_falls_back_to_the_location() -> None:
    p = DeductionPolicy(no_show=True, services={"svc-massage": ServicePolicy(late_cancel=False)})
    assert p.deducts_no_show("svc-massage")
    q = DeductionPolicy(no_show=False, services={"svc-massage": ServicePolicy(late_cancel=True)})
    assert not q.deducts_no_show("svc-massage")


def test_late_cancel_policy_deducts_only_late_cancellations() -> None:
    p = DeductionPolicy(late_cancel_hours=24)
    assert p.deducts_late_cancel("svc-massage", SCHEDULED, SCHEDULED - timedelta(hours=23))
    assert not p.deducts_late_cancel("svc-massage", SCHEDULED, SCHEDULED - timedelta(hours=25))
    assert p.deducts_late_cancel("svc-massage", SCHEDULED, SCHEDULED + timedelta(minutes=30))


def test_late_cancel_override_false_for_one_service() -> None:
    p = DeductionPolicy(late_cancel_hours=24, services={"svc-massage": ServicePolicy(late_cancel=False)})
    assert not p.deducts_late_cancel("svc-massage", SCHEDULED, SCHEDULED - timedelta(hours=1))
    assert p.deducts_late_cancel("svc-sauna", SCHEDULED, SCHEDULED - timedelta(hours=1))


def test_late_cancel_override_true_still_needs_a_late_cancellation() -> None:
    p = DeductionPolicy(late_cancel_hours=24, services={"svc-massage": ServicePolicy(late_cancel=True)})
    assert p.deducts_late_cancel("svc-massage", SCHEDULED, SCHEDULED - timedelta(hours=1))
    assert not p.deducts_late_cancel("svc-massage", SCHEDULED, SCHEDULED - timedelta(hours=30))


def test_no_show_override_does_not_touch_late_cancellation() -> None:
    p = DeductionPolicy(no_show=True, late_cancel_hours=24, services={"svc-massage": ServicePolicy(no_show=False)})
    assert not p.deducts_no_show("svc-massage")
    assert p.deducts_late_cancel("svc-massage", SCHEDULED, SCHEDULED - timedelta(hours=2))


def test_without_late_cancel_hours_no_cancellation_is_deducted() -> None:
    p = DeductionPolicy(no_show=True, late_cancel_hours=None, services={"svc-massage": ServicePolicy(late_cancel=True)})
    for cancelled_at in (SCHEDULED - timedelta(minutes=1), SCHEDULED, SCHEDULED + timedelta(hours=2)):
        assert not p.deducts_late_cancel("svc-massage", SCHEDULED, cancelled_at)
        assert not p.deducts_late_cancel("svc-sauna", SCHEDULED, cancelled_at)
    assert p.deducts_no_show("svc-massage")


# --- choose_membership --------------------------------------------------------------------------

AT = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def member(t: MembershipType, membership_id: str, valid_until: datetime | None, **changes: object) -> Membership:
    m = replace(sold(t), id=membership_id, code=f"code-{membership_id}", valid_until=valid_until)
    return replace(m, **changes) if changes else m  # type: ignore[arg-type]


def choose(
    candidates: list[tuple[Membership, MembershipType]],
    *,
    service_id: str = "svc-massage",
    location_id: str = "loc-1",
    phone: str | None = PHONE,
) -> tuple[Membership, str] | None:
    return choose_membership(candidates, service_id=service_id, location_id=location_id, at=AT, phone=phone)


def test_choose_membership_picks_the_eligible_one_expiring_soonest() -> None:
    t = split_type()
    june = member(t, "june", VALID_UNTIL)
    april = member(t, "april", datetime(2026, 4, 1, 10, 0, tzinfo=UTC))
    may = member(t, "may", datetime(2026, 5, 1, 10, 0, tzinfo=UTC))
    chosen = choose([(june, t), (april, t), (may, t)])
    assert chosen is not None
    m, why = chosen
    assert m.id == "april"
    assert "svc-massage" in why
    assert "2026-04-01T10:00:00+00:00" in why
    assert "soonest" in why
    assert "of 3 eligible" in why


def test_choose_membership_does_not_depend_on_the_order_of_candidates() -> None:
    t = split_type()
    ms = [member(t, f"m{i}", datetime(2026, 4, 1 + i, tzinfo=UTC)) for i in range(4)]
    for order in (ms, list(reversed(ms)), [ms[2], ms[0], ms[3], ms[1]]):
        chosen = choose([(m, t) for m in order])
        assert chosen is not None and chosen[0].id == "m0"


def test_choose_membership_skips_ineligible_ones() -> None:
    t = split_type()
    sauna_only = split_type(id="type-sauna", services=(TypeService("svc-sauna", None, 5),))
    soon = datetime(2026, 3, 25, tzinfo=UTC)
    not_included = member(sauna_only, "sauna", soon)
    expired = member(t, "expired", datetime(2026, 3, 20, 11, 0, tzinfo=UTC))  # before AT
    expired_status = member(t, "expired-status", soon, status=Status.EXPIRED)
    exhausted = member(t, "exhausted", soon, status=Status.EXHAUSTED, balance={"svc-massage": 0, "svc-sauna": 0})
    used_up = member(t, "used-up", soon, balance={"svc-massage": 0, "svc-sauna": 5})
    frozen = member(t, "frozen", soon, status=Status.FROZEN)
    in_a_freeze = member(t, "in-a-freeze", soon, frozen_from=date(2026, 3, 19), frozen_until=date(2026, 3, 22))
    eligible = member(t, "eligible", datetime(2026, 5, 1, tzinfo=UTC))
    candidates = [
        (m, sauna_only if m is not_included else t)
        for m in (not_included, expired, expired_status, exhausted, used_up, frozen, in_a_freeze, eligible)
    ]
    chosen = choose(candidates)
    assert chosen is not None
    assert chosen[0].id == "eligible"
    assert chosen[1].endswith("of 1 eligible")


def test_choose_membership_skips_other_locations_and_phones() -> None:
    t = split_type()
    elsewhere = split_type(id="type-elsewhere", location_ids=("loc-2",))
    no_code = split_type(id="type-no-code", allow_without_code=True)
    soon = datetime(2026, 3, 25, tzinfo=UTC)
    other_phone = replace(member(no_code, "other-phone", soon), code=None, phone="+36209999999")
    candidates = [
        (member(elsewhere, "elsewhere", soon), elsewhere),
        (other_phone, no_code),
        (member(t, "here", VALID_UNTIL), t),
    ]
    chosen = choose(candidates)
    assert chosen is not None and chosen[0].id == "here"


def test_choose_membership_puts_unlimited_ones_last() -> None:
    t = split_type()
    unlimited = member(t, "unlimited", None, sold_at=SOLD_AT - timedelta(days=300))
    dated = member(t, "dated", datetime(2030, 1, 1, tzinfo=UTC))
    chosen = choose([(unlimited, t), (dated, t)])
    assert chosen is not None and chosen[0].id == "dated"


def test_choose_membership_among_unlimited_ones_takes_the_oldest_sale() -> None:
    t = split_type()
    newer = member(t, "newer", None, sold_at=SOLD_AT)
    older = member(t, "older", None, sold_at=SOLD_AT - timedelta(days=10))
    chosen = choose([(newer, t), (older, t)])
    assert chosen is not None
    m, why = chosen
    assert m.id == "older"
    assert "oldest sale" in why and "unlimited" in why
    assert "of 2 eligible" in why


def test_choose_membership_with_the_same_valid_until_takes_the_oldest_sale() -> None:
    t = split_type()
    newer = member(t, "newer", VALID_UNTIL, sold_at=SOLD_AT)
    older = member(t, "older", VALID_UNTIL, sold_at=SOLD_AT - timedelta(days=1))
    chosen = choose([(newer, t), (older, t)])
    assert chosen is not None and chosen[0].id == "older"


def test_choose_membership_of_one_eligible_membership() -> None:
    t = overall_type()
    only = member(t, "only", VALID_UNTIL)
    assert choose([(only, t)], service_id="svc-sauna") == (
        only,
        "eligible for svc-sauna; expires soonest (2026-06-01T10:00:00+00:00), of 1 eligible",
    )


def test_choose_membership_is_none_when_none_is_eligible() -> None:
    t = split_type()
    assert choose([]) is None
    assert choose([(member(t, "a", VALID_UNTIL), t)], service_id="svc-haircut") is None
    assert (
        choose(
            [
                (member(t, "b", VALID_UNTIL, status=Status.EXPIRED), t),
                (member(t, "c", VALID_UNTIL, status=Status.FROZEN), t),
            ]
        )
        is None
    )


def test_choose_membership_changes_nothing() -> None:
    t = split_type(validity=Validity(1, "month", "first_visit"))
    m = sold(t)
    before = copy.deepcopy(m)
    chosen = choose([(m, t)])
    assert chosen is not None and chosen[0] == before
    assert chosen[0].status == Status.SOLD
    assert m == before


# --- edit ---------------------------------------------------------------------------------------

EDIT_AT = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)


def change(
    m: Membership,
    t: MembershipType,
    *,
    balance: dict[str, int] | None = None,
    valid_until: datetime | None = None,
    location_id: str | None = "loc-1",
    at: datetime = EDIT_AT,
) -> Membership | EditError:
    return edit(m, t, balance=balance, valid_until=valid_until, location_id=location_id, at=at)


def test_editing_none_is_not_allowed() -> None:
    t = split_type(editing="none")
    assert change(active(t), t, balance={"svc-massage": 3}) == EditError.NOT_ALLOWED
    assert change(active(t), t) == EditError.NOT_ALLOWED


def test_editing_at_the_selling_location_only() -> None:
    t = split_type(editing="selling_location")
    m = active(t)
    assert m.location_id == "loc-1"
    assert change(m, t, balance={"svc-massage": 3}, location_id="loc-2") == EditError.WRONG_LOCATION
    assert change(m, t, balance={"svc-massage": 3}, location_id=None) == EditError.WRONG_LOCATION
    assert ok(change(m, t, balance={"svc-massage": 3}, location_id="loc-1")).balance["svc-massage"] == 3


@pytest.mark.parametrize("location_id", ["loc-1", "loc-2", None])
def test_editing_at_all_locations(location_id: str | None) -> None:
    t = split_type(editing="all_locations")
    assert ok(change(active(t), t, balance={"svc-sauna": 1}, location_id=location_id)).balance == {
        "svc-massage": 10,
        "svc-sauna": 1,
    }


def test_editing_an_unknown_balance_key_is_refused() -> None:
    t = split_type(editing="all_locations")
    assert change(active(t), t, balance={"svc-haircut": 3}) == EditError.UNKNOWN_BALANCE_KEY
    assert change(active(t), t, balance={"svc-massage": 3, OVERALL: 3}) == EditError.UNKNOWN_BALANCE_KEY
    o = overall_type(editing="all_locations")
    assert change(active(o), o, balance={"svc-massage": 3}) == EditError.UNKNOWN_BALANCE_KEY
    assert ok(change(active(o), o, balance={OVERALL: 3})).balance == {OVERALL: 3}


def test_editing_the_balance_to_zero_exhausts_the_membership() -> None:
    t = split_type(editing="all_locations")
    e = ok(change(active(t), t, balance={"svc-massage": 0, "svc-sauna": 0}))
    assert e.status == Status.EXHAUSTED
    assert e.visits_left == 0
    assert use(e, t, at=EDIT_AT) == Rejected(Reason.EXHAUSTED)


def test_editing_one_service_to_zero_leaves_it_active() -> None:
    t = split_type(editing="all_locations")
    e = ok(change(active(t), t, balance={"svc-massage": 0}))
    assert e.status == Status.ACTIVE
    assert e.balance == {"svc-massage": 0, "svc-sauna": 5}


def test_topping_up_an_exhausted_membership_makes_it_active_again() -> None:
    t = overall_type(editing="all_locations")
    exhausted = active(t, balance={OVERALL: 0}, status=Status.EXHAUSTED)
    e = ok(change(exhausted, t, balance={OVERALL: 2}))
    assert e.status == Status.ACTIVE
    assert isinstance(use(e, t, at=EDIT_AT), Deducted)


def test_editing_an_unused_membership_keeps_it_sold() -> None:
    t = split_type(editing="all_locations")
    e = ok(change(sold(t), t, balance={"svc-massage": 20}))
    assert e.status == Status.SOLD
    assert e.activated_at is None
    assert e.balance == {"svc-massage": 20, "svc-sauna": 5}


def test_extending_valid_until_of_an_expired_membership_brings_it_back() -> None:
    t = split_type(editing="all_locations")
    expired = expire(active(t, balance={"svc-massage": 4, "svc-sauna": 0}))
    after = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    new_until = datetime(2026, 9, 1, tzinfo=UTC)
    e = ok(change(expired, t, valid_until=new_until, at=after))
    assert e.status == Status.ACTIVE
    assert e.valid_until == new_until
    assert e.balance == {"svc-massage": 4, "svc-sauna": 0}
    assert isinstance(use(e, t, at=after), Deducted)


def test_extending_an_expired_never_used_membership_makes_it_sold_again() -> None:
    t = split_type(editing="all_locations")
    expired = expire(sold(t))
    e = ok(change(expired, t, valid_until=datetime(2026, 9, 1, tzinfo=UTC), at=datetime(2026, 6, 10, tzinfo=UTC)))
    assert e.status == Status.SOLD


def test_moving_valid_until_of_an_expired_membership_not_past_now_keeps_it_expired() -> None:
    t = split_type(editing="all_locations")
    expired = expire(active(t))
    now = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    assert ok(change(expired, t, valid_until=datetime(2026, 6, 5, tzinfo=UTC), at=now)).status == Status.EXPIRED
    assert ok(change(expired, t, valid_until=now, at=now)).status == Status.EXPIRED


def test_extending_an_expired_membership_without_visits_keeps_it_expired() -> None:
    t = overall_type(editing="all_locations")
    expired = expire(active(t, balance={OVERALL: 0}))
    e = ok(change(expired, t, valid_until=datetime(2026, 9, 1, tzinfo=UTC), at=datetime(2026, 6, 10, tzinfo=UTC)))
    assert e.status == Status.EXPIRED


def test_editing_without_valid_until_keeps_it() -> None:
    t = split_type(editing="all_locations")
    assert ok(change(active(t), t, balance={"svc-massage": 1})).valid_until == VALID_UNTIL


def test_editing_a_frozen_membership_keeps_it_frozen() -> None:
    t = freezable(editing="all_locations")
    f = ok(freeze(active(t), t, TODAY, 5, TODAY))
    e = ok(change(f, t, balance={"svc-massage": 2}, at=at_noon(TODAY)))
    assert e.status == Status.FROZEN
    assert (e.frozen_from, e.frozen_until) == (f.frozen_from, f.frozen_until)


def test_edit_does_not_change_the_original() -> None:
    t = split_type(editing="all_locations")
    m = active(t)
    before = copy.deepcopy(m)
    ok(change(m, t, balance={"svc-massage": 0, "svc-sauna": 0}, valid_until=datetime(2027, 1, 1, tzinfo=UTC)))
    assert m == before


def test_edit_error_strings() -> None:
    assert EditError.NOT_ALLOWED == "editing_not_allowed"
    assert EditError.WRONG_LOCATION == "editing_only_at_selling_location"
    assert EditError.UNKNOWN_BALANCE_KEY == "unknown_balance_key"


def test_choose_membership_ranks_an_unused_first_visit_membership_by_the_validity_it_would_get_now() -> None:
    first_visit = split_type(validity=Validity(1, "month", "first_visit"))
    year = split_type(id="type-year", validity=Validity(12, "month", "sale"))
    unused = member(first_visit, "unused", None)
    long = member(year, "long", SOLD_AT + timedelta(days=360))
    chosen = choose([(long, year), (unused, first_visit)])
    assert chosen is not None and chosen[0].id == "unused"  # a month from now beats a year from the sale


def test_a_freeze_cannot_start_after_the_membership_has_expired() -> None:
    t = split_type(freeze_allowed=True, freeze_max_days=14)
    m = member(t, "m", datetime(2026, 3, 10, tzinfo=UTC))
    assert freeze(m, t, date(2026, 3, 12), 3, date(2026, 3, 1)) == FreezeError.AFTER_EXPIRY
