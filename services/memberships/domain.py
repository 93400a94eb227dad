"""Membership rules, pure: the standard library only, no I/O. Handlers load, call these, and save.

Terms (as Altegio uses them):
- a membership *type* is what a chain sells: the services it covers and how many visits of each
  (`split`), or a number of visits shared by the listed services (`overall`);
- a *membership* is one sold copy, with a code (or none, bound to the buyer's phone), a balance and a
  validity;
- a *deduction* takes visits off the balance when a service is paid with it.
"""

from __future__ import annotations

import calendar
import re
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

OVERALL = "*"  # the one balance key of an `overall` membership
CENTS = Decimal("0.01")
# Codes we generate: no 0/O, 1/I/L, so a code read aloud or off a paper card is not mistaken.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
AUTO_CODE = "auto"


class Status(StrEnum):
    SOLD = "sold"  # not used yet
    ACTIVE = "active"
    FROZEN = "frozen"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"


class Reason(StrEnum):
    """Why a line could not be paid with a membership."""

    UNKNOWN_CODE = "unknown_code"
    PHONE_MISMATCH = "phone_mismatch"
    FROZEN = "frozen"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"
    SERVICE_NOT_INCLUDED = "service_not_included"
    LOCATION_NOT_ALLOWED = "location_not_allowed"


class IssueReason(StrEnum):
    """Why a sale issued nothing."""

    UNKNOWN_TYPE = "unknown_type"
    TYPE_ARCHIVED = "type_archived"
    CODE_TAKEN = "code_taken"
    CODE_REQUIRED = "code_required"
    LOCATION_NOT_ALLOWED = "location_not_allowed"


# --- time ---------------------------------------------------------------------------------------


def add_months(start: datetime, months: int) -> datetime:
    """Calendar months; the day is clamped (Jan 31 + 1 month = Feb 28 or 29)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def shift(moment: datetime, delta: timedelta) -> datetime | None:
    """`moment + delta`, where no arithmetic on stored data may fail: past the last day a calendar holds
    (year 9999) it is None, which every rule reads as unlimited; before the first, that first day."""
    try:
        return moment + delta
    except OverflowError:
        return None if delta > timedelta(0) else datetime.min.replace(tzinfo=moment.tzinfo)


# The longest validity a type may have, per unit: 100 years (schemas.py refuses more, naming the field).
MAX_VALIDITY = {"day": 36_500, "week": 5_214, "month": 1_200, "year": 100}


@dataclass(frozen=True)
class Validity:
    period: int = 0  # 0: unlimited
    unit: str = "month"  # day, week, month, year
    counted_from: str = "sale"  # sale or first_visit

    def end(self, start: datetime) -> datetime | None:
        """The first moment the membership is no longer valid (exclusive end); None: unlimited. A period
        that ends past what a calendar holds (a type of 8,000 years, stored before periods were bounded)
        is unlimited too, never an overflow."""
        if self.period == 0:
            return None
        if self.unit not in MAX_VALIDITY:
            raise ValueError(f"unknown validity unit {self.unit!r}")
        try:
            if self.unit == "day":
                return start + timedelta(days=self.period)
            if self.unit == "week":
                return start + timedelta(weeks=self.period)
            return add_months(start, self.period * (12 if self.unit == "year" else 1))
        except (OverflowError, ValueError):  # ValueError: a year past 9999
            return None


# --- types --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeService:
    service_id: str
    category_id: str | None = None
    visits: int | None = None  # split types only


@dataclass(frozen=True)
class MembershipType:
    id: str
    chain_id: str
    name: str
    balance: str  # split or overall
    services: tuple[TypeService, ...]
    price: Decimal
    total_visits: int | None = None  # overall types only
    validity: Validity = Validity()
    auto_activation_days: int | None = None
    freeze_allowed: bool = False
    freeze_max_days: int = 0
    allow_without_code: bool = False
    recalculate_service_cost: bool = False
    editing: str = "none"
    online_sale: bool = False
    location_ids: tuple[str, ...] = ()  # empty: valid everywhere in the chain
    archived: bool = False
    # Expiring-soon notices: N days before valid_until, and when the visits left fall to N (None: off).
    notify_days_before_expiry: int | None = None
    notify_visits_left: int | None = None

    def initial_balance(self) -> dict[str, int]:
        if self.balance == "overall":
            return {OVERALL: self.total_visits or 0}
        return {s.service_id: s.visits or 0 for s in self.services}

    def total_units(self) -> int:
        return sum(self.initial_balance().values())

    def service_cost(self) -> Decimal | None:
        """Price / visits in the membership (8000 / 10 = 800.00), when the type asks for it."""
        units = self.total_units()
        if not self.recalculate_service_cost or units == 0:
            return None
        return (self.price / units).quantize(CENTS, ROUND_HALF_UP)

    def covers(self, service_id: str) -> bool:
        return any(s.service_id == service_id for s in self.services)

    def valid_at(self, location_id: str | None) -> bool:
        return not self.location_ids or location_id in self.location_ids

    def balance_key(self, service_id: str) -> str:
        return OVERALL if self.balance == "overall" else service_id


# --- memberships --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    id: str
    chain_id: str
    type_id: str
    code: str | None
    client_id: str
    phone: str | None
    location_id: str
    status: Status
    balance: dict[str, int]
    price: Decimal
    sold_at: datetime
    activated_at: datetime | None = None
    valid_until: datetime | None = None
    client_name: str | None = None
    frozen_from: date | None = None
    frozen_until: date | None = None  # the first day it is usable again
    freeze_days_used: int = 0

    @property
    def visits_left(self) -> int:
        return sum(self.balance.values())

    def frozen_on(self, day: date) -> bool:
        return self.frozen_from is not None and self.frozen_until is not None and (
            self.frozen_from <= day < self.frozen_until
        )


def normalize_phone(phone: str | None) -> str | None:
    """Digits only (a leading + kept): "+36 20 123-4567" and "+36201234567" are one phone."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    return ("+" if phone.strip().startswith("+") else "") + digits


