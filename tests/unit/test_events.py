"""The contract models (shared/events.py) against docs/contract.md."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel, ValidationError

from shared.events import (
    MembershipDeducted,
    MembershipRef,
    MembershipSold,
    MembershipTypeChanged,
    VisitLine,
    VisitPaid,
)

M = TypeVar("M", bound=BaseModel)

# The `visit.paid` example of docs/contract.md, verbatim.
VISIT_PAID_EXAMPLE = """
{
  "event_id": "e-1001", "occurred_at": "2026-03-01T10:40:00+00:00",
  "chain_id": "ch-1", "location_id": "loc-1",
  "visit_id": "v-77",
  "client": {"id": "cl-5", "phone": "+36201234567", "name": "Anna"},
  "loyalty_card_id": null,
  "bonus_spent": "0",
  "lines": [
    {"kind": "service", "item_id": "svc-massage", "category_id": "cat-body", "quantity": 1,
     "sold": "1000", "paid": "0", "membership": {"code": "4567"}},
    {"kind": "product", "item_id": "prod-oil", "storage_id": "st-1", "quantity": 2,
     "sold": "300", "paid": "300"},
    {"kind": "membership", "item_id": "<membership_type_id>", "quantity": 1,
     "sold": "8000", "paid": "8000", "code": "9001"}
  ]
}
"""

TYPE_ID = "0b6f3c1e-3f4a-4c55-9a8e-2d7f5b1c9e01"

# The `membership.sold` example of docs/contract.md, with its placeholders ("...", "<uuid>") filled in.
MEMBERSHIP_SOLD_EXAMPLE = """
{"event_id": "e-2001", "occurred_at": "2026-03-01T10:40:00+00:00", "chain_id": "ch-1", "location_id": "loc-1",
 "sale_id": "s-1", "membership_type_id": "0b6f3c1e-3f4a-4c55-9a8e-2d7f5b1c9e01", "code": "9001",
 "client": {"id": "cl-5", "phone": "+36201234567"}, "price": "8000"}
