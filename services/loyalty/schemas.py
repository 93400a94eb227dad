"""HTTP bodies and answers of the loyalty API (pydantic). Every rule a body can break on its own is
checked here, so a 422 names the field (`discount_rules.0.percent`, `rules.1.from`, ...)."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from services.loyalty.domain import LEVELS, PROMOTION_TYPES
from services.loyalty.domain.expiry import DEFAULT_NOTICE_DAYS, MAX_NOTICE_DAYS
from services.loyalty.domain.promotion_links import MAX_CARD_TYPES_PER_PROMOTION, MAX_PROMOTIONS_PER_CARD_TYPE
from shared.events import Id, Money, NonNegativeMoney, PastTime
from shared.events.base import MAX_LOCATIONS
from shared.http import Body

Percent = Annotated[NonNegativeMoney, Field(le=100)]
Days = Annotated[int, Field(ge=1, le=36_500)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Category = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
Basis = Literal["sold", "paid", "visits"]
# A count of visits or uses: more than one client makes in a lifetime, within an INTEGER column.
Count = Annotated[int, Field(ge=0, le=1_000_000)]
LocationIds = Annotated[list[Id], Field(max_length=MAX_LOCATIONS)]



def _whole_visits(basis: str, threshold: Decimal) -> None:
    if basis == "visits" and threshold != threshold.to_integral_value():
        raise ValueError("a visits threshold is a whole number of visits")


class ThresholdRuleIn(Body):
    """A rule that applies from a threshold of sold, paid or visits (inclusive)."""

    basis: Basis
    from_: NonNegativeMoney = Field(alias="from")

    @model_validator(mode="after")
    def _visits(self) -> ThresholdRuleIn:
        _whole_visits(self.basis, self.from_)
        return self


class DiscountRuleIn(ThresholdRuleIn):
    percent: Percent


class LevelRuleIn(Body):
    level: Literal["bronze", "silver", "gold"]
    sold_from: NonNegativeMoney | None = None
    paid_from: NonNegativeMoney | None = None
    visits_from: Count | None = None

    @model_validator(mode="after")
    def _some(self) -> LevelRuleIn:
        if self.sold_from is None and self.paid_from is None and self.visits_from is None:
            raise ValueError("a level needs at least one of sold_from, paid_from, visits_from")
        return self


class CategoryRuleIn(ThresholdRuleIn):
    category: Category


class OnStatusIn(Body):
    arrived: Category | None = None
    no_show: Category | None = None


class InactiveRuleIn(Body):
    days: Days
    category: Category


class CategoryRulesIn(Body):
    add: list[CategoryRuleIn] = Field(default_factory=list, max_length=100)
    on_status: OnStatusIn = OnStatusIn()
    inactive: list[InactiveRuleIn] = Field(default_factory=list, max_length=100)
    remove: list[CategoryRuleIn] = Field(default_factory=list, max_length=100)


class ProgramIn(Body):
    discount_rules: list[DiscountRuleIn] = Field(default_factory=list, max_length=100)
    discount_reset_after_days: Days | None = None
    level_rules: list[LevelRuleIn] = Field(default_factory=list, max_length=3)
    level_reset_after_days: Days | None = None
    category_rules: CategoryRulesIn = CategoryRulesIn()
    notify_discount_expiration: bool = False
    # With the switch on: the client is warned this many days before the discount lapses for inactivity.
    discount_expiration_notice_days: Annotated[int, Field(ge=1, le=MAX_NOTICE_DAYS, validate_default=True)] = (
        DEFAULT_NOTICE_DAYS)

    @field_validator("discount_expiration_notice_days")
    @classmethod
    def _notice(cls, days: int, info: ValidationInfo) -> int:
        reset = info.data.get("discount_reset_after_days")
        if info.data.get("notify_discount_expiration") and reset is not None and days >= reset:
            raise ValueError(f"the warning ({days} days before the lapse) must be shorter than "
                             f"discount_reset_after_days ({reset})")
        return days

    @field_validator("discount_rules")
    @classmethod
    def _discounts(cls, rules: list[DiscountRuleIn]) -> list[DiscountRuleIn]:
        seen: dict[tuple[str, Decimal], Decimal] = {}
        for r in rules:
            key = (r.basis, r.from_)
            if key in seen and seen[key] != r.percent:
                raise ValueError(f"two discounts for {r.basis} from {r.from_}: overlapping rules")
            seen[key] = r.percent
        return rules

    @field_validator("level_rules")
    @classmethod
    def _levels(cls, rules: list[LevelRuleIn]) -> list[LevelRuleIn]:
        levels = [r.level for r in rules]
        if len(set(levels)) != len(levels):
            raise ValueError("a level is listed twice")
        ordered = sorted(rules, key=lambda r: LEVELS.index(r.level))
        for attr in ("sold_from", "paid_from", "visits_from"):
            steps = [(r.level, getattr(r, attr)) for r in ordered if getattr(r, attr) is not None]
            for (low, a), (high, b) in itertools.pairwise(steps):
                if b <= a:
                    raise ValueError(f"{high} must need more than {low} ({attr}: {b} is not above {a})")
        return rules

    def spec(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class ProgramOut(ProgramIn):
    location_id: str
    recalculation: dict[str, Any] | None = None


class ManualOut(BaseModel):
    """What was set by hand in the client card (null: not set)."""

    discount_percent: Money | None = None
    level: str | None = None
    categories: list[str] | None = None


class ClientLoyaltyOut(BaseModel):
    client_id: str
    location_id: str | None
    discount_percent: Money
    level: str | None
    categories: list[str]
    sold: Money
    paid: Money
    visits: int
    last_visit_at: datetime | None
    # Set by hand in the client card (PATCH .../loyalty); each overrides its derived value until removed.
    manual: ManualOut | None = None
    # What the program derives, as of the last calculation, whatever was set by hand.
    derived_discount_percent: Money = Decimal(0)
    derived_level: str | None = None
    derived_categories: list[str] = Field(default_factory=list)


# --- the bonus program --------------------------------------------------------------------------


# The promotions attached to a card type: the same association as a promotion's card_type_ids, from the
# other side (domain/promotion_links.py); a PATCH replaces the set.
PromotionIds = Annotated[list[uuid.UUID], Field(max_length=MAX_PROMOTIONS_PER_CARD_TYPE)]


class CardTypeIn(Body):
    name: Name
    location_ids: LocationIds = Field(default_factory=list)
    promotion_ids: PromotionIds = Field(default_factory=list)


class CardTypePatch(Body):
    name: Name | None = None
    location_ids: LocationIds | None = None
    promotion_ids: PromotionIds | None = None


class CardTypeOut(CardTypeIn):
    id: uuid.UUID
    created_at: datetime


class TierIn(Body):
    from_: NonNegativeMoney = Field(alias="from")
    percent: Percent


class BurnAfterIn(Body):
    n: Annotated[int, Field(ge=1, le=10_000)]
    unit: Literal["day", "week", "month", "year"] = "month"


PromotionType = Literal[
    "fixed_cashback_sold", "fixed_cashback_paid", "cumulative_cashback_sold", "cumulative_cashback_paid",
    "cumulative_visits_cashback_sold", "cumulative_visits_cashback_paid", "visit_cashback_sold",
    "visit_cashback_paid",
]
assert set(PromotionType.__args__) == set(PROMOTION_TYPES)  # type: ignore[attr-defined]


class PromotionIn(Body):
    name: Name
    type: PromotionType
    card_type_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_CARD_TYPES_PER_PROMOTION)]
    location_ids: LocationIds = Field(default_factory=list)
    percent: Annotated[Percent | None, Field(validate_default=True)] = None
    rules: Annotated[list[TierIn], Field(default_factory=list, max_length=100, validate_default=True)]
    history_source: Literal["chain", "active_locations", "card_locations"] = "chain"
    history_start: date | None = None
    burn_after: BurnAfterIn | None = None
    burn_notice_days: Annotated[int, Field(ge=0, le=3650)] = 0
    every_nth_visit: Annotated[int, Field(ge=1, le=1000)] = 1
    max_uses: Count = 0
    # How cashback is rounded: to the cent (default) or to whole points; half-up either way.
    rounding: Literal["cents", "whole"] = "cents"
    archived: bool = False

    @field_validator("percent")
    @classmethod
    def _percent(cls, percent: Decimal | None, info: ValidationInfo) -> Decimal | None:
        fixed = str(info.data.get("type", "")).startswith("fixed_")
        if fixed and percent is None:
            raise ValueError("a fixed cashback needs its percent")
        if not fixed and percent is not None:
            raise ValueError("a tiered cashback takes its percent from the rules; leave percent null")
        return percent

    @field_validator("rules")
    @classmethod
    def _tiers(cls, rules: list[TierIn], info: ValidationInfo) -> list[TierIn]:
        kind = str(info.data.get("type", ""))
        if kind.startswith("fixed_") and rules:
            raise ValueError("a fixed cashback has a percent, not tiers")
        if kind and not kind.startswith("fixed_") and not rules:
            raise ValueError("a tiered cashback needs at least one tier {from, percent}")
        froms = [r.from_ for r in rules]
        if len(set(froms)) != len(froms):
            raise ValueError("two tiers start at the same threshold: overlapping tiers")
        if kind.startswith("cumulative_visits"):
            for r in rules:
                _whole_visits("visits", r.from_)
        return rules

    def spec(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class PromotionOut(PromotionIn):
    id: uuid.UUID
    created_at: datetime


class CardIn(Body):
    card_type_id: uuid.UUID
    client_id: Id
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    number: Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
    # When the card was issued (default: now): a card brought from another system keeps its date. A card
    # earns cashback only for visits from then on ("issued before the client's appointment").
    issued_at: PastTime | None = None


MAX_IMPORTED_CARDS = 1_000  # cards one POST /cards/import takes


class ImportedCardIn(CardIn):
    # Opening points: a manual accrual (reason "import") that never burns.
    balance: NonNegativeMoney = Decimal(0)


class CardImportIn(Body):
    cards: Annotated[list[ImportedCardIn], Field(min_length=1, max_length=MAX_IMPORTED_CARDS)]


class ImportedCardOut(BaseModel):
    number: str
    id: uuid.UUID
    created: bool  # false: the chain had this card already (same client, same type), left as it was


class CardImportOut(BaseModel):
    created: int
    existing: int
    cards: list[ImportedCardOut]  # in the import's order


class TransactionOut(BaseModel):
    id: int
    at: datetime
    kind: str
    amount: Money
    balance_after: Money
    visit_id: str | None
    promotion_id: uuid.UUID | None
    location_id: str | None
    reason: str | None


class PointsOut(BaseModel):
    """Points accrued together and what is left of them: spending and write-offs take the oldest first."""

    accrued_at: datetime
    amount: Money
    remaining: Money
    burns_at: datetime | None  # null: never (a manual accrual, an import, a promotion without burn_after)
    promotion_id: uuid.UUID | None


class CardOut(BaseModel):
    id: uuid.UUID
    card_type_id: uuid.UUID
    client_id: str
    phone: str | None = None  # left out of a card without one (the list and the issue answer)
    number: str
    balance: Money
    issued_at: datetime
    transactions: list[TransactionOut] | None = None
    # GET /cards/{id} only: the points the balance is made of, oldest first, each with when it burns.
    points: list[PointsOut] | None = None


class ManualTransactionIn(Body):
    kind: Literal["accrue", "write_off"]
    amount: Annotated[NonNegativeMoney, Field(gt=0)]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
