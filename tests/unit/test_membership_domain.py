"""Pure membership rules (services/memberships/domain.py): no I/O."""

from __future__ import annotations

import copy
import random
from dataclasses import FrozenInstanceError, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.memberships.domain import (
    CODE_ALPHABET,
    CODE_LENGTH,
    OVERALL,
    Deducted,
    IssueReason,
    Membership,
    MembershipType,
    Reason,
    Rejected,
    Status,
    TypeService,
    Validity,
    add_months,
    check_sale,
    deduct,
    generate_code,
    issue,
)
from shared import phones

SOLD_AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
PHONE = "+36201234567"


def split_type(**overrides: object) -> MembershipType:
    values: dict[str, object] = dict(
        id="type-split",
        chain_id="ch-1",
        name="Massage membership",
        balance="split",
        services=(TypeService("svc-massage", "cat-body", 10), TypeService("svc-sauna", "cat-body", 5)),
        price=Decimal("8000"),
        validity=Validity(3, "month", "sale"),
    )
    values.update(overrides)
    return MembershipType(**values)  # type: ignore[arg-type]


def overall_type(**overrides: object) -> MembershipType:
    values: dict[str, object] = dict(
        id="type-overall",
        chain_id="ch-1",
        name="Spa membership",
        balance="overall",
        services=(TypeService("svc-massage"), TypeService("svc-sauna")),
        total_visits=10,
        price=Decimal("8000"),
        validity=Validity(3, "month", "sale"),
    )
    values.update(overrides)
    return MembershipType(**values)  # type: ignore[arg-type]


def sold(
    t: MembershipType, *, code: str | None = "4567", phone: str | None = PHONE, sold_at: datetime = SOLD_AT
) -> Membership:
    return issue(
        t,
        membership_id="m-1",
        code=code,
        client_id="cl-5",
        phone=phone,
        location_id="loc-1",
        price=t.price,
        sold_at=sold_at,
    )


def use(
    m: Membership,
    t: MembershipType,
    *,
    service_id: str = "svc-massage",
    location_id: str = "loc-1",
    units: int = 1,
    at: datetime | None = None,
    phone: str | None = PHONE,
) -> Deducted | Rejected:
    return deduct(
        m,
        t,
        service_id=service_id,
        location_id=location_id,
        units=units,
        at=at or SOLD_AT + timedelta(days=1),
        phone=phone,
    )


def deducted(result: Deducted | Rejected) -> Deducted:
    assert isinstance(result, Deducted), result
    return result


# --- add_months ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2025, 1, 31), 1, datetime(2025, 2, 28)),  # common year
        (datetime(2024, 1, 31), 1, datetime(2024, 2, 29)),  # leap year
        (datetime(2100, 1, 31), 1, datetime(2100, 2, 28)),  # century, not a leap year
        (datetime(2000, 1, 31), 1, datetime(2000, 2, 29)),  # divisible by 400: leap year
        (datetime(2025, 3, 31), 1, datetime(2025, 4, 30)),
        (datetime(2025, 11, 30), 3, datetime(2026, 2, 28)),
        (datetime(2025, 12, 15), 1, datetime(2026, 1, 15)),  # into the next year
        (datetime(2025, 1, 15), 24, datetime(2027, 1, 15)),
        (datetime(2024, 2, 29), 12, datetime(2025, 2, 28)),
        (datetime(2024, 2, 29), 48, datetime(2028, 2, 29)),
        (datetime(2025, 1, 15), -1, datetime(2024, 12, 15)),  # back into the previous year
        (datetime(2025, 3, 31), -1, datetime(2025, 2, 28)),
        (datetime(2025, 5, 10), 0, datetime(2025, 5, 10)),
    ],
)
def test_add_months_moves_calendar_months_and_clamps_the_day(start: datetime, months: int, expected: datetime) -> None:
    assert add_months(start, months) == expected


def test_add_months_keeps_time_of_day_and_offset() -> None:
    tz = timezone(timedelta(hours=1))
    start = datetime(2026, 1, 31, 23, 59, 30, 123, tzinfo=tz)
    assert add_months(start, 1) == datetime(2026, 2, 28, 23, 59, 30, 123, tzinfo=tz)
    assert add_months(start, 1).tzinfo is tz