def generate_code(rng: secrets.SystemRandom | None = None) -> str:
    rng = rng or secrets.SystemRandom()
    return "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass(frozen=True)
class IssueRejected:
    reason: IssueReason


def check_sale(t: MembershipType | None, code: str | None, location_id: str) -> IssueRejected | None:
    """May this sale issue a membership of type `t`? (The code's uniqueness is the repository's.)"""
    if t is None:
        return IssueRejected(IssueReason.UNKNOWN_TYPE)
    if t.archived:
        return IssueRejected(IssueReason.TYPE_ARCHIVED)
    if not t.valid_at(location_id):
        return IssueRejected(IssueReason.LOCATION_NOT_ALLOWED)
    if code is None and not t.allow_without_code:
        return IssueRejected(IssueReason.CODE_REQUIRED)
    return None


def issue(t: MembershipType, *, membership_id: str, code: str | None, client_id: str, phone: str | None,
          location_id: str, price: Decimal, sold_at: datetime, client_name: str | None = None) -> Membership:
    valid_until = t.validity.end(sold_at) if t.validity.counted_from == "sale" else None
    return Membership(
        id=membership_id, chain_id=t.chain_id, type_id=t.id, code=code, client_id=client_id,
        phone=normalize_phone(phone), location_id=location_id, status=Status.SOLD,
        balance=t.initial_balance(), price=price, sold_at=sold_at, valid_until=valid_until,
        client_name=client_name,
    )


@dataclass(frozen=True)
class Deducted:
    membership: Membership
    balance_key: str
    units: int
    service_cost: Decimal | None
    activated: bool = False  # this deduction was the first use

    @property
    def visits_left(self) -> int:
        return self.membership.balance[self.balance_key]


@dataclass(frozen=True)
class Rejected:
    reason: Reason


def is_expired(m: Membership, at: datetime) -> bool:
    return m.status == Status.EXPIRED or (m.valid_until is not None and at >= m.valid_until)


def first_use_at(m: Membership, at: datetime, now: datetime | None = None) -> datetime:
    """When a first use dated `at` starts the membership: never before its sale (a visit dated earlier, by a
    late message or a skewed clock, would start a `first_visit` validity early), and never after `now`
    (one dated ahead would push the validity's end out; the consumer refuses the far future already)."""
    moment = min(at, now) if now is not None else at
    return max(moment, m.sold_at)


