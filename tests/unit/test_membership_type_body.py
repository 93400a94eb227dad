"""The membership type HTTP body (services/memberships/schemas.py: MembershipTypeIn)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.memberships.domain import OVERALL, MembershipType, TypeService, Validity
from services.memberships.schemas import MembershipTypeIn

# The membership type body of docs/contract.md, verbatim.
CONTRACT_BODY = """
{"name": "Massage membership", "balance": "split",
 "services": [{"service_id": "svc-massage", "category_id": "cat-body", "visits": 10}],
 "total_visits": null,
 "price": "8000",
 "validity": {"period": 3, "unit": "month", "counted_from": "first_visit"},
 "auto_activation_days": 30,
 "freeze": {"allowed": true, "max_days": 14},
 "allow_without_code": false, "recalculate_service_cost": true,
 "editing": "all_locations", "online_sale": true, "location_ids": ["loc-1", "loc-2"]}
"""


def body() -> dict[str, Any]:
    return json.loads(CONTRACT_BODY)


def overall_body() -> dict[str, Any]:
    data = body()
    data.update(
        balance="overall",
        total_visits=10,
        services=[{"service_id": "svc-massage"}, {"service_id": "svc-sauna", "category_id": "cat-body"}],
    )
    return data


def invalid_locs(data: dict[str, Any]) -> list[tuple[int | str, ...]]:
    with pytest.raises(ValidationError) as exc:
        MembershipTypeIn.model_validate(data)
    return [tuple(e["loc"]) for e in exc.value.errors()]


# --- valid bodies -------------------------------------------------------------------------------


def test_contract_body_is_valid() -> None:
    t = MembershipTypeIn.model_validate_json(CONTRACT_BODY)
    assert t.name == "Massage membership"
    assert t.balance == "split"
    assert t.total_visits is None
    assert t.price == Decimal("8000")
    assert t.validity.period == 3
    assert t.validity.unit == "month"
    assert t.validity.counted_from == "first_visit"
    assert t.freeze.allowed is True and t.freeze.max_days == 14
    assert t.location_ids == ["loc-1", "loc-2"]


def test_overall_body_with_total_visits_is_valid() -> None:
    t = MembershipTypeIn.model_validate(overall_body())
    assert t.total_visits == 10
    assert [s.visits for s in t.services] == [None, None]


def test_minimal_body_takes_the_defaults() -> None:
    t = MembershipTypeIn.model_validate(
        {"name": "M", "balance": "split", "price": "100", "services": [{"service_id": "svc-a", "visits": 1}]}
    )
    assert (t.validity.period, t.validity.unit, t.validity.counted_from) == (0, "month", "sale")
    assert t.freeze.allowed is False and t.freeze.max_days == 0
    assert t.allow_without_code is False
    assert t.recalculate_service_cost is False
    assert t.editing == "none"
    assert t.online_sale is False
    assert t.location_ids == []
    assert t.auto_activation_days is None


def test_unknown_fields_in_the_body_are_ignored() -> None:
    data = body()
    data["colour"] = "blue"
    data["services"][0]["extra"] = 1
    assert MembershipTypeIn.model_validate(data) == MembershipTypeIn.model_validate_json(CONTRACT_BODY)


# --- invalid bodies -----------------------------------------------------------------------------


def test_split_without_visits_on_a_service_fails_on_services() -> None:
    data = body()
    data["services"].append({"service_id": "svc-sauna"})
    assert ("services",) in invalid_locs(data)


def test_overall_without_total_visits_fails_on_total_visits() -> None:
    data = overall_body()
    del data["total_visits"]
    assert ("total_visits",) in invalid_locs(data)


def test_overall_with_null_total_visits_fails_on_total_visits() -> None:
    data = overall_body()
    data["total_visits"] = None
    assert ("total_visits",) in invalid_locs(data)


@pytest.mark.parametrize("total", [0, -3])
def test_overall_with_total_visits_below_one_fails(total: int) -> None:
    data = overall_body()
    data["total_visits"] = total
    assert ("total_visits",) in invalid_locs(data)


def test_split_with_total_visits_fails_on_total_visits() -> None:
    data = body()
    data["total_visits"] = 10
    assert ("total_visits",) in invalid_locs(data)


@pytest.mark.parametrize("make", [body, overall_body], ids=["split", "overall"])
def test_duplicate_service_ids_fail_on_services(make: Any) -> None:
    data = make()
    data["services"].append(dict(data["services"][0]))
    assert ("services",) in invalid_locs(data)


def test_no_services_fails_on_services() -> None:
    data = body()
    data["services"] = []
    assert ("services",) in invalid_locs(data)


@pytest.mark.parametrize("unit", ["decade", "months", "hour", ""])
def test_unknown_validity_unit_fails(unit: str) -> None:
    data = body()
    data["validity"]["unit"] = unit
    assert ("validity", "unit") in invalid_locs(data)


def test_unknown_counted_from_fails() -> None:
    data = body()
    data["validity"]["counted_from"] = "activation"
    assert ("validity", "counted_from") in invalid_locs(data)


def test_negative_validity_period_fails() -> None:
    data = body()
    data["validity"]["period"] = -1
    assert ("validity", "period") in invalid_locs(data)


@pytest.mark.parametrize("price", ["12.345", "-1", 8000.0, "abc"])
def test_invalid_price_fails_on_price(price: object) -> None:
    data = body()
    data["price"] = price
    assert ("price",) in invalid_locs(data)


def test_unknown_balance_fails_on_balance() -> None:
    data = body()
    data["balance"] = "shared"
    assert ("balance",) in invalid_locs(data)


def test_blank_name_fails_on_name() -> None:
    data = body()
    data["name"] = "   "
    assert ("name",) in invalid_locs(data)


def test_unknown_editing_fails_on_editing() -> None:
    data = body()
    data["editing"] = "anywhere"
    assert ("editing",) in invalid_locs(data)


@pytest.mark.parametrize("visits", [0, -1])
def test_service_visits_below_one_fail(visits: int) -> None:
    data = body()
    data["services"][0]["visits"] = visits
    assert ("services", 0, "visits") in invalid_locs(data)


# --- to_domain ----------------------------------------------------------------------------------


def test_to_domain_maps_every_field_of_the_contract_body() -> None:
    t = MembershipTypeIn.model_validate_json(CONTRACT_BODY).to_domain("type-1", "ch-1")
    assert t == MembershipType(
        id="type-1",
        chain_id="ch-1",
        name="Massage membership",
        balance="split",
        services=(TypeService("svc-massage", "cat-body", 10),),
        price=Decimal("8000"),
        total_visits=None,
        validity=Validity(3, "month", "first_visit"),
        auto_activation_days=30,
        freeze_allowed=True,
        freeze_max_days=14,
        allow_without_code=False,
        recalculate_service_cost=True,
        editing="all_locations",
        online_sale=True,
        location_ids=("loc-1", "loc-2"),
        archived=False,
    )


def test_to_domain_of_the_contract_body_gives_the_contract_service_cost() -> None:
    t = MembershipTypeIn.model_validate_json(CONTRACT_BODY).to_domain("type-1", "ch-1")
    assert t.initial_balance() == {"svc-massage": 10}
    assert t.service_cost() == Decimal("800.00")


def test_to_domain_of_overall_drops_per_service_visits() -> None:
    data = overall_body()
    data["services"][0]["visits"] = 4  # ignored for an overall type
    t = MembershipTypeIn.model_validate(data).to_domain("type-2", "ch-1")
    assert t.balance == "overall"
    assert t.total_visits == 10
    assert t.services == (TypeService("svc-massage", None, None), TypeService("svc-sauna", "cat-body", None))
    assert t.initial_balance() == {OVERALL: 10}


def test_to_domain_uses_tuples_for_the_frozen_domain_object() -> None:
    t = MembershipTypeIn.model_validate_json(CONTRACT_BODY).to_domain("type-1", "ch-1")
    assert isinstance(t.services, tuple)
    assert isinstance(t.location_ids, tuple)
    hash(t.validity)
