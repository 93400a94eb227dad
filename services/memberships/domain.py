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
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
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


@dataclass(frozen=True)
class Validity:
    period: int = 0  # 0: unlimited
    unit: str = "month"  # day, week, month, year
    counted_from: str = "sale"  # sale or first_visit

    def end(self, start: datetime) -> datetime | None:
        """The first moment the membership is no longer valid (exclusive end)."""
        if self.period == 0:
            return None
        if self.unit == "day":
            return start + timedelta(days=self.period)
        if self.unit == "week":
            return start + timedelta(weeks=self.period)
        if self.unit == "month":
            return add_months(start, self.period)
        if self.unit == "year":
            return add_months(start, 12 * self.period)
        raise ValueError(f"unknown validity unit {self.unit!r}")


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

    @property
    def visits_left(self) -> int:
        return sum(self.balance.values())


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
          location_id: str, price: Decimal, sold_at: datetime) -> Membership:
    valid_until = t.validity.end(sold_at) if t.validity.counted_from == "sale" else None
    return Membership(
        id=membership_id, chain_id=t.chain_id, type_id=t.id, code=code, client_id=client_id,
        phone=normalize_phone(phone), location_id=location_id, status=Status.SOLD,
        balance=t.initial_balance(), price=price, sold_at=sold_at, valid_until=valid_until,
    )


@dataclass(frozen=True)
class Deducted:
    membership: Membership
    balance_key: str
    units: int
    service_cost: Decimal | None

    @property
    def visits_left(self) -> int:
        return self.membership.balance[self.balance_key]


@dataclass(frozen=True)
class Rejected:
    reason: Reason


def is_expired(m: Membership, at: datetime) -> bool:
    return m.status == Status.EXPIRED or (m.valid_until is not None and at >= m.valid_until)


def deduct(m: Membership, t: MembershipType, *, service_id: str, location_id: str, units: int,
           at: datetime, phone: str | None) -> Deducted | Rejected:
    """Takes `units` visits of `service_id` off `m`, or says why not (and then changes nothing)."""
    if not t.covers(service_id):
        return Rejected(Reason.SERVICE_NOT_INCLUDED)
    if not t.valid_at(location_id):
        return Rejected(Reason.LOCATION_NOT_ALLOWED)
    if m.code is None and normalize_phone(phone) != m.phone:
        return Rejected(Reason.PHONE_MISMATCH)
    if m.status == Status.FROZEN:
        return Rejected(Reason.FROZEN)
    if is_expired(m, at):
        return Rejected(Reason.EXPIRED)
    key = t.balance_key(service_id)
    if m.balance.get(key, 0) < units:
        return Rejected(Reason.EXHAUSTED)

    balance = {**m.balance, key: m.balance[key] - units}
    activated_at, valid_until = m.activated_at, m.valid_until
    if m.status == Status.SOLD:  # first use
        activated_at = at
        if t.validity.counted_from == "first_visit" and valid_until is None:
            valid_until = t.validity.end(at)
    status = Status.EXHAUSTED if sum(balance.values()) == 0 else Status.ACTIVE
    cost = t.service_cost()
    return Deducted(
        replace(m, balance=balance, status=status, activated_at=activated_at, valid_until=valid_until),
        key, units, cost * units if cost is not None else None,
    )
