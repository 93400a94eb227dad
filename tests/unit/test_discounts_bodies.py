"""A discount promotion's body (POST /promotions): its percent or tiers, `applies_to` (default every
service and product; bounded lists; a cashback has none), and nothing of points (no burn)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from services.loyalty.bonus_schemas import PromotionIn

CARD_TYPE = str(uuid.uuid4())


def body(kind: str, **fields: Any) -> dict[str, Any]:
    return {"name": "Discount", "type": kind, "card_type_ids": [CARD_TYPE], **fields}


def test_a_static_discount_covers_every_service_and_product_by_default() -> None:
    p = PromotionIn.model_validate(body("static_discount", percent="10"))
    assert p.spec()["applies_to"] == {"kinds": ["service", "product"], "category_ids": [], "item_ids": []}
    online = PromotionIn.model_validate(body("online_booking_discount", percent="5", applies_to={"kinds": ["service"]}))
    assert online.spec()["applies_to"]["kinds"] == ["service"]


def test_a_cumulative_discount_needs_tiers_and_no_percent() -> None:
    tiers = [{"from": "0", "percent": "3"}, {"from": "10000", "percent": "5"}]
    assert PromotionIn.model_validate(body("cumulative_discount_sold", rules=tiers)).rules[1].percent == 5
    with pytest.raises(ValidationError, match="rules"):
        PromotionIn.model_validate(body("cumulative_discount_paid"))
    with pytest.raises(ValidationError, match="percent"):
        PromotionIn.model_validate(body("cumulative_discount_paid", rules=tiers, percent="5"))
    with pytest.raises(ValidationError, match="whole number of visits"):
        PromotionIn.model_validate(body("cumulative_visits_discount", rules=[{"from": "2.5", "percent": "5"}]))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "percent"),
        ({"percent": "0"}, "percent"),
        ({"percent": "100.01"}, "percent"),
        ({"percent": "10", "burn_after": {"n": 1}}, "burn_after"),
        ({"percent": "10", "burn_notice_days": 3}, "burn_notice_days"),
        ({"percent": "10", "applies_to": {"kinds": ["membership"]}}, "applies_to.kinds"),
        ({"percent": "10", "applies_to": {"kinds": []}}, "applies_to.kinds"),
        ({"percent": "10", "applies_to": {"item_ids": [f"i-{n}" for n in range(101)]}}, "applies_to.item_ids"),
        ({"percent": "10", "applies_to": {"category_ids": [f"c-{n}" for n in range(101)]}}, "applies_to.category_ids"),
    ],
)
def test_a_bad_static_discount_is_refused_naming_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        PromotionIn.model_validate(body("static_discount", **fields))
    assert any(".".join(str(p) for p in e["loc"]).startswith(field) for e in refused.value.errors())


def test_a_cashback_takes_no_applies_to() -> None:
    assert PromotionIn.model_validate(body("fixed_cashback_paid", percent="3")).applies_to is None
    with pytest.raises(ValidationError, match="applies_to"):
        PromotionIn.model_validate(body("fixed_cashback_paid", percent="3", applies_to={"kinds": ["service"]}))