def deduct(m: Membership, t: MembershipType, *, service_id: str, location_id: str, units: int,
           at: datetime, phone: str | None, now: datetime | None = None) -> Deducted | Rejected:
    """Takes `units` visits of `service_id` off `m`, or says why not (and then changes nothing). A first use
    activates it as of `first_use_at`."""
    if not t.covers(service_id):
        return Rejected(Reason.SERVICE_NOT_INCLUDED)
    if not t.valid_at(location_id):
        return Rejected(Reason.LOCATION_NOT_ALLOWED)
    if m.code is None and normalize_phone(phone) != m.phone:
        return Rejected(Reason.PHONE_MISMATCH)
    # By the visit's date, not the status: the freeze's last day has passed even if the job that turns
    # the status back has not run yet (a late job run costs the client nothing).
    day = at.date()
    if m.frozen_on(day) or (m.status == Status.FROZEN and (m.frozen_until is None or day < m.frozen_until)):
        return Rejected(Reason.FROZEN)
    if is_expired(m, at):
        return Rejected(Reason.EXPIRED)
    key = t.balance_key(service_id)
    if m.balance.get(key, 0) < units:
        return Rejected(Reason.EXHAUSTED)

    balance = {**m.balance, key: m.balance[key] - units}
    active = activate(m, t, first_use_at(m, at, now)) if m.status == Status.SOLD else m  # first use starts it
    status = Status.EXHAUSTED if sum(balance.values()) == 0 else Status.ACTIVE
    cost = t.service_cost()
    return Deducted(
        replace(active, balance=balance, status=status), key, units, cost * units if cost is not None else None,
        activated=m.status == Status.SOLD,
    )


def eligibility(m: Membership, t: MembershipType, *, service_id: str, location_id: str, at: datetime,
                phone: str | None, units: int = 1) -> Rejected | None:
    """May `m` pay for `units` of `service_id` now? None if it may, else why not."""
    outcome = deduct(m, t, service_id=service_id, location_id=location_id, units=units, at=at, phone=phone)
    return outcome if isinstance(outcome, Rejected) else None


# --- lifecycle ----------------------------------------------------------------------------------


def activate(m: Membership, t: MembershipType, at: datetime) -> Membership:
    """sold → active: the validity of a `first_visit` type starts now. Frozen days that fall after this
    moment (a freeze planned or running while it was unused) still extend it."""
    valid_until = m.valid_until
    if t.validity.counted_from == "first_visit" and valid_until is None:
        valid_until = t.validity.end(at)
        if valid_until is not None and m.frozen_from and m.frozen_until:
            frozen_after = (m.frozen_until - max(m.frozen_from, at.date())).days
            valid_until = shift(valid_until, timedelta(days=max(frozen_after, 0)))
    return replace(m, status=Status.ACTIVE, activated_at=at, valid_until=valid_until)


def auto_activation_due(m: Membership, t: MembershipType, at: datetime) -> bool:
    """An unused membership activates by itself `auto_activation_days` after its sale (unless it had
    expired by then: that one expires instead)."""
    due = auto_activation_at(m, t)
    if m.status != Status.SOLD or due is None:
        return False
    return at >= due and (m.valid_until is None or due < m.valid_until)


def auto_activation_at(m: Membership, t: MembershipType) -> datetime | None:
    if t.auto_activation_days is None:
        return None
    return shift(m.sold_at, timedelta(days=t.auto_activation_days))


def auto_activate(m: Membership, t: MembershipType) -> Membership:
    """Activation as of the day it was due (not the day the job ran), so a late job run costs the
    client nothing."""
    due = auto_activation_at(m, t)
    assert due is not None
    return activate(m, t, due)


def expiry_due(m: Membership, at: datetime) -> bool:
    return m.status in (Status.SOLD, Status.ACTIVE, Status.FROZEN) and m.valid_until is not None and (
        at >= m.valid_until
    )


def expire(m: Membership) -> Membership:
    return replace(m, status=Status.EXPIRED)


@dataclass(frozen=True)
class ExpiringSoon:
    reason: str  # valid_until or visits_left
    days_left: int | None = None


def expiring_soon(m: Membership, t: MembershipType, at: datetime) -> ExpiringSoon | None:
    """Is it time for the expiring-soon notice (the type's `notify_days_before_expiry` before
    valid_until, or the visits left down to `notify_visits_left`)?"""
    if m.status not in (Status.SOLD, Status.ACTIVE):
        return None
    if t.notify_days_before_expiry is not None and m.valid_until is not None and at < m.valid_until:
        left = m.valid_until - at
        if left <= timedelta(days=t.notify_days_before_expiry):
            return ExpiringSoon("valid_until", left.days)
    if t.notify_visits_left is not None and 0 < m.visits_left <= t.notify_visits_left:
        return ExpiringSoon("visits_left")
    return None


# --- freezing -----------------------------------------------------------------------------------


