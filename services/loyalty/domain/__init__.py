"""Loyalty rules, pure: the standard library only, no I/O. Use cases load, call these, and save.

Two programs, as Altegio has them:
- the *location program*: from a client's statistics at one location (sold, paid, arrived visits,
  the last visit), their discount, importance level (bronze < silver < gold) and categories;
- the *bonus program* (chain level): cards of a card type, promotions attached to card types that
  accrue cashback points on paid visits, points spent on later visits (oldest first), and points
  that burn some time after they were accrued.

Points and money are Decimal end to end; every computed amount is rounded half-up to 2 decimals
(a promotion may ask for whole points instead, also half-up; numbers.py). Thresholds are inclusive.
The location program's rules are here; the bonus program's in bonus.py (re-exported: both are imported
from `services.loyalty.domain`); the batch's books, visits, cards, expiry and category-rule checks in
the package's other modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from services.loyalty.domain.bonus import (  # the bonus program, written in bonus.py
    HISTORY_SOURCES,
    MAX_BALANCE,
    MAX_CARDS_PER_CLIENT,
    MAX_LIVE_PROMOTIONS,
    PROMOTION_TYPES,
    History,
    Lot,
    Promotion,
    Take,
    Tier,
    Visit,
    add_period,
    cashback,
    cashback_percent,
    take_oldest,
    tier_percent,
)
from services.loyalty.domain.numbers import CENTS, HUNDRED, WHOLE, ZERO, round_points

LEVELS = ("bronze", "silver", "gold")  # lowest first
BASES = ("sold", "paid", "visits")


def rank(level: str | None) -> int:
    return LEVELS.index(level) + 1 if level in LEVELS else 0


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
        return (
            (self.sold_from is not None and s.sold >= self.sold_from)
            or (self.paid_from is not None and s.paid >= self.paid_from)
            or (self.visits_from is not None and s.visits >= self.visits_from)
        )


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
        merged = {
            "discount_percent": self.discount_percent,
            "level": self.level,
            "categories": self.categories,
            **changes,
        }
        cats = merged["categories"]
        return Manual(
            merged["discount_percent"],  # type: ignore[arg-type]
            merged["level"],  # type: ignore[arg-type]
            None if cats is None else tuple(sorted(set(cats))),  # type: ignore[call-overload]
        )


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


__all__ = [
    "BASES",
    "CENTS",
    "HISTORY_SOURCES",
    "HUNDRED",
    "LEVELS",
    "MAX_BALANCE",
    "MAX_CARDS_PER_CLIENT",
    "MAX_LIVE_PROMOTIONS",
    "PROMOTION_TYPES",
    "WHOLE",
    "ZERO",
    "CategoryRule",
    "DiscountRule",
    "History",
    "InactiveRule",
    "LevelRule",
    "Lot",
    "LoyaltyState",
    "Manual",
    "Program",
    "Promotion",
    "Stats",
    "Take",
    "Tier",
    "Visit",
    "add_period",
    "cashback",
    "cashback_percent",
    "categories",
    "discount",
    "discount_expires_at",
    "evaluate",
    "level",
    "rank",
    "round_points",
    "take_oldest",
    "tier_percent",
]
