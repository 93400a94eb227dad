"""HTTP bodies and answers of the loyalty API's bonus program: card types, promotions, cards, their
imports and transactions (pydantic; each rule a body can break on its own checked here, naming the
field)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, ValidationInfo, field_validator

from services.loyalty.domain import PROMOTION_TYPES
from services.loyalty.domain.bonus import DISCOUNT_TYPES
from services.loyalty.domain.discounts import DISCOUNTED_KINDS, MAX_APPLIES_TO_IDS, PERCENT_DISCOUNTS
from services.loyalty.domain.promotion_links import MAX_CARD_TYPES_PER_PROMOTION, MAX_PROMOTIONS_PER_CARD_TYPE
from services.loyalty.schema_types import Count, LocationIds, Name, Percent, whole_visits
from shared.events import Id, Money, NonNegativeMoney, PastTime
from shared.http import Body

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
    "fixed_cashback_sold",
    "fixed_cashback_paid",
    "cumulative_cashback_sold",
    "cumulative_cashback_paid",
    "cumulative_visits_cashback_sold",
    "cumulative_visits_cashback_paid",
    "visit_cashback_sold",
    "visit_cashback_paid",
    "static_discount",
    "cumulative_discount_sold",
    "cumulative_discount_paid",
    "cumulative_visits_discount",
    "online_booking_discount",
]
assert set(PromotionType.__args__) == set(PROMOTION_TYPES)  # type: ignore[attr-defined]
assert DISCOUNTED_KINDS == ("service", "product")  # what AppliesToIn.kinds takes
# The types that take a `percent` (the others take `rules`).
PERCENT_TYPES = ("fixed_cashback_sold", "fixed_cashback_paid", *PERCENT_DISCOUNTS)
AppliesToIds = Annotated[list[Id], Field(max_length=MAX_APPLIES_TO_IDS)]


class AppliesToIn(Body):
    """The lines a discount promotion covers: a line whose kind is listed and, when any ids are listed,
    whose category_id or item_id is among them."""

    kinds: Annotated[list[Literal["service", "product"]], Field(min_length=1, max_length=2)] = Field(
        default_factory=lambda: ["service", "product"]  # type: ignore[arg-type]  # (mypy reads list[str])
    )
    category_ids: AppliesToIds = Field(default_factory=list)
    item_ids: AppliesToIds = Field(default_factory=list)


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

    # A discount promotion's lines (default: every service and product); a cashback has none.
    applies_to: Annotated[AppliesToIn | None, Field(validate_default=True)] = None

    @field_validator("percent")
    @classmethod
    def _percent(cls, percent: Decimal | None, info: ValidationInfo) -> Decimal | None:
        kind = str(info.data.get("type", ""))
        fixed = kind in PERCENT_TYPES
        what = "discount" if kind in DISCOUNT_TYPES else "cashback"
        if fixed and percent is None:
            raise ValueError(f"a fixed {what} needs its percent")
        if fixed and kind in DISCOUNT_TYPES and percent == 0:
            raise ValueError("a discount of 0% gives nothing: percent > 0")
        if not fixed and percent is not None:
            raise ValueError(f"a tiered {what} takes its percent from the rules; leave percent null")
        return percent

    @field_validator("rules")
    @classmethod
    def _tiers(cls, rules: list[TierIn], info: ValidationInfo) -> list[TierIn]:
        kind = str(info.data.get("type", ""))
        what = "discount" if kind in DISCOUNT_TYPES else "cashback"
        if kind in PERCENT_TYPES and rules:
            raise ValueError(f"a fixed {what} has a percent, not tiers")
        if kind and kind not in PERCENT_TYPES and not rules:
            raise ValueError(f"a tiered {what} needs at least one tier {{from, percent}}")
        froms = [r.from_ for r in rules]
        if len(set(froms)) != len(froms):
            raise ValueError("two tiers start at the same threshold: overlapping tiers")
        if kind.startswith("cumulative_visits"):
            for r in rules:
                whole_visits("visits", r.from_)
        return rules

    @field_validator("burn_after", "burn_notice_days")
    @classmethod
    def _points_only(cls, value: Any, info: ValidationInfo) -> Any:
        if info.data.get("type") in DISCOUNT_TYPES and value:
            raise ValueError("a discount is no points: nothing of it burns")
        return value

    @field_validator("applies_to")
    @classmethod
    def _applies_to(cls, applies_to: AppliesToIn | None, info: ValidationInfo) -> AppliesToIn | None:
        kind = info.data.get("type")
        if kind in DISCOUNT_TYPES:
            return applies_to or AppliesToIn()
        if kind and applies_to is not None:
            raise ValueError("a cashback accrues on the visit's total: applies_to is for discount promotions")
        return applies_to

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