class FreezeError(StrEnum):
    NOT_ALLOWED = "freeze_not_allowed"
    TOO_LONG = "freeze_limit_exceeded"
    NOT_ACTIVE = "not_freezable_in_this_status"
    ALREADY_FROZEN = "already_frozen"
    IN_THE_PAST = "freeze_starts_in_the_past"
    AFTER_EXPIRY = "freeze_starts_after_expiry"


def freeze(m: Membership, t: MembershipType, start: date, days: int, today: date) -> Membership | FreezeError:
    """Freezes from `start` for `days` days. Several freezes may add up to the type's `max_days`; the
    frozen days are added to valid_until."""
    if not t.freeze_allowed:
        return FreezeError.NOT_ALLOWED
    if m.status == Status.FROZEN or (m.frozen_until is not None and m.frozen_until > today):
        return FreezeError.ALREADY_FROZEN
    if m.status not in (Status.SOLD, Status.ACTIVE):
        return FreezeError.NOT_ACTIVE
    if start < today:
        return FreezeError.IN_THE_PAST
    if m.valid_until is not None and start >= m.valid_until.date():
        return FreezeError.AFTER_EXPIRY
    if days < 1 or m.freeze_days_used + days > t.freeze_max_days:
        return FreezeError.TOO_LONG
    try:
        until = start + timedelta(days=days)
    except OverflowError:  # a freeze that would end past the last day a calendar holds
        return FreezeError.AFTER_EXPIRY
    valid_until = shift(m.valid_until, timedelta(days=days)) if m.valid_until else None
    frozen = replace(m, frozen_from=start, frozen_until=until,
                     freeze_days_used=m.freeze_days_used + days, valid_until=valid_until)
    return begin_freeze(frozen, today)


def begin_freeze(m: Membership, today: date) -> Membership:
    """A freeze whose first day has come turns the status to frozen (a later one waits for its day)."""
    if m.status in (Status.SOLD, Status.ACTIVE) and m.frozen_on(today):
        return replace(m, status=Status.FROZEN)
    return m


def unfreeze(m: Membership, today: date) -> Membership | FreezeError:
    """Ends a freeze early (or cancels one not started yet): the unused frozen days are given back,
    to the type's allowance and off valid_until."""
    if m.frozen_from is None or m.frozen_until is None or m.frozen_until <= today:
        return FreezeError.NOT_ACTIVE
    unused = (m.frozen_until - max(today, m.frozen_from)).days
    valid_until = shift(m.valid_until, -timedelta(days=unused)) if m.valid_until else None
    status = (Status.ACTIVE if m.activated_at else Status.SOLD) if m.status == Status.FROZEN else m.status
    if today <= m.frozen_from:  # cancelled before it began: no freeze at all
        return replace(m, status=status, frozen_from=None, frozen_until=None, valid_until=valid_until,
                       freeze_days_used=m.freeze_days_used - unused)
    return replace(m, status=status, frozen_until=today, valid_until=valid_until,
                   freeze_days_used=m.freeze_days_used - unused)


def freeze_ended(m: Membership, today: date) -> bool:
    return m.status == Status.FROZEN and m.frozen_until is not None and today >= m.frozen_until


def end_freeze(m: Membership) -> Membership:
    if m.visits_left == 0:
        return replace(m, status=Status.EXHAUSTED)
    return replace(m, status=Status.ACTIVE if m.activated_at else Status.SOLD)


# --- types after their first sale ----------------------------------------------------------------


class TypeChangeError(StrEnum):
    PRICE_FIXED = "price_fixed_after_sale"
    SERVICE_REMOVED = "services_cannot_be_removed"
    SERVICE_ADDED_TO_SPLIT = "services_cannot_be_added_to_split_type"
    VISITS_CHANGED = "visits_fixed_after_sale"
    BALANCE_CHANGED = "balance_fixed_after_sale"


def check_type_change(old: MembershipType, new: MembershipType, sold: bool) -> TypeChangeError | None:
    """What may change once a type has been sold: not the price (duplicate it instead), never fewer
    services, more services only for an `overall` type, and not what a sold membership holds."""
    old_ids = {s.service_id for s in old.services}
    new_ids = {s.service_id for s in new.services}
    if not old_ids <= new_ids:
        return TypeChangeError.SERVICE_REMOVED
    if not sold:
        return None
    if new.price != old.price:
        return TypeChangeError.PRICE_FIXED
    if new.balance != old.balance:
        return TypeChangeError.BALANCE_CHANGED
    if new_ids != old_ids and old.balance == "split":
        return TypeChangeError.SERVICE_ADDED_TO_SPLIT
    if old.initial_balance() != {k: v for k, v in new.initial_balance().items() if k in old.initial_balance()}:
        return TypeChangeError.VISITS_CHANGED
    return None


