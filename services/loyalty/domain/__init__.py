"""Loyalty rules, pure: the standard library only, no I/O. Use cases load, call these, and save.

Two programs, as Altegio has them:
- the *location program*: from a client's statistics at one location (sold, paid, arrived visits,
  the last visit), their discount, importance level (bronze < silver < gold) and categories;
- the *bonus program* (chain level): cards of a card type, promotions attached to card types that
  accrue cashback points on paid visits, points spent on later visits (oldest first), and points
  that burn some time after they were accrued.

Points and money are Decimal end to end; every computed amount is rounded half-up to 2 decimals
(a promotion may ask for whole points instead, also half-up). Thresholds are inclusive.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENTS = Decimal("0.01")
WHOLE = Decimal("1")
ZERO = Decimal("0")
HUNDRED = Decimal("100")
LEVELS = ("bronze", "silver", "gold")  # lowest first
BASES = ("sold", "paid", "visits")


def rank(level: str | None) -> int:
    return LEVELS.index(level) + 1 if level in LEVELS else 0


def round_points(amount: Decimal, whole: bool = False) -> Decimal:
    return amount.quantize(WHOLE if whole else CENTS, ROUND_HALF_UP).quantize(CENTS)


# --- client statistics --------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """A client's statistics at one location (or across the chain)."""

    sold: Decimal = ZERO
    paid: Decimal = ZERO
    visits: int = 0  # distinct visits with status arrived
    no_shows: int = 0
    last_visit_at: datetime | None = None  # the last arrived visit
    last_paid_at: datetime | None = None

    def value(self, basis: str) -> Decimal:
        if basis == "sold":
            return self.sold
        if basis == "paid":
            return self.paid
        if basis == "visits":
            return Decimal(self.visits)
        raise ValueError(f"unknown basis {basis!r}")

    @property
    def last_activity(self) -> datetime | None:
        """What inactivity is counted from: the last arrived visit, or (a client whose visits were
        only ever paid, never marked arrived) the last payment."""
        return self.last_visit_at or self.last_paid_at

    def inactive_for(self, days: int, as_of: datetime) -> bool:
        last = self.last_activity
        return last is not None and as_of - last >= timedelta(days=days)


# --- the location program -----------------------------------------------------------------------


@dataclass(frozen=True)
class DiscountRule:
    basis: str
    threshold: Decimal
    percent: Decimal


@dataclass(frozen=True)
class LevelRule:
    level: str
    sold_from: Decimal | None = None
    paid_from: Decimal | None = None
    visits_from: int | None = None

    def qualifies(self, s: Stats) -> bool:
        """Any one criterion is enough; a criterion left null is not used."""
        return ((self.sold_from is not None and s.sold >= self.sold_from)
                or (self.paid_from is not None and s.paid >= self.paid_from)
                or (self.visits_from is not None and s.visits >= self.visits_from))


@dataclass(frozen=True)
class CategoryRule:
    basis: str
    threshold: Decimal
    category: str


@dataclass(frozen=True)
class InactiveRule:
    days: int
    category: str


@dataclass(frozen=True)
class Program:
    discount_rules: tuple[DiscountRule, ...] = ()
    discount_reset_after_days: int | None = None
    level_rules: tuple[LevelRule, ...] = ()
    level_reset_after_days: int | None = None
    add_rules: tuple[CategoryRule, ...] = ()
    remove_rules: tuple[CategoryRule, ...] = ()
    on_arrived: str | None = None
    on_no_show: str | None = None
    inactive_rules: tuple[InactiveRule, ...] = ()
    notify_discount_expiration: bool = False
    discount_expiration_notice_days: int = 7  # the warning before a lapse (domain/expiry.py)

    def time_driven(self) -> bool:
        """Does the passing of time alone change anything (the inactivity job's business)?"""
        return bool(self.discount_reset_after_days or self.level_reset_after_days or self.inactive_rules)

    def inactive_periods(self) -> list[int]:
        """Every "N days without a visit" of the program, shortest first."""
        days = {d for d in (self.discount_reset_after_days, self.level_reset_after_days) if d}
        days |= {r.days for r in self.inactive_rules}
        return sorted(days)