# --- Validity -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("validity", "expected"),
    [
        (Validity(10, "day"), datetime(2026, 2, 10, 10, 0, tzinfo=UTC)),
        (Validity(2, "week"), datetime(2026, 2, 14, 10, 0, tzinfo=UTC)),
        (Validity(1, "month"), datetime(2026, 2, 28, 10, 0, tzinfo=UTC)),
        (Validity(3, "month"), datetime(2026, 4, 30, 10, 0, tzinfo=UTC)),
        (Validity(1, "year"), datetime(2027, 1, 31, 10, 0, tzinfo=UTC)),
    ],
)
def test_validity_end_for_each_unit(validity: Validity, expected: datetime) -> None:
    assert validity.end(datetime(2026, 1, 31, 10, 0, tzinfo=UTC)) == expected


def test_validity_of_one_year_from_feb_29_ends_feb_28() -> None:
    assert Validity(1, "year").end(datetime(2024, 2, 29, tzinfo=UTC)) == datetime(2025, 2, 28, tzinfo=UTC)


def test_validity_of_one_month_from_jan_31_of_a_leap_year_ends_feb_29() -> None:
    assert Validity(1, "month").end(datetime(2024, 1, 31, tzinfo=UTC)) == datetime(2024, 2, 29, tzinfo=UTC)


@pytest.mark.parametrize("unit", ["day", "week", "month", "year"])
def test_validity_period_zero_is_unlimited(unit: str) -> None:
    assert Validity(0, unit).end(SOLD_AT) is None


def test_validity_default_is_unlimited() -> None:
    assert Validity().end(SOLD_AT) is None


def test_validity_unknown_unit_raises() -> None:
    with pytest.raises(ValueError, match="decade"):
        Validity(1, "decade").end(SOLD_AT)


# --- MembershipType -----------------------------------------------------------------------------


def test_split_initial_balance_has_one_key_per_service() -> None:
    assert split_type().initial_balance() == {"svc-massage": 10, "svc-sauna": 5}
    assert split_type().total_units() == 15


def test_overall_initial_balance_is_one_shared_key() -> None:
    assert overall_type().initial_balance() == {OVERALL: 10}
    assert OVERALL == "*"
    assert overall_type().total_units() == 10


def test_service_cost_is_price_divided_by_visits() -> None:
    t = split_type(services=(TypeService("svc-massage", None, 10),), recalculate_service_cost=True)
    assert t.service_cost() == Decimal("800.00")
    assert str(t.service_cost()) == "800.00"


def test_service_cost_of_overall_type_divides_by_total_visits() -> None:
    assert overall_type(recalculate_service_cost=True).service_cost() == Decimal("800.00")


@pytest.mark.parametrize(
    ("price", "visits", "expected"),
    [
        ("100", 3, "33.33"),  # 33.333... down
        ("200", 3, "66.67"),  # 66.666... up
        ("1", 8, "0.13"),  # 0.125: half up (banker's rounding would give 0.12)
        ("0.05", 2, "0.03"),  # 0.025: half up (banker's rounding would give 0.02)
        ("0", 5, "0.00"),
    ],
)
def test_service_cost_rounds_half_up_to_cents(price: str, visits: int, expected: str) -> None:
    t = split_type(
        services=(TypeService("svc-massage", None, visits),), price=Decimal(price), recalculate_service_cost=True
    )
    cost = t.service_cost()
    assert cost == Decimal(expected)
    assert str(cost) == expected


def test_service_cost_is_none_when_the_type_does_not_recalculate() -> None:
    assert split_type(recalculate_service_cost=False).service_cost() is None


def test_service_cost_is_none_without_any_visits() -> None:
    assert overall_type(total_visits=None, recalculate_service_cost=True).service_cost() is None


def test_type_with_no_locations_is_valid_everywhere() -> None:
    assert split_type().valid_at("loc-anything")
    assert split_type(location_ids=("loc-1",)).valid_at("loc-1")
    assert not split_type(location_ids=("loc-1",)).valid_at("loc-2")


# --- issue --------------------------------------------------------------------------------------