def duplicate_name(name: str, taken: set[str]) -> str:
    """"Massage" → "Massage (2)", then "(3)"...; duplicating "Massage (2)" gives "Massage (3)"."""
    base = re.sub(r" \(\d+\)$", "", name)
    n = 2
    while f"{base} ({n})" in taken:
        n += 1
    return f"{base} ({n})"


# --- automatic deduction (no-show, late cancellation) --------------------------------------------


@dataclass(frozen=True)
class ServicePolicy:
    no_show: bool | None = None
    late_cancel: bool | None = None


@dataclass(frozen=True)
class DeductionPolicy:
    """A location's rule for deducting a visit the client did not come to; per-service overrides."""

    no_show: bool = False
    late_cancel_hours: int | None = None  # None: late cancellations are not deducted
    services: dict[str, ServicePolicy] | None = None

    def deducts_no_show(self, service_id: str) -> bool:
        override = (self.services or {}).get(service_id)
        return override.no_show if override and override.no_show is not None else self.no_show

    def deducts_late_cancel(self, service_id: str, scheduled_at: datetime, cancelled_at: datetime) -> bool:
        if self.late_cancel_hours is None:
            return False
        override = (self.services or {}).get(service_id)
        if override and override.late_cancel is False:
            return False
        return is_late_cancel(scheduled_at, cancelled_at, self.late_cancel_hours)


def is_late_cancel(scheduled_at: datetime, cancelled_at: datetime, hours: int) -> bool:
    """Late = cancelled fewer than `hours` before the visit was to start (or after it)."""
    return scheduled_at - cancelled_at < timedelta(hours=hours)


def choose_membership(candidates: list[tuple[Membership, MembershipType]], *, service_id: str,
                      location_id: str, at: datetime, phone: str | None) -> tuple[Membership, str] | None:
    """Where a deduction names no membership: the client's eligible one that expires soonest
    (Altegio's rule); unlimited ones last, then the oldest sale. Answers it and why."""
    eligible = [(m, t) for m, t in candidates
                if eligibility(m, t, service_id=service_id, location_id=location_id, at=at, phone=phone) is None]
    if not eligible:
        return None
    far = datetime.max.replace(tzinfo=at.tzinfo)

    def expires(mt: tuple[Membership, MembershipType]) -> datetime:
        # An unused first_visit membership would run from now if used now.
        m, t = mt
        if m.valid_until is None and m.activated_at is None and t.validity.counted_from == "first_visit":
            return t.validity.end(at) or far
        return m.valid_until or far

    m, t = min(eligible, key=lambda mt: (expires(mt), mt[0].sold_at))
    end = expires((m, t))
    why = (f"eligible for {service_id}; expires soonest ({end.isoformat()})" if end != far
           else f"eligible for {service_id}; the oldest sale among unlimited memberships")
    return m, f"{why}, of {len(eligible)} eligible"


# --- one charge per visit ------------------------------------------------------------------------


class VisitEvent(StrEnum):
    """What a booking system says of a visit, as far as its charges go."""

    PAID = "paid"
    ARRIVED = "arrived"
    NO_SHOW = "no_show"
    LATE_CANCEL = "late_cancel"


AUTOMATIC = frozenset({VisitEvent.NO_SHOW.value, VisitEvent.LATE_CANCEL.value})


class ReversalReason(StrEnum):
    """Why an automatic deduction was given back: the booking system corrected the visit's status."""

    VISIT_PAID = "visit_paid"
    VISIT_ARRIVED = "visit_arrived"


@dataclass(frozen=True)
class Charge:
    """A deduction that stands against a visit: recorded (its history entry) and not given back."""

    entry_id: int
    membership_id: str
    service_id: str
    units: int
    cause: str  # paid, no_show, late_cancel
    at: datetime  # what the deduction was dated: the payment, or the visit's scheduled time

    @property
    def automatic(self) -> bool:
        return self.cause in AUTOMATIC


@dataclass(frozen=True)
class VisitRecord:
    """What this service knows of one visit: whether it was paid or the client came (facts a later
    no-show or cancellation does not undo), and the charges standing against it."""

    paid: bool = False
    arrived: bool = False
    charges: tuple[Charge, ...] = ()