"""


def visit_paid() -> dict[str, Any]:
    return json.loads(VISIT_PAID_EXAMPLE)


def membership_sold() -> dict[str, Any]:
    return json.loads(MEMBERSHIP_SOLD_EXAMPLE)


def error_locs(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[int | str, ...]]:
    return [tuple(e["loc"]) for e in exc.value.errors()]


def parse_both_ways(model: type[M], data: dict[str, Any]) -> M:
    """Validate as Python data and as JSON bytes (what the consumers actually do): the same model."""
    from_python = model.model_validate(data)
    from_json = model.model_validate_json(json.dumps(data))
    assert from_json == from_python
    return from_json


# --- visit.paid ---------------------------------------------------------------------------------


def test_visit_paid_parses_the_contract_example() -> None:
    v = VisitPaid.model_validate_json(VISIT_PAID_EXAMPLE)
    assert v.event_id == "e-1001"
    assert v.occurred_at == datetime(2026, 3, 1, 10, 40, tzinfo=UTC)
    assert (v.chain_id, v.location_id, v.visit_id) == ("ch-1", "loc-1", "v-77")
    assert (v.client.id, v.client.phone, v.client.name) == ("cl-5", "+36201234567", "Anna")
    assert v.loyalty_card_id is None
    assert v.bonus_spent == Decimal("0")
    assert [line.kind for line in v.lines] == ["service", "product", "membership"]

    service, product, membership = v.lines
    assert service.item_id == "svc-massage"
    assert service.category_id == "cat-body"
    assert service.quantity == 1
    assert (service.sold, service.paid) == (Decimal("1000"), Decimal("0"))
    assert service.membership == MembershipRef(code="4567")
    assert product.storage_id == "st-1"
    assert product.quantity == 2
    assert product.membership is None
    assert membership.item_id == "<membership_type_id>"
    assert membership.code == "9001"


def test_visit_paid_totals_are_sums_over_lines() -> None:
    v = VisitPaid.model_validate_json(VISIT_PAID_EXAMPLE)
    assert v.sold_total == Decimal("9300")
    assert v.paid_total == Decimal("8300")


def test_visit_paid_without_lines_totals_zero() -> None:
    data = visit_paid()
    data["lines"] = []
    v = VisitPaid.model_validate(data)
    assert v.sold_total == Decimal("0")
    assert v.paid_total == Decimal("0")


def test_visit_paid_totals_keep_cents_exact() -> None:
    data = visit_paid()
    data["lines"] = [
        {"kind": "service", "item_id": f"svc-{i}", "quantity": 1, "sold": "0.10", "paid": "0.20"} for i in range(3)
    ]
    v = VisitPaid.model_validate(data)
    assert v.sold_total == Decimal("0.30")
    assert v.paid_total == Decimal("0.60")


def test_unknown_fields_are_ignored() -> None:
    data = visit_paid()
    data["new_top_level_field"] = {"anything": 1}
    data["client"]["favourite_colour"] = "green"
    data["lines"][0]["discount_reason"] = "promo"
    data["lines"][0]["membership"]["note"] = "x"
    v = VisitPaid.model_validate_json(json.dumps(data))
    assert v == VisitPaid.model_validate_json(VISIT_PAID_EXAMPLE)
    assert "new_top_level_field" not in v.model_dump()


@pytest.mark.parametrize("field", ["sold", "paid"])
def test_money_given_as_a_float_is_rejected(field: str) -> None:
    data = visit_paid()
    data["lines"][0][field] = 12.5
    with pytest.raises(ValidationError) as exc:
        VisitPaid.model_validate(data)
    assert ("lines", 0, field) in error_locs(exc)
    with pytest.raises(ValidationError) as exc:
        VisitPaid.model_validate_json(json.dumps(data))
    assert ("lines", 0, field) in error_locs(exc)


def test_bonus_spent_given_as_a_float_is_rejected() -> None:
    data = visit_paid()
    data["bonus_spent"] = 0.0
    with pytest.raises(ValidationError) as exc:
        VisitPaid.model_validate_json(json.dumps(data))
    assert ("bonus_spent",) in error_locs(exc)


def test_money_given_as_a_bool_is_rejected() -> None:
    data = visit_paid()
    data["lines"][0]["sold"] = True
    with pytest.raises(ValidationError):
        VisitPaid.model_validate(data)


@pytest.mark.parametrize("value", ["12.345", "0.001", "8000.999"])
def test_money_with_more_than_two_decimals_is_rejected(value: str) -> None:
    data = visit_paid()
    data["lines"][1]["sold"] = value
    with pytest.raises(ValidationError) as exc:
        VisitPaid.model_validate(data)
    assert ("lines", 1, "sold") in error_locs(exc)


@pytest.mark.parametrize("value", ["8000", "800.00", "0.1", "0"])
def test_money_with_at_most_two_decimals_is_accepted(value: str) -> None:
    data = visit_paid()
    data["lines"][1]["sold"] = value
    assert VisitPaid.model_validate(data).lines[1].sold == Decimal(value)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "abc", ""])
def test_money_that_is_not_a_finite_number_is_rejected(value: str) -> None:
    data = visit_paid()
    data["lines"][1]["paid"] = value
    with pytest.raises(ValidationError):
        VisitPaid.model_validate(data)


@pytest.mark.parametrize(("field", "value"), [("sold", "-1"), ("paid", "-0.01"), ("sold", "-1000")])
def test_negative_line_money_is_rejected(field: str, value: str) -> None:
    data = visit_paid()
    data["lines"][0][field] = value
    with pytest.raises(ValidationError) as exc:
        VisitPaid.model_validate(data)
    assert ("lines", 0, field) in error_locs(exc)


def test_negative_bonus_spent_is_rejected() -> None:
    data = visit_paid()
    data["bonus_spent"] = "-5"
    with pytest.raises(ValidationError) as exc:
        VisitPaid.model_validate(data)
    assert ("bonus_spent",) in error_locs(exc)


@pytest.mark.parametrize("value", ["2026-03-01T10:40:00", "2026-03-01 10:40:00"])
def test_time_without_an_offset_is_rejected(value: str) -> None:
    data = visit_paid()
    data["occurred_at"] = value
    with pytest.raises(ValidationError) as exc:
        VisitPaid.model_validate_json(json.dumps(data))
    assert ("occurred_at",) in error_locs(exc)


@pytest.mark.parametrize("value", ["2026-03-01T10:40:00+01:00", "2026-03-01T09:40:00Z"])
def test_time_with_an_offset_is_accepted(value: str) -> None:
    data = visit_paid()
    data["occurred_at"] = value
    v = VisitPaid.model_validate_json(json.dumps(data))
    assert v.occurred_at.utcoffset() is not None
    assert v.occurred_at == datetime(2026, 3, 1, 9, 40, tzinfo=UTC)


@pytest.mark.parametrize("quantity", [0, -1])
def test_quantity_below_one_is_rejected(quantity: int) -> None:
    data = visit_paid()
    data["lines"][0]["quantity"] = quantity
    with pytest.raises(ValidationError) as exc:
        VisitPaid.model_validate(data)
    assert ("lines", 0, "quantity") in error_locs(exc)


def test_unknown_line_kind_is_rejected() -> None:
    data = visit_paid()
    data["lines"][0]["kind"] = "gift"
    with pytest.raises(ValidationError) as exc:
        VisitPaid.model_validate(data)
    assert ("lines", 0, "kind") in error_locs(exc)


@pytest.mark.parametrize("field", ["event_id", "occurred_at", "chain_id", "location_id", "visit_id", "client"])
def test_visit_paid_requires_its_envelope_and_visit_fields(field: str) -> None:
    data = visit_paid()
    del data[field]
    with pytest.raises(ValidationError) as exc:
        VisitPaid.model_validate(data)
    assert (field,) in error_locs(exc)


def test_blank_ids_are_rejected() -> None:
    data = visit_paid()
    data["chain_id"] = "   "
    with pytest.raises(ValidationError) as exc:
        VisitPaid.model_validate(data)
    assert ("chain_id",) in error_locs(exc)


def test_visit_paid_is_immutable() -> None:
    v = VisitPaid.model_validate_json(VISIT_PAID_EXAMPLE)
    with pytest.raises(ValidationError):
        v.visit_id = "v-other"  # type: ignore[misc]


# --- MembershipRef ------------------------------------------------------------------------------


def test_membership_ref_by_code() -> None:
    ref = MembershipRef.model_validate({"code": " 4567 "})
    assert ref.code == "4567"
    assert ref.id is None


def test_membership_ref_by_id() -> None:
    mid = uuid.uuid4()
    ref = MembershipRef.model_validate({"id": str(mid)})
    assert ref.id == mid
    assert ref.code is None


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"code": None, "id": None},
        {"code": "4567", "id": "0b6f3c1e-3f4a-4c55-9a8e-2d7f5b1c9e01"},
    ],
    ids=["neither", "both_null", "both"],
)
def test_membership_ref_needs_exactly_one_of_code_or_id(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        MembershipRef.model_validate(data)


def test_membership_ref_id_must_be_a_uuid() -> None:
    with pytest.raises(ValidationError):
        MembershipRef.model_validate({"id": "not-a-uuid"})


def test_membership_ref_blank_code_is_rejected() -> None:
    with pytest.raises(ValidationError):
        MembershipRef.model_validate({"code": "   "})


def test_line_with_an_invalid_membership_ref_is_rejected_on_that_field() -> None:
    data = visit_paid()
    data["lines"][0]["membership"] = {}
    with pytest.raises(ValidationError) as exc:
        VisitPaid.model_validate(data)
    assert any(loc[:3] == ("lines", 0, "membership") for loc in error_locs(exc))


# --- Money serialization ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("800.00", "800.00"),
        ("8000", "8000.00"),
        ("0.10", "0.10"),
        ("0", "0.00"),
        ("12.5", "12.50"),
        ("12.340", "12.34"),
    ],
)
def test_money_serializes_as_a_string_with_two_decimals(value: str, wire: str) -> None:
    line = VisitLine(kind="service", item_id="svc-massage", quantity=1, sold=value, paid=value)  # type: ignore[arg-type]
    dumped = json.loads(line.model_dump_json())
    assert dumped["sold"] == wire
    assert dumped["paid"] == wire
    assert isinstance(dumped["sold"], str)
    assert f'"sold":"{wire}"' in line.model_dump_json()


@pytest.mark.parametrize("value", ["1e2", "12.345", "12.3451", " ", "8,000", "0x10"])
def test_money_refuses_exponents_and_more_than_two_decimals(value: str) -> None:
    with pytest.raises(ValidationError):
        VisitLine(kind="service", item_id="svc-massage", quantity=1, sold=value, paid="0")  # type: ignore[arg-type]


def test_money_stays_a_decimal_in_python_dumps() -> None:
    line = VisitLine(kind="service", item_id="x", quantity=1, sold="800.00", paid="0")  # type: ignore[arg-type]
    assert line.model_dump()["sold"] == Decimal("800.00")
    assert line.model_dump(mode="json")["sold"] == "800.00"


def test_money_round_trips_through_json() -> None:
    v = VisitPaid.model_validate_json(VISIT_PAID_EXAMPLE)
    again = VisitPaid.model_validate_json(v.model_dump_json())
    assert again == v


def test_domain_event_service_cost_serializes_as_a_string() -> None:
    event = MembershipDeducted(
        chain_id="ch-1",
        location_id="loc-1",
        membership_id=uuid.uuid4(),
        code="4567",
        type_name="Massage membership",
        client={"id": "cl-5"},  # type: ignore[arg-type]
        visit_id="v-77",
        service_id="svc-massage",
        units=1,
        visits_left=9,
        balance={"svc-massage": 9},
        service_cost=Decimal("800.00"),
        valid_until=None,
    )
    dumped = json.loads(event.model_dump_json())
    assert dumped["service_cost"] == "800.00"
    assert dumped["cause"] == "paid"
    assert dumped["occurred_at"].endswith(("+00:00", "Z"))
    uuid.UUID(dumped["event_id"])


def test_membership_type_changed_price_serializes_as_a_string() -> None:
    event = MembershipTypeChanged(
        chain_id="ch-1",
        membership_type_id=uuid.uuid4(),
        name="Massage membership",
        price=Decimal("8000.50"),
        archived=False,
        balance="split",
        services=[{"service_id": "svc-massage", "visits": 10}],  # type: ignore[list-item]
        total_visits=None,
        allow_without_code=False,
        online_sale=True,
        location_ids=["loc-1"],
    )
    assert json.loads(event.model_dump_json())["price"] == "8000.50"


def test_domain_events_get_distinct_ids_and_aware_times() -> None:
    make = lambda: MembershipDeducted(  # noqa: E731
        chain_id="ch-1",
        membership_id=uuid.uuid4(),
        code=None,
        type_name="t",
        client={"id": "cl-5"},
        visit_id="v",
        service_id="s",
        units=1,  # type: ignore[arg-type]
        visits_left=0,
        balance={},
        valid_until=None,
    )
    a, b = make(), make()
    assert a.event_id != b.event_id
    assert a.occurred_at.utcoffset() == timedelta(0)


# --- membership.sold ----------------------------------------------------------------------------


def test_membership_sold_parses_the_contract_example() -> None:
    s = MembershipSold.model_validate_json(MEMBERSHIP_SOLD_EXAMPLE)
    assert s.membership_type_id == uuid.UUID(TYPE_ID)
    assert isinstance(s.membership_type_id, uuid.UUID)
    assert s.code == "9001"
    assert s.price == Decimal("8000")
    assert s.sale_id == "s-1"
    assert (s.client.id, s.client.phone) == ("cl-5", "+36201234567")
    assert (s.chain_id, s.location_id) == ("ch-1", "loc-1")


@pytest.mark.parametrize("code", [None, "auto", "9001"])
def test_membership_sold_code_may_be_null_auto_or_given(code: str | None) -> None:
    data = membership_sold()
    data["code"] = code
    assert MembershipSold.model_validate(data).code == code


def test_membership_sold_without_code_field_means_no_code() -> None:
    data = membership_sold()
    del data["code"]
    assert MembershipSold.model_validate(data).code is None


def test_membership_sold_channel_is_the_desk_or_online_and_the_desk_by_default() -> None:
    data = membership_sold()
    assert MembershipSold.model_validate(data).channel == "desk"
    assert MembershipSold.model_validate({**data, "channel": "online"}).channel == "online"
    for wrong in ("web", "", 5, None):
        with pytest.raises(ValidationError) as exc:
            MembershipSold.model_validate({**data, "channel": wrong})
        assert ("channel",) in error_locs(exc)


def test_a_desk_sale_serializes_as_before_the_channel_existed() -> None:
    """The inbox digest of a sale published before `channel` existed stays the same when it is redelivered
    (the consumer's digest is the model's serialization): a desk sale leaves the field out."""
    data = membership_sold()
    assert "channel" not in json.loads(MembershipSold.model_validate(data).model_dump_json())
    assert json.loads(MembershipSold.model_validate({**data, "channel": "online"}).model_dump_json())["channel"] == (
        "online"
    )


def test_membership_sold_type_id_must_be_a_uuid() -> None:
    data = membership_sold()
    data["membership_type_id"] = "<uuid>"
    with pytest.raises(ValidationError) as exc:
        MembershipSold.model_validate(data)
    assert ("membership_type_id",) in error_locs(exc)


@pytest.mark.parametrize("price", [8000.0, "-1", "80.001"])
def test_membership_sold_price_must_be_non_negative_money_string(price: object) -> None:
    data = membership_sold()
    data["price"] = price
    with pytest.raises(ValidationError) as exc:
        MembershipSold.model_validate_json(json.dumps(data))
    assert ("price",) in error_locs(exc)


def test_membership_sold_parses_as_python_data_and_json() -> None:
    sold = parse_both_ways(MembershipSold, membership_sold())
    assert (sold.sale_id, sold.code, sold.price, sold.client.phone) == ("s-1", "9001", Decimal("8000"), "+36201234567")
    assert sold.membership_type_id == uuid.UUID(TYPE_ID)
    visit = parse_both_ways(VisitPaid, visit_paid())
    assert (visit.visit_id, visit.sold_total, visit.paid_total) == ("v-77", Decimal("9300"), Decimal("8300"))
    assert visit.occurred_at == datetime(2026, 3, 1, 10, 40, tzinfo=UTC)