def test_issue_counted_from_sale_sets_valid_until_at_sale() -> None:
    m = sold(split_type(validity=Validity(3, "month", "sale")))
    assert m.valid_until == datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    assert m.activated_at is None


def test_issue_counted_from_first_visit_leaves_valid_until_open() -> None:
    m = sold(split_type(validity=Validity(3, "month", "first_visit")))
    assert m.valid_until is None
    assert m.activated_at is None


def test_issue_unlimited_validity_has_no_valid_until() -> None:
    assert sold(split_type(validity=Validity(0, "month", "sale"))).valid_until is None


def test_issue_makes_a_sold_membership_with_the_types_balance() -> None:
    t = split_type()
    m = sold(t, code="9001")
    assert m.status == Status.SOLD
    assert m.balance == {"svc-massage": 10, "svc-sauna": 5}
    assert m.visits_left == 15
    assert (m.id, m.chain_id, m.type_id, m.code, m.client_id, m.location_id) == (
        "m-1",
        "ch-1",
        "type-split",
        "9001",
        "cl-5",
        "loc-1",
    )
    assert m.price == Decimal("8000")
    assert m.sold_at == SOLD_AT


def test_issue_stores_the_phone_as_the_sale_read_it() -> None:
    assert sold(split_type(), phone=phones.normalize("06 20 123-4567", "HU")).phone == PHONE


def test_issued_memberships_do_not_share_a_balance_dict() -> None:
    t = split_type()
    a, b = sold(t), sold(t)
    assert a.balance is not b.balance


# --- deduct: success ----------------------------------------------------------------------------


def test_split_deduction_takes_only_that_services_visits() -> None:
    t = split_type()
    result = deducted(use(sold(t), t, service_id="svc-sauna"))
    assert result.membership.balance == {"svc-massage": 10, "svc-sauna": 4}
    assert result.balance_key == "svc-sauna"
    assert result.units == 1
    assert result.visits_left == 4


@pytest.mark.parametrize("service_id", ["svc-massage", "svc-sauna"])
def test_overall_deduction_takes_the_shared_balance_for_any_listed_service(service_id: str) -> None:
    t = overall_type()
    result = deducted(use(sold(t), t, service_id=service_id))
    assert result.membership.balance == {OVERALL: 9}
    assert result.balance_key == OVERALL
    assert result.visits_left == 9


def test_overall_deductions_of_different_services_share_one_balance() -> None:
    t = overall_type()
    first = deducted(use(sold(t), t, service_id="svc-massage"))
    second = deducted(use(first.membership, t, service_id="svc-sauna"))
    assert second.membership.balance == {OVERALL: 8}


@pytest.mark.parametrize("units", [2, 3, 10])
def test_quantity_above_one_deducts_that_many_visits(units: int) -> None:
    t = split_type()
    result = deducted(use(sold(t), t, units=units))
    assert result.membership.balance["svc-massage"] == 10 - units
    assert result.membership.balance["svc-sauna"] == 5
    assert result.units == units


def test_deduction_carries_service_cost_times_units() -> None:
    t = split_type(services=(TypeService("svc-massage", None, 10),), recalculate_service_cost=True)
    assert deducted(use(sold(t), t, units=1)).service_cost == Decimal("800.00")
    assert deducted(use(sold(t), t, units=2)).service_cost == Decimal("1600.00")


def test_deduction_without_recalculation_has_no_service_cost() -> None:
    t = split_type(recalculate_service_cost=False)
    assert deducted(use(sold(t), t)).service_cost is None


def test_first_use_activates_the_membership() -> None:
    t = split_type()
    at = SOLD_AT + timedelta(days=5)
    result = deducted(use(sold(t), t, at=at))
    assert result.membership.status == Status.ACTIVE
    assert result.membership.activated_at == at


def test_first_use_of_a_first_visit_type_starts_the_validity() -> None:
    t = split_type(validity=Validity(1, "month", "first_visit"))
    at = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    result = deducted(use(sold(t), t, at=at))
    assert result.membership.valid_until == datetime(2026, 4, 30, 12, 0, tzinfo=UTC)
    assert result.membership.valid_until == t.validity.end(at)