@dataclass(frozen=True)
class VisitSettlement:
    """What one event of a visit does to its charges: the automatic ones to give back (and why), and
    which of the event's wanted charges to deduct now, as (index in `wanted`, units)."""

    reverse: tuple[Charge, ...] = ()
    reason: ReversalReason | None = None
    charge: tuple[tuple[int, int], ...] = ()


def settle_visit(visit: VisitRecord, event: VisitEvent, wanted: Sequence[tuple[str, int]] = ()) -> VisitSettlement:
    """THE rule of one charge per visit: whatever mix and order of no-show, late cancellation, arrival
    and payment arrive, a visit takes at most its units of each service, once.

    - `paid`: the visit happened. Its automatic deductions are given back (reason `visit_paid`), then its
      lines paid with a membership are deducted (`wanted`: (service, units) per line), less what already
      stands paid for that service;
    - `arrived`: the client came: its automatic deductions are given back (`visit_arrived`);
    - `no_show`, `late_cancel` (`wanted`: (service, 1) per service the location's policy deducts):
      nothing on a visit that was paid or arrived, whichever came first; otherwise each service is
      deducted only as far as no charge (of any cause) stands for it already.
    """
    if event in (VisitEvent.PAID, VisitEvent.ARRIVED):
        reverse = tuple(c for c in visit.charges if c.automatic)
        reason = ReversalReason.VISIT_PAID if event == VisitEvent.PAID else ReversalReason.VISIT_ARRIVED
        if event == VisitEvent.ARRIVED:
            return VisitSettlement(reverse, reason if reverse else None)
        kept = [c for c in visit.charges if not c.automatic]
        return VisitSettlement(reverse, reason if reverse else None, _uncovered(wanted, kept))
    if visit.paid or visit.arrived:
        return VisitSettlement()
    return VisitSettlement(charge=_uncovered(wanted, visit.charges))


def _uncovered(wanted: Sequence[tuple[str, int]], standing: Sequence[Charge]) -> tuple[tuple[int, int], ...]:
    """The units of each wanted charge that no standing charge of its service covers yet."""
    held = Counter[str]()
    for c in standing:
        held[c.service_id] += c.units
    due = []
    for index, (service_id, units) in enumerate(wanted):
        covered = min(units, held[service_id])
        held[service_id] -= covered
        if units > covered:
            due.append((index, units - covered))
    return tuple(due)


def give_back(m: Membership, t: MembershipType, charge: Charge) -> Membership:
    """A deduction reversed: its visits back on the balance they came from; an exhausted membership is
    usable again. (Its first use stays its first use: the validity it started keeps running.)"""
    key = t.balance_key(charge.service_id)
    balance = {**m.balance, key: m.balance.get(key, 0) + charge.units}
    status = m.status
    if status == Status.EXHAUSTED:
        status = Status.ACTIVE if m.activated_at else Status.SOLD
    return replace(m, balance=balance, status=status)


# --- editing ------------------------------------------------------------------------------------


class EditError(StrEnum):
    NOT_ALLOWED = "editing_not_allowed"
    WRONG_LOCATION = "editing_only_at_selling_location"
    UNKNOWN_BALANCE_KEY = "unknown_balance_key"


def edit(m: Membership, t: MembershipType, *, balance: dict[str, int] | None, valid_until: datetime | None,
         location_id: str | None, at: datetime) -> Membership | EditError:
    if t.editing == "none":
        return EditError.NOT_ALLOWED
    if t.editing == "selling_location" and location_id != m.location_id:
        return EditError.WRONG_LOCATION
    new_balance = dict(m.balance)
    if balance is not None:
        if not set(balance) <= set(m.balance):
            return EditError.UNKNOWN_BALANCE_KEY
        new_balance.update(balance)
    until = valid_until if valid_until is not None else m.valid_until
    status = m.status
    if status in (Status.EXHAUSTED, Status.ACTIVE, Status.SOLD, Status.FROZEN):
        status = Status.EXHAUSTED if sum(new_balance.values()) == 0 else (
            Status.FROZEN if status == Status.FROZEN else Status.ACTIVE if m.activated_at else Status.SOLD)
    if status == Status.EXPIRED and until is not None and until > at and sum(new_balance.values()) > 0:
        status = Status.ACTIVE if m.activated_at else Status.SOLD  # an edit may bring it back
    return replace(m, balance=new_balance, valid_until=until, status=status)
