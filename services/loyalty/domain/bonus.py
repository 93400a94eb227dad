"""The bonus program, pure: cards of a card type, promotions attached to card types that accrue cashback
points on paid visits, points spent on later visits (oldest first) and burned some time after they were
accrued. Re-exported by the package (`from services.loyalty.domain import Promotion`)."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from services.loyalty.domain.numbers import HUNDRED, ZERO, round_points

if TYPE_CHECKING:
    from services.loyalty.domain.discounts import AppliesTo

# --- the bonus program --------------------------------------------------------------------------

CASHBACK_TYPES = (
    "fixed_cashback_sold",
    "fixed_cashback_paid",
    "cumulative_cashback_sold",
    "cumulative_cashback_paid",
    "cumulative_visits_cashback_sold",
    "cumulative_visits_cashback_paid",
    "visit_cashback_sold",
    "visit_cashback_paid",
)
# Discounts at the checkout, not points (discounts.py decides them): attached to card types like cashback.
DISCOUNT_TYPES = (
    "static_discount",
    "cumulative_discount_sold",
    "cumulative_discount_paid",
    "cumulative_visits_discount",
    "online_booking_discount",
)
PROMOTION_TYPES = CASHBACK_TYPES + DISCOUNT_TYPES
HISTORY_SOURCES = ("chain", "active_locations", "card_locations")
# A paid visit sums a history per card of its client and live promotion of the card's type: both are
# bounded where they are made (409), so no configuration makes one visit do thousands of them.
MAX_CARDS_PER_CLIENT = 10
MAX_BALANCE = Decimal("999999999999.99")  # what a card's NUMERIC(14,2) balance holds: money's own bound
MAX_LIVE_PROMOTIONS = 100  # per card type; archived ones do not count (nor are they read by a visit)


@dataclass(frozen=True)
class Tier:
    threshold: Decimal
    percent: Decimal


def tier_percent(rules: Sequence[Tier], value: Decimal) -> Decimal | None:
    """The tier with the highest threshold the value reaches (inclusive), or none."""
    reached = [t for t in rules if value >= t.threshold]
    return max(reached, key=lambda t: t.threshold).percent if reached else None


def add_period(start: datetime, n: int, unit: str) -> datetime:
    if unit == "day":
        return start + timedelta(days=n)
    if unit == "week":
        return start + timedelta(weeks=n)
    if unit in ("month", "year"):
        months = n if unit == "month" else 12 * n
        index = start.month - 1 + months
        year, month = start.year + index // 12, index % 12 + 1
        return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))
    raise ValueError(f"unknown unit {unit!r}")


@dataclass(frozen=True)
class Promotion:
    id: str
    name: str
    type: str
    card_type_ids: tuple[str, ...] = ()
    location_ids: tuple[str, ...] = ()  # empty: every location of the chain
    percent: Decimal | None = None  # the fixed types
    rules: tuple[Tier, ...] = ()  # the tiered types
    history_source: str = "chain"
    history_start: date | None = None
    burn_after_n: int | None = None
    burn_after_unit: str = "month"
    burn_notice_days: int = 0
    every_nth_visit: int = 1
    max_uses: int = 0  # 0: unlimited
    rounding: str = "cents"  # cents or whole
    archived: bool = False
    applies_to: AppliesTo | None = None  # a discount's lines (None: every service and product)

    @property
    def is_discount(self) -> bool:
        return self.type in DISCOUNT_TYPES

    @property
    def basis(self) -> str:
        return "sold" if self.type.endswith("_sold") else "paid"

    @property
    def tiered_by(self) -> str:
        """fixed, cumulative (history total), cumulative_visits (history visits) or visit (this visit)."""
        return self.type.rsplit("_cashback", 1)[0]

    def active_at(self, location_id: str) -> bool:
        return not self.archived and (not self.location_ids or location_id in self.location_ids)

    def history_locations(self, card_locations: Sequence[str]) -> tuple[str, ...] | None:
        """The locations whose visits count in the history; None: the whole chain."""
        if self.history_source == "active_locations":
            return tuple(self.location_ids) or None
        if self.history_source == "card_locations":
            return tuple(card_locations) or None
        return None

    def burns_at(self, accrued_at: datetime) -> datetime | None:
        return add_period(accrued_at, self.burn_after_n, self.burn_after_unit) if self.burn_after_n else None

    def notice_at(self, burns_at: datetime | None) -> datetime | None:
        if burns_at is None or not self.burn_notice_days:
            return None
        return burns_at - timedelta(days=self.burn_notice_days)


@dataclass(frozen=True)
class History:
    """The client's paid visits that count for a promotion (its source locations, from its start
    date), this visit included."""

    sold: Decimal = ZERO
    paid: Decimal = ZERO
    visits: int = 0

    def value(self, basis: str) -> Decimal:
        return self.sold if basis == "sold" else self.paid


@dataclass(frozen=True)
class Visit:
    sold: Decimal
    paid: Decimal

    def value(self, basis: str) -> Decimal:
        return self.sold if basis == "sold" else self.paid


def cashback_percent(p: Promotion, visit: Visit, history: History) -> Decimal | None:
    kind = p.tiered_by
    if kind == "fixed":
        return p.percent
    if kind == "cumulative":
        return tier_percent(p.rules, history.value(p.basis))
    if kind == "cumulative_visits":
        return tier_percent(p.rules, Decimal(history.visits))
    if kind == "visit":
        return tier_percent(p.rules, visit.value(p.basis))
    raise ValueError(f"unknown promotion type {p.type!r}")


def cashback(p: Promotion, visit: Visit, history: History, uses: int) -> Decimal:
    """Points a promotion accrues for this visit (0: none). `history.visits` is this visit's place
    in the history (every Nth visit); `uses` is how many times it has accrued on this card."""
    if p.every_nth_visit > 1 and (history.visits == 0 or history.visits % p.every_nth_visit):
        return ZERO
    if p.max_uses and uses >= p.max_uses:
        return ZERO
    percent = cashback_percent(p, visit, history)
    if not percent:
        return ZERO
    return round_points(visit.value(p.basis) * percent / HUNDRED, whole=p.rounding == "whole")


# --- points: lots taken oldest first ------------------------------------------------------------


@dataclass(frozen=True)
class Lot:
    """Points accrued together, and what is left of them."""

    id: int
    accrued_at: datetime
    remaining: Decimal


@dataclass(frozen=True)
class Take:
    taken: dict[int, Decimal] = field(default_factory=dict)  # lot id -> points taken

    @property
    def total(self) -> Decimal:
        return sum(self.taken.values(), ZERO)


def take_oldest(lots: Iterable[Lot], amount: Decimal) -> Take | None:
    """Takes `amount` points from the oldest lots first; None (and nothing taken) when they hold less."""
    if amount <= 0:
        return Take()
    ordered = sorted((lot for lot in lots if lot.remaining > 0), key=lambda lot: (lot.accrued_at, lot.id))
    if sum((lot.remaining for lot in ordered), ZERO) < amount:
        return None
    taken: dict[int, Decimal] = {}
    left = amount
    for lot in ordered:
        if left <= 0:
            break
        part = min(lot.remaining, left)
        taken[lot.id] = part
        left -= part
    return Take(taken)