def test_first_use_of_a_sale_type_keeps_the_validity_from_sale() -> None:
    t = split_type(validity=Validity(3, "month", "sale"))
    m = sold(t)
    result = deducted(use(m, t, at=SOLD_AT + timedelta(days=20)))
    assert result.membership.valid_until == m.valid_until == datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def test_first_use_of_an_unlimited_first_visit_type_stays_unlimited() -> None:
    t = split_type(validity=Validity(0, "month", "first_visit"))
    assert deducted(use(sold(t), t)).membership.valid_until is None


def test_later_use_keeps_the_first_activation_and_validity() -> None:
    t = split_type(validity=Validity(1, "month", "first_visit"))
    first_at = SOLD_AT + timedelta(days=1)
    first = deducted(use(sold(t), t, at=first_at)).membership
    second = deducted(use(first, t, at=first_at + timedelta(days=10))).membership
    assert second.activated_at == first_at
    assert second.valid_until == first.valid_until == t.validity.end(first_at)
    assert second.status == Status.ACTIVE
    assert second.balance["svc-massage"] == 8


def test_last_visit_makes_the_membership_exhausted() -> None:
    t = overall_type(total_visits=2)
    first = deducted(use(sold(t), t)).membership
    assert first.status == Status.ACTIVE
    last = deducted(use(first, t)).membership
    assert last.balance == {OVERALL: 0}
    assert last.status == Status.EXHAUSTED


def test_using_up_one_split_service_leaves_the_membership_active() -> None:
    t = split_type(services=(TypeService("svc-massage", None, 1), TypeService("svc-sauna", None, 1)))
    result = deducted(use(sold(t), t, service_id="svc-massage"))
    assert result.membership.status == Status.ACTIVE
    assert result.membership.balance == {"svc-massage": 0, "svc-sauna": 1}


def test_deducting_all_visits_at_once_exhausts() -> None:
    t = overall_type(total_visits=3)
    result = deducted(use(sold(t), t, units=3))
    assert result.membership.status == Status.EXHAUSTED
    assert result.visits_left == 0


def test_successful_deduction_does_not_change_the_original() -> None:
    t = split_type()
    m = sold(t)
    before = copy.deepcopy(m)
    deducted(use(m, t))
    assert m == before
    assert m.status == Status.SOLD


def test_membership_is_immutable() -> None:
    m = sold(split_type())
    with pytest.raises(FrozenInstanceError):
        m.status = Status.ACTIVE  # type: ignore[misc]


def test_deduction_just_before_valid_until_is_accepted() -> None:
    t = split_type()
    m = sold(t)
    assert m.valid_until is not None
    assert isinstance(use(m, t, at=m.valid_until - timedelta(microseconds=1)), Deducted)


# --- deduct: phones -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        PHONE,
        "+36 20 123-4567",
        "+36-20-123-45-67",
        " +36 20 1234567 ",
        "36201234567",
        "06201234567",
        "06 (20) 123 4567",
        "0036201234567",
    ],
)
def test_no_code_membership_accepts_the_buyers_phone_in_any_format(phone: str) -> None:
    """The visit's phone as shared.phones reads it (in the location's region): one number, one text."""
    t = split_type(allow_without_code=True)
    m = sold(t, code=None, phone=PHONE)
    assert isinstance(use(m, t, phone=phones.e164(phone, "HU")), Deducted)


@pytest.mark.parametrize("phone", ["+36209999999", None, "", "06209999999", "12-34"])
def test_no_code_membership_rejects_another_phone(phone: str | None) -> None:
    t = split_type(allow_without_code=True)
    m = sold(t, code=None, phone=PHONE)
    assert use(m, t, phone=phones.e164(phone, "HU")) == Rejected(Reason.PHONE_MISMATCH)


def test_no_code_membership_without_a_stored_phone_pays_for_nobody() -> None:
    """One stored before a phone was required: a client without a phone is not its buyer."""
    t = split_type(allow_without_code=True)
    m = sold(t, code=None, phone=None)
    assert use(m, t, phone=None) == Rejected(Reason.PHONE_MISMATCH)


def test_membership_with_a_code_does_not_check_the_phone() -> None:
    t = split_type()
    m = sold(t, code="4567", phone=PHONE)
    assert isinstance(use(m, t, phone="+36209999999"), Deducted)
    assert isinstance(use(m, t, phone=None), Deducted)


