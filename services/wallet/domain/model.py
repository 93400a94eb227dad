"""The wallet's domain objects (pure: standard library only): gift card types, gift cards, accounts."""

from __future__ import annotations

import calendar
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal("0.00")


class IssueReason(StrEnum):
    CODE_TAKEN = "code_taken"
    TYPE_NOT_FOUND = "type_not_found"
    ARCHIVED = "archived"
    CODE_REQUIRED = "code_required"  # a null code for a type that is not sold without one
    PHONE_REQUIRED = "phone_required"  # a no-code card with no phone to bind to
    PHONE_INVALID = "phone_invalid"
    NOT_SOLD_ONLINE = "not_sold_online"
    WRONG_LOCATION = "wrong_location"


class PaymentReason(StrEnum):
    NOT_FOUND = "not_found"
    EXPIRED = "expired"
    WRONG_LOCATION = "wrong_location"
    NOT_APPLICABLE = "not_applicable"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    SPENT = "spent"
    PHONE_MISMATCH = "phone_mismatch"
    CREDIT_LIMIT_EXCEEDED = "credit_limit_exceeded"
    NOT_TAKEN = "not_taken"  # all or nothing: this payment passed, another of the visit failed


@dataclass(frozen=True)
class Limits:
    applies_to: str = "any"  # any | services | products | some_services_and_products | some_services
    service_ids: tuple[str, ...] = ()
    category_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Validity:
    kind: str = "unlimited"  # unlimited | until | period
    until: date | None = None
    unit: str | None = None  # day | week | month | year
    count: int | None = None


@dataclass(frozen=True)
class GiftCardType:
    id: str
    chain_id: str
    name: str
    par_value: Decimal
    write_off: str  # single | multiple
    archived: bool = False
    allow_without_code: bool = False
    online_sale: bool = True
    location_ids: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    validity: Validity = field(default_factory=Validity)

    def valid_at(self, location_id: str) -> bool:
        return not self.location_ids or location_id in self.location_ids


@dataclass(frozen=True)
class GiftCard:
    id: str
    chain_id: str
    type: GiftCardType  # as it is now: its limits and locations apply to the cards sold
    code: str | None
    sale_id: str
    client_id: str
    holder_id: str | None
    phone: str | None
    location_id: str
    price: Decimal
    balance: Decimal
    status: str  # active | spent | expired
    sold_at: datetime
    valid_until: datetime | None


@dataclass(frozen=True)
class Account:
    chain_id: str
    client_id: str
    balance: Decimal = ZERO
    credit_limit: Decimal = ZERO


# --- time ---------------------------------------------------------------------------------------------

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: what a cashier reads aloud
CODE_LENGTH = 10


def generate_code(rng: secrets.SystemRandom | None = None) -> str:
    rng = rng or secrets.SystemRandom()
    return "G" + "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH - 1))


def _months_later(start: datetime, months: int) -> datetime:
    year, month0 = divmod(start.month - 1 + months, 12)
    year += start.year
    return start.replace(year=year, month=month0 + 1, day=min(start.day, calendar.monthrange(year, month0 + 1)[1]))


def valid_until(validity: Validity, sold_at: datetime) -> datetime | None:
    """When a card sold at `sold_at` stops paying (exclusive): None for unlimited; the end of the `until`
    day (UTC) for a fixed date; the sale plus the period otherwise (calendar months, the day clamped)."""
    try:
        if validity.kind == "until" and validity.until is not None:
            return datetime.combine(validity.until + timedelta(days=1), time.min, UTC)
        if validity.kind == "period" and validity.unit and validity.count:
            if validity.unit in ("day", "week"):
                return sold_at + timedelta(days=validity.count * (7 if validity.unit == "week" else 1))
            return _months_later(sold_at, validity.count * (12 if validity.unit == "year" else 1))
    except (OverflowError, ValueError):  # past year 9999: as good as unlimited
        return None
    return None