@dataclass(frozen=True)
class Manual:
    """What was set by hand in the client card; None: not set, the program's value applies. A manual value
    overrides the derived one until it is removed: the program's recalculations (visits, saving the
    program, the inactivity job) keep deriving theirs beside it and never change it."""

    discount_percent: Decimal | None = None
    level: str | None = None
    categories: tuple[str, ...] | None = None

    def over(self, derived: LoyaltyState) -> LoyaltyState:
        """What the client has: each manual value where set, else the derived one."""
        return LoyaltyState(
            derived.discount_percent if self.discount_percent is None else self.discount_percent,
            derived.level if self.level is None else self.level,
            derived.categories if self.categories is None else self.categories,
            self,
        )

    def patched(self, changes: dict[str, object]) -> Manual:
        """The manual values after a change naming some of them (a null removes one)."""
        merged = {"discount_percent": self.discount_percent, "level": self.level, "categories": self.categories,
                  **changes}
        cats = merged["categories"]
        return Manual(merged["discount_percent"], merged["level"],  # type: ignore[arg-type]
                      None if cats is None else tuple(sorted(set(cats))))  # type: ignore[call-overload]


@dataclass(frozen=True)
class LoyaltyState:
    """What the client has at a location (the derived values, or the manual ones over them)."""

    discount_percent: Decimal = ZERO
    level: str | None = None
    categories: tuple[str, ...] = ()
    manual: Manual = Manual()


def discount(p: Program, s: Stats, as_of: datetime) -> Decimal:
    """The highest qualifying discount; 0 once the client has been away `discount_reset_after_days`."""
    if p.discount_reset_after_days and s.inactive_for(p.discount_reset_after_days, as_of):
        return ZERO
    return max((r.percent for r in p.discount_rules if s.value(r.basis) >= r.threshold), default=ZERO)


def level(p: Program, s: Stats, as_of: datetime) -> str | None:
    """The highest qualifying level (gold > silver > bronze); none after `level_reset_after_days` away."""
    if p.level_reset_after_days and s.inactive_for(p.level_reset_after_days, as_of):
        return None
    best = max((rank(r.level) for r in p.level_rules if r.qualifies(s)), default=0)
    return LEVELS[best - 1] if best else None


def categories(p: Program, s: Stats, as_of: datetime) -> tuple[str, ...]:
    """Every qualifying add-rule's category, the status categories (a client with an arrived visit /
    a no-show at the location), the "inactive N days" categories; then every qualifying remove-rule
    takes its category away. Sorted, each once."""
    given = {r.category for r in p.add_rules if s.value(r.basis) >= r.threshold}
    if p.on_arrived and s.visits > 0:
        given.add(p.on_arrived)
    if p.on_no_show and s.no_shows > 0:
        given.add(p.on_no_show)
    given |= {r.category for r in p.inactive_rules if s.inactive_for(r.days, as_of)}
    given -= {r.category for r in p.remove_rules if s.value(r.basis) >= r.threshold}
    return tuple(sorted(given))


def evaluate(p: Program, s: Stats, as_of: datetime, manual: Manual = Manual()) -> LoyaltyState:
    """What the program derives, with the client's manual values over it."""
    return manual.over(LoyaltyState(discount(p, s, as_of), level(p, s, as_of), categories(p, s, as_of)))


def discount_expires_at(p: Program, s: Stats) -> datetime | None:
    """When the discount resets unless the client comes back."""
    last = s.last_activity
    if not p.discount_reset_after_days or last is None:
        return None
    return last + timedelta(days=p.discount_reset_after_days)


# --- the bonus program --------------------------------------------------------------------------

PROMOTION_TYPES = (
    "fixed_cashback_sold", "fixed_cashback_paid",
    "cumulative_cashback_sold", "cumulative_cashback_paid",
    "cumulative_visits_cashback_sold", "cumulative_visits_cashback_paid",
    "visit_cashback_sold", "visit_cashback_paid",
)
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
