"""HTTP bodies and answers of the loyalty API (pydantic). Every rule a body can break on its own is
checked here, so a 422 names the field (`discount_rules.0.percent`, `rules.1.from`, ...)."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from services.loyalty.domain import LEVELS
from services.loyalty.domain.expiry import DEFAULT_NOTICE_DAYS, MAX_NOTICE_DAYS
from services.loyalty.schema_types import Basis, Category, Count, Days, Percent, whole_visits
from shared.events import Money, NonNegativeMoney
from shared.http import Body


class ThresholdRuleIn(Body):
    """A rule that applies from a threshold of sold, paid or visits (inclusive)."""

    basis: Basis
    from_: NonNegativeMoney = Field(alias="from")

    @model_validator(mode="after")
    def _visits(self) -> ThresholdRuleIn:
        whole_visits(self.basis, self.from_)
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
        DEFAULT_NOTICE_DAYS
    )

    @field_validator("discount_expiration_notice_days")
    @classmethod
    def _notice(cls, days: int, info: ValidationInfo) -> int:
        reset = info.data.get("discount_reset_after_days")
        if info.data.get("notify_discount_expiration") and reset is not None and days >= reset:
            raise ValueError(
                f"the warning ({days} days before the lapse) must be shorter than discount_reset_after_days ({reset})"
            )
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
