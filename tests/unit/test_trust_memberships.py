"""Pure rules behind the memberships' trust fixes: one charge per visit (domain.settle_visit, give_back),
validity that never overflows, a first use never before its sale, the bounds of a type's validity, and
the sale ids both services derive for a visit's membership lines (shared/sales.py)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.memberships.domain import (
    MAX_VALIDITY,
    Charge,
    Deducted,
    Membership,
    MembershipType,
    ReversalReason,
    Status,
    TypeService,
    Validity,
    VisitEvent,
    VisitRecord,
    auto_activate,
    auto_activation_due,
    choose_membership,
    deduct,
    first_use_at,
    freeze,
    give_back,
    issue,
    settle_visit,
    shift,
    unfreeze,
)
from services.memberships.schemas import MembershipTypeIn, MembershipTypeOut, ValidityIn
from shared.events import VisitPaid
from shared.sales import membership_units, split_amount, visit_membership_sales

SOLD_AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
PAID, ARRIVED, NO_SHOW, LATE = VisitEvent.PAID, VisitEvent.ARRIVED, VisitEvent.NO_SHOW, VisitEvent.LATE_CANCEL


def massage(**overrides: object) -> MembershipType:
    values: dict[str, object] = dict(
        id="type-1",
        chain_id="ch-1",
        name="Massage",
        balance="split",
        services=(TypeService("svc-massage", None, 10),),
        price=Decimal("8000"),
        validity=Validity(3, "month", "first_visit"),
    )
    values.update(overrides)
    return MembershipType(**values)  # type: ignore[arg-type]


def sold(t: MembershipType, sold_at: datetime = SOLD_AT) -> Membership:
    return issue(
        t,
        membership_id="m-1",
        code="4567",
        client_id="cl-5",
        phone=None,
        location_id="loc-1",
        price=t.price,
        sold_at=sold_at,
    )


def charge(cause: str, service: str = "svc-massage", units: int = 1, entry: int = 1, membership: str = "m-1") -> Charge:
    return Charge(entry, membership, service, units, cause, SOLD_AT)


# --- one charge per visit -------------------------------------------------------------------------------


def test_a_no_show_deducts_a_fresh_visit_once_per_service() -> None:
    settled = settle_visit(VisitRecord(), NO_SHOW, [("svc-massage", 1), ("svc-sauna", 1)])
    assert settled.charge == ((0, 1), (1, 1)) and settled.reverse == ()


@pytest.mark.parametrize("event", [NO_SHOW, LATE])
def test_an_automatic_charge_is_not_taken_twice_for_a_service(event: VisitEvent) -> None:
    visit = VisitRecord(charges=(charge("no_show"),))
    assert settle_visit(visit, event, [("svc-massage", 1)]).charge == ()
    # ... but a service of the visit not charged yet is.
    assert settle_visit(visit, event, [("svc-massage", 1), ("svc-sauna", 1)]).charge == ((1, 1),)


@pytest.mark.parametrize("fact", [{"paid": True}, {"arrived": True}])
@pytest.mark.parametrize("event", [NO_SHOW, LATE])
def test_a_paid_or_arrived_visit_takes_no_automatic_charge(fact: dict[str, bool], event: VisitEvent) -> None:
    assert settle_visit(VisitRecord(**fact), event, [("svc-massage", 1)]).charge == ()


def test_a_paid_charge_covers_its_service_against_a_later_automatic_one() -> None:
    # Even were the paid fact unknown (a visit paid before the fact was kept), its charge covers it.
    assert settle_visit(VisitRecord(charges=(charge("paid", units=2),)), NO_SHOW, [("svc-massage", 1)]).charge == ()


def test_payment_gives_the_automatic_charges_back_and_deducts_its_lines() -> None:
    automatic = (charge("no_show", entry=1), charge("late_cancel", "svc-sauna", entry=2, membership="m-2"))
    settled = settle_visit(VisitRecord(charges=automatic), PAID, [("svc-massage", 1)])
    assert settled.reverse == automatic and settled.reason == ReversalReason.VISIT_PAID
    assert settled.charge == ((0, 1),)


def test_payment_of_a_visit_without_automatic_charges_just_deducts() -> None:
    settled = settle_visit(VisitRecord(), PAID, [("svc-massage", 2), ("svc-sauna", 1)])
    assert settled == settled.__class__(charge=((0, 2), (1, 1)))


def test_payment_deducts_only_what_no_paid_charge_covers_yet() -> None:
    settled = settle_visit(VisitRecord(charges=(charge("paid", units=1),)), PAID, [("svc-massage", 2)])
    assert settled.charge == ((0, 1),) and settled.reverse == ()


def test_arrival_gives_the_automatic_charges_back_and_keeps_the_paid_ones() -> None:
    charges = (charge("paid", entry=1), charge("no_show", "svc-sauna", entry=2))
    settled = settle_visit(VisitRecord(charges=charges), ARRIVED)
    assert settled.reverse == (charges[1],) and settled.reason == ReversalReason.VISIT_ARRIVED
    assert settled.charge == ()
    assert settle_visit(VisitRecord(), ARRIVED).reason is None  # nothing to give back, nothing said


def _play(order: tuple[VisitEvent, ...]) -> tuple[int, list[str]]:
    """Applies a visit's events in `order` as the use cases do (facts, standing charges), with a visit
    paid with one unit of massage: answers the units standing and what they stand for."""
    visit, entry = VisitRecord(), itertools.count(1)
    for event in order:
        wanted = [("svc-massage", 1)]
        visit = replace(visit, paid=visit.paid or event == PAID, arrived=visit.arrived or event == ARRIVED)
        settled = settle_visit(visit, event, [] if event == ARRIVED else wanted)
        standing = [c for c in visit.charges if c not in settled.reverse]
        standing += [
            charge("paid" if event == PAID else event.value, units=units, entry=next(entry))
            for _, units in settled.charge
        ]
        visit = replace(visit, charges=tuple(standing))
    return sum(c.units for c in visit.charges), sorted(c.cause for c in visit.charges)


@pytest.mark.parametrize("order", list(itertools.permutations([NO_SHOW, LATE, PAID])))
def test_any_order_of_no_show_late_cancel_and_payment_takes_the_paid_visit_only(order: tuple[VisitEvent, ...]) -> None:
    assert _play(order) == (1, ["paid"])


@pytest.mark.parametrize("order", [o for n in (1, 2, 3) for o in itertools.permutations([NO_SHOW, LATE, ARRIVED], n)])
def test_an_arrival_in_any_order_leaves_no_automatic_charge(order: tuple[VisitEvent, ...]) -> None:
    units, causes = _play(order)
    assert (units, causes) == ((0, []) if ARRIVED in order else (1, [order[0].value]))


def test_give_back_restores_the_balance_and_an_exhausted_membership() -> None:
    t = massage(services=(TypeService("svc-massage", None, 1),))
    used = deduct(sold(t), t, service_id="svc-massage", location_id="loc-1", units=1, at=SOLD_AT, phone=None)
    assert isinstance(used, Deducted) and used.membership.status == Status.EXHAUSTED
    back = give_back(used.membership, t, charge("no_show"))
    assert back.balance == {"svc-massage": 1} and back.status == Status.ACTIVE
    assert back.activated_at == used.membership.activated_at and back.valid_until == used.membership.valid_until


def test_give_back_to_an_overall_membership_and_to_an_expired_one() -> None:
    t = massage(balance="overall", total_visits=5, services=(TypeService("svc-massage"), TypeService("svc-sauna")))
    m = replace(sold(t), balance={"*": 2}, status=Status.EXPIRED)
    back = give_back(m, t, charge("late_cancel", "svc-sauna", units=1))
    assert back.balance == {"*": 3} and back.status == Status.EXPIRED  # given back, still expired


# --- validity that never overflows ------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["day", "week", "month", "year"])
def test_the_longest_validity_of_each_unit_is_about_a_century(unit: str) -> None:
    end = Validity(MAX_VALIDITY[unit], unit).end(SOLD_AT)
    assert end is not None and 99 <= (end - SOLD_AT).days / 365.25 <= 100


@pytest.mark.parametrize(("period", "unit"), [(8000, "year"), (10_000, "year"), (999_999_999, "day"), (10**9, "week")])
def test_a_validity_past_the_calendar_is_unlimited_not_an_overflow(period: int, unit: str) -> None:
    assert Validity(period, unit, "first_visit").end(SOLD_AT) is None


def test_shift_past_the_calendar_is_unlimited_and_before_it_the_first_day() -> None:
    far = datetime(9999, 12, 30, tzinfo=UTC)
    assert shift(far, timedelta(days=5)) is None
    assert shift(datetime(1, 1, 2, tzinfo=UTC), -timedelta(days=5)) == datetime.min.replace(tzinfo=UTC)
    assert shift(SOLD_AT, timedelta(days=1)) == SOLD_AT + timedelta(days=1)


def test_an_endless_type_auto_activates_as_unlimited() -> None:
    t = massage(validity=Validity(8000, "year", "first_visit"), auto_activation_days=1)
    m = sold(t)
    assert auto_activation_due(m, t, SOLD_AT + timedelta(days=2))
    active = auto_activate(m, t)
    assert active.status == Status.ACTIVE and active.valid_until is None


def test_auto_activation_of_a_sale_near_the_calendars_end_is_never_due() -> None:
    t = massage(auto_activation_days=3650)
    m = sold(t, sold_at=datetime(9995, 1, 1, tzinfo=UTC))
    assert not auto_activation_due(m, t, datetime(9999, 12, 31, tzinfo=UTC))


def test_an_activated_unlimited_membership_is_chosen_last_without_overflow() -> None:
    endless = massage(id="endless", validity=Validity(8000, "year", "first_visit"))
    century = massage(id="century", validity=Validity(100, "year", "sale"))
    a = replace(sold(endless), id="m-endless", status=Status.ACTIVE, activated_at=SOLD_AT)
    b = replace(sold(century), id="m-century")
    chosen = choose_membership(
        [(a, endless), (b, century)], service_id="svc-massage", location_id="loc-1", at=SOLD_AT, phone=None
    )
    assert chosen is not None and chosen[0].id == "m-century"


def test_freezing_near_the_calendars_end_neither_overflows_nor_loses_the_validity() -> None:
    t = massage(freeze_allowed=True, freeze_max_days=30, validity=Validity(0))
    m = replace(sold(t), status=Status.ACTIVE, activated_at=SOLD_AT)
    assert freeze(m, t, date(9999, 12, 25), 10, date(9999, 12, 1)).value == "freeze_starts_after_expiry"
    late = replace(m, valid_until=datetime(9999, 12, 30, tzinfo=UTC))
    frozen = freeze(late, t, date(9999, 12, 1), 10, date(9999, 12, 1))
    assert isinstance(frozen, Membership) and frozen.valid_until is None  # past the calendar: unlimited
    assert isinstance(unfreeze(frozen, date(9999, 12, 3)), Membership)


# --- a first use is never before its sale, nor after now ---------------------------------------------------


def test_a_first_use_dated_before_the_sale_starts_the_validity_at_the_sale() -> None:
    t = massage()
    m = sold(t)
    used = deduct(
        m, t, service_id="svc-massage", location_id="loc-1", units=1, at=SOLD_AT - timedelta(days=730), phone=None
    )
    assert isinstance(used, Deducted)
    assert used.membership.activated_at == SOLD_AT
    assert used.membership.valid_until == datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def test_a_first_use_dated_ahead_of_now_starts_the_validity_now() -> None:
    t, now = massage(), SOLD_AT + timedelta(days=1)
    used = deduct(
        sold(t),
        t,
        service_id="svc-massage",
        location_id="loc-1",
        units=1,
        at=now + timedelta(days=3650),
        phone=None,
        now=now,
    )
    assert isinstance(used, Deducted) and used.membership.activated_at == now
    assert used.membership.valid_until == datetime(2026, 6, 2, 10, 0, tzinfo=UTC)


def test_first_use_at_is_the_visit_between_the_sale_and_now() -> None:
    m, now = sold(massage()), SOLD_AT + timedelta(days=10)
    assert first_use_at(m, SOLD_AT + timedelta(days=5), now) == SOLD_AT + timedelta(days=5)
    assert first_use_at(m, SOLD_AT - timedelta(seconds=1), now) == SOLD_AT
    assert first_use_at(m, now + timedelta(minutes=3), now) == now
    assert first_use_at(m, now + timedelta(minutes=3)) == now + timedelta(minutes=3)  # no clock given


# --- the bounds of a type -----------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["day", "week", "month", "year"])
def test_a_validity_of_more_than_a_century_is_refused_naming_the_period(unit: str) -> None:
    assert ValidityIn(period=MAX_VALIDITY[unit], unit=unit).period == MAX_VALIDITY[unit]  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as refused:
        ValidityIn(period=MAX_VALIDITY[unit] + 1, unit=unit)  # type: ignore[arg-type]
    [error] = refused.value.errors()
    assert error["loc"] == ("period",) and ("100 years" in error["msg"] or "36500" in error["msg"])


def test_a_stored_type_longer_than_the_bound_still_reads() -> None:
    t = massage(id=str(uuid.uuid4()), validity=Validity(8000, "year", "first_visit"))
    out = MembershipTypeOut.of(t)
    assert out.validity.period == 8000
    with pytest.raises(ValidationError):  # but it is not written back as it is
        MembershipTypeIn.model_validate(out.model_dump(mode="json", exclude={"id", "archived"}))


# --- the sales of a visit's membership lines ------------------------------------------------------------------


def test_a_visits_membership_sales_are_the_ones_inventory_publishes() -> None:
    type_id = uuid.uuid4()
    e = VisitPaid.model_validate(
        {
            "event_id": "e-1",
            "occurred_at": "2026-03-01T10:00:00+00:00",
            "chain_id": "ch-1",
            "location_id": "loc-1",
            "visit_id": "v-77",
            "client": {"id": "cl-5", "phone": "+36201234567"},
            "lines": [
                {
                    "kind": "service",
                    "item_id": "svc-massage",
                    "quantity": 1,
                    "sold": "1000",
                    "paid": "0",
                    "membership": {"code": "9001"},
                },
                {
                    "kind": "membership",
                    "item_id": str(type_id),
                    "quantity": 1,
                    "sold": "8000",
                    "paid": "7500",
                    "code": "9001",
                },
                {
                    "kind": "membership",
                    "item_id": str(type_id),
                    "quantity": 3,
                    "sold": "100",
                    "paid": "100",
                    "code": "auto",
                },
                {"kind": "membership", "item_id": "not-a-type", "quantity": 1, "sold": "1", "paid": "1"},
            ],
        }
    )
    sales = visit_membership_sales(e)
    assert [(s.sale_id, s.code, s.price) for s in sales] == [
        ("inventory:visit:v-77:1:0", "9001", Decimal("7500.00")),
        ("inventory:visit:v-77:2:0", "auto", Decimal("33.34")),
        ("inventory:visit:v-77:2:1", "auto", Decimal("33.33")),
        ("inventory:visit:v-77:2:2", "auto", Decimal("33.33")),
    ]
    assert [u.sale_id for u in membership_units("visit:v-77", 2, 3, ["auto"] * 3)] == [s.sale_id for s in sales[1:]]
    assert split_amount(Decimal("100"), 3) == [s.price for s in sales[1:]]
    first = sales[0]
    assert (first.membership_type_id, first.client.id, first.location_id, first.occurred_at) == (
        type_id,
        "cl-5",
        "loc-1",
        e.occurred_at,
    )
    assert first.event_id == str(uuid.uuid5(uuid.NAMESPACE_URL, "perkstream:ch-1:inventory:visit:v-77:1:0"))
    assert visit_membership_sales(e) == sales  # a replay names the same sales
