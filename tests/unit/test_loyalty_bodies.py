"""The loyalty API's bodies refuse what a marketer would regret, naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.loyalty.bonus_schemas import PromotionIn
from services.loyalty.rows import program_from_spec
from services.loyalty.schemas import ProgramIn
from tests.contract_examples import LOYALTY_PROGRAM

CARD_TYPE = "7d3c1c33-3a8a-4a8d-9d55-5b1f0f6b3c11"
SEED_PROGRAM = LOYALTY_PROGRAM
PROMOTION: dict[str, Any] = {
    "name": "Cashback",
    "type": "cumulative_cashback_sold",
    "card_type_ids": [CARD_TYPE],
    "location_ids": ["loc-1"],
    "percent": None,
    "rules": [{"from": "0", "percent": "3"}, {"from": "10000", "percent": "5"}],
    "history_source": "chain",
    "history_start": "2022-08-15",
    "burn_after": {"n": 6, "unit": "month"},
    "burn_notice_days": 7,
    "every_nth_visit": 1,
    "max_uses": 0,
}


def fields(model: type[Any], body: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as err:
        model.model_validate(body)
    return {".".join(str(p) for p in e["loc"]) for e in err.value.errors()}


def test_the_contract_program_is_accepted_and_round_trips_through_its_stored_spec() -> None:
    body = ProgramIn.model_validate(SEED_PROGRAM)
    spec = body.spec()
    assert spec["discount_rules"][0] == {"basis": "sold", "from": "5000.00", "percent": "5.00"}
    program = program_from_spec(spec)
    assert program.discount_reset_after_days == 60 and program.on_no_show == "Unreliable"
    assert [r.level for r in program.level_rules] == ["bronze", "silver", "gold"]
    assert program.inactive_rules[0].days == 90 and program.remove_rules[0].category == "Economy"


def test_a_percent_over_100_is_refused_naming_the_field() -> None:
    bad = {**SEED_PROGRAM, "discount_rules": [{"basis": "sold", "from": "5000", "percent": "101"}]}
    assert fields(ProgramIn, bad) == {"discount_rules.0.percent"}
    assert fields(PromotionIn, {**PROMOTION, "rules": [{"from": "0", "percent": "100.01"}]}) == {"rules.0.percent"}


def test_a_negative_threshold_is_refused() -> None:
    bad = {**SEED_PROGRAM, "discount_rules": [{"basis": "sold", "from": "-1", "percent": "5"}]}
    assert fields(ProgramIn, bad) == {"discount_rules.0.from"}
    bad_level = {**SEED_PROGRAM, "level_rules": [{"level": "gold", "visits_from": -3}]}
    assert fields(ProgramIn, bad_level) == {"level_rules.0.visits_from"}


def test_overlapping_tiers_and_rules_are_refused() -> None:
    tiers = {**PROMOTION, "rules": [{"from": "0", "percent": "3"}, {"from": "0", "percent": "5"}]}
    assert fields(PromotionIn, tiers) == {"rules"}
    discounts = {
        **SEED_PROGRAM,
        "discount_rules": [
            {"basis": "sold", "from": "5000", "percent": "5"},
            {"basis": "sold", "from": "5000", "percent": "7"},
        ],
    }
    assert fields(ProgramIn, discounts) == {"discount_rules"}


def test_levels_must_climb_and_each_appears_once() -> None:
    easier_gold = {
        **SEED_PROGRAM,
        "level_rules": [{"level": "silver", "visits_from": 30}, {"level": "gold", "visits_from": 20}],
    }
    assert fields(ProgramIn, easier_gold) == {"level_rules"}
    twice = {**SEED_PROGRAM, "level_rules": [{"level": "gold", "visits_from": 3}, {"level": "gold", "visits_from": 5}]}
    assert fields(ProgramIn, twice) == {"level_rules"}
    assert fields(ProgramIn, {**SEED_PROGRAM, "level_rules": [{"level": "platinum", "visits_from": 3}]}) == {
        "level_rules.0.level"
    }


def test_a_visits_threshold_is_whole() -> None:
    bad = {**SEED_PROGRAM, "discount_rules": [{"basis": "visits", "from": "2.5", "percent": "5"}]}
    assert fields(ProgramIn, bad) == {"discount_rules.0"}


def test_fixed_and_tiered_promotions_take_percent_or_rules() -> None:
    assert PromotionIn.model_validate({**PROMOTION, "type": "fixed_cashback_paid", "percent": "3", "rules": []})
    assert fields(PromotionIn, {**PROMOTION, "type": "fixed_cashback_paid", "rules": []}) == {"percent"}
    assert fields(PromotionIn, {**PROMOTION, "type": "fixed_cashback_paid", "percent": "3"}) == {"rules"}
    assert fields(PromotionIn, {**PROMOTION, "rules": []}) == {"rules"}
    assert fields(PromotionIn, {**PROMOTION, "percent": "3"}) == {"percent"}
    assert fields(PromotionIn, {**PROMOTION, "type": "cashback_for_everyone"}) == {"type"}


def test_promotion_numbers_are_bounded() -> None:
    assert fields(PromotionIn, {**PROMOTION, "every_nth_visit": 0}) == {"every_nth_visit"}
    assert fields(PromotionIn, {**PROMOTION, "max_uses": -1}) == {"max_uses"}
    assert fields(PromotionIn, {**PROMOTION, "card_type_ids": ["not-a-uuid"]}) == {"card_type_ids.0"}
    assert fields(PromotionIn, {**PROMOTION, "burn_after": {"n": 0, "unit": "month"}}) == {"burn_after.n"}
    assert fields(PromotionIn, {**PROMOTION, "rules": [{"from": "0", "percent": 3.5}]}) == {"rules.0.percent"}