# --- deduct: rejections -------------------------------------------------------------------------


def _expired_at(m: Membership) -> datetime:
    assert m.valid_until is not None
    return m.valid_until


REJECTIONS = {
    "service_not_included": (lambda: (split_type(), {}, dict(service_id="svc-haircut")), Reason.SERVICE_NOT_INCLUDED),
    "service_not_included_overall": (
        lambda: (overall_type(), {}, dict(service_id="svc-haircut")),
        Reason.SERVICE_NOT_INCLUDED,
    ),
    "location_not_allowed": (
        lambda: (split_type(location_ids=("loc-1", "loc-2")), {}, dict(location_id="loc-3")),
        Reason.LOCATION_NOT_ALLOWED,
    ),
    "phone_mismatch": (
        lambda: (split_type(allow_without_code=True), dict(code=None), dict(phone="+36209999999")),
        Reason.PHONE_MISMATCH,
    ),
    "frozen": (lambda: (split_type(), dict(status=Status.FROZEN), {}), Reason.FROZEN),
    "expired_status": (lambda: (split_type(), dict(status=Status.EXPIRED), {}), Reason.EXPIRED),
    "expired_exactly_at_valid_until": (
        lambda: (split_type(), {}, dict(at=datetime(2026, 6, 1, 10, 0, tzinfo=UTC))),
        Reason.EXPIRED,
    ),
    "expired_after_valid_until": (
        lambda: (split_type(), {}, dict(at=datetime(2026, 7, 1, tzinfo=UTC))),
        Reason.EXPIRED,
    ),
    "exhausted_balance_zero": (
        lambda: (overall_type(), dict(balance={OVERALL: 0}, status=Status.EXHAUSTED), {}),
        Reason.EXHAUSTED,
    ),
    "exhausted_service_zero": (
        lambda: (
            split_type(),
            dict(balance={"svc-massage": 0, "svc-sauna": 5}, status=Status.ACTIVE),
            dict(service_id="svc-massage"),
        ),
        Reason.EXHAUSTED,
    ),
    "exhausted_fewer_left_than_quantity": (
        lambda: (overall_type(), dict(balance={OVERALL: 2}, status=Status.ACTIVE), dict(units=3)),
        Reason.EXHAUSTED,
    ),
    "exhausted_split_fewer_left_than_quantity": (
        lambda: (split_type(), {}, dict(service_id="svc-sauna", units=6)),
        Reason.EXHAUSTED,
    ),
}


@pytest.mark.parametrize("case", list(REJECTIONS), ids=list(REJECTIONS))
def test_deduction_is_rejected_with_its_reason_and_changes_nothing(case: str) -> None:
    make, reason = REJECTIONS[case]
    t, membership_changes, call = make()
    code = membership_changes.pop("code", "4567")
    m = replace(sold(t, code=code), **membership_changes)
    before = copy.deepcopy(m)

    result = use(m, t, **call)

    assert result == Rejected(reason)
    assert m == before
    assert m.balance == before.balance


def test_rejection_reasons_are_the_contract_strings() -> None:
    assert {r.value for r in Reason} == {
        "unknown_code",
        "phone_mismatch",
        "frozen",
        "expired",
        "exhausted",
        "service_not_included",
        "location_not_allowed",
    }


def test_membership_of_a_type_valid_everywhere_is_usable_at_any_location() -> None:
    t = split_type(location_ids=())
    assert isinstance(use(sold(t), t, location_id="loc-99"), Deducted)


def test_frozen_membership_with_visits_left_is_rejected_as_frozen() -> None:
    t = split_type()
    m = replace(deducted(use(sold(t), t)).membership, status=Status.FROZEN)
    assert use(m, t) == Rejected(Reason.FROZEN)


def test_used_membership_expires_at_its_valid_until() -> None:
    t = split_type(validity=Validity(10, "day", "first_visit"))
    first_at = SOLD_AT + timedelta(days=1)
    m = deducted(use(sold(t), t, at=first_at)).membership
    assert use(m, t, at=first_at + timedelta(days=10)) == Rejected(Reason.EXPIRED)
    assert isinstance(use(m, t, at=first_at + timedelta(days=9, hours=23)), Deducted)


