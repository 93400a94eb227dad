"""What a chain sells and what a client holds: statuses and reasons, validity arithmetic, types,
memberships. Pure: the standard library only."""

from __future__ import annotations

import calendar
import secrets
from dataclasses import dataclass
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
    NOT_SOLD_ONLINE = "not_sold_online"  # an online sale of a type not sold online
    PHONE_REQUIRED = "phone_required"  # a no-code sale without the buyer's phone
    PHONE_INVALID = "phone_invalid"  # a no-code sale whose phone is no number


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
    phone: str | None  # E.164 (shared/phones.py); a no-code membership's is its buyer's, and always one
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
        return (
            self.frozen_from is not None
            and self.frozen_until is not None
            and (self.frozen_from <= day < self.frozen_until)
        )


def generate_code(rng: secrets.SystemRandom | None = None) -> str:
    rng = rng or secrets.SystemRandom()
    return "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