# --- check_sale ---------------------------------------------------------------------------------


def test_check_sale_accepts_a_sellable_type_with_a_code() -> None:
    assert check_sale(split_type(), "9001", "loc-1") is None


def test_check_sale_accepts_no_code_for_a_type_allowing_it() -> None:
    assert check_sale(split_type(allow_without_code=True), None, "loc-1", phone=PHONE, phone_given=True) is None


def test_check_sale_refuses_a_no_code_sale_without_the_buyers_phone() -> None:
    rejected = check_sale(split_type(allow_without_code=True), None, "loc-1")
    assert rejected is not None and rejected.reason == IssueReason.PHONE_REQUIRED


def test_check_sale_refuses_a_no_code_sale_whose_phone_is_no_number() -> None:
    rejected = check_sale(split_type(allow_without_code=True), None, "loc-1", phone=None, phone_given=True)
    assert rejected is not None and rejected.reason == IssueReason.PHONE_INVALID


def test_check_sale_needs_no_phone_with_a_code() -> None:
    assert check_sale(split_type(allow_without_code=True), "9001", "loc-1") is None


def test_check_sale_refuses_an_online_sale_of_a_type_not_sold_online() -> None:
    rejected = check_sale(split_type(online_sale=False), "9001", "loc-1", channel="online")
    assert rejected is not None and rejected.reason == IssueReason.NOT_SOLD_ONLINE
    assert check_sale(split_type(online_sale=True), "9001", "loc-1", channel="online") is None
    assert check_sale(split_type(online_sale=False), "9001", "loc-1", channel="desk") is None


def test_check_sale_rejects_an_unknown_type() -> None:
    rejected = check_sale(None, "9001", "loc-1")
    assert rejected is not None and rejected.reason == IssueReason.UNKNOWN_TYPE


def test_check_sale_rejects_an_archived_type() -> None:
    rejected = check_sale(split_type(archived=True), "9001", "loc-1")
    assert rejected is not None and rejected.reason == IssueReason.TYPE_ARCHIVED


def test_check_sale_rejects_a_location_the_type_is_not_sold_at() -> None:
    rejected = check_sale(split_type(location_ids=("loc-1",)), "9001", "loc-2")
    assert rejected is not None and rejected.reason == IssueReason.LOCATION_NOT_ALLOWED


def test_check_sale_requires_a_code_for_a_type_without_allow_without_code() -> None:
    rejected = check_sale(split_type(allow_without_code=False), None, "loc-1")
    assert rejected is not None and rejected.reason == IssueReason.CODE_REQUIRED


def test_issue_reasons_are_the_contract_strings() -> None:
    assert IssueReason.UNKNOWN_TYPE == "unknown_type"
    assert IssueReason.TYPE_ARCHIVED == "type_archived"
    assert IssueReason.CODE_TAKEN == "code_taken"
    assert IssueReason.LOCATION_NOT_ALLOWED == "location_not_allowed"
    assert IssueReason.NOT_SOLD_ONLINE == "not_sold_online"
    assert (IssueReason.PHONE_REQUIRED, IssueReason.PHONE_INVALID) == ("phone_required", "phone_invalid")


# --- generate_code ------------------------------------------------------------------------------


def test_code_alphabet_has_no_ambiguous_characters() -> None:
    assert not set("0O1IL") & set(CODE_ALPHABET)
    assert len(set(CODE_ALPHABET)) == len(CODE_ALPHABET)


def test_generated_codes_are_8_unambiguous_characters() -> None:
    codes = [generate_code() for _ in range(500)]
    for code in codes:
        assert len(code) == CODE_LENGTH == 8
        assert set(code) <= set(CODE_ALPHABET)
        assert not set("0O1IL") & set(code)
    assert len(set(codes)) > 490  # random, not a constant


def test_generate_code_uses_the_given_random_source() -> None:
    a = generate_code(random.Random(7))  # type: ignore[arg-type]
    b = generate_code(random.Random(7))  # type: ignore[arg-type]
    assert a == b
    assert len(a) == 8 and set(a) <= set(CODE_ALPHABET)
