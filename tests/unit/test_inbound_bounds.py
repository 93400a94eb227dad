"""What a booking system never sends is refused at validation, naming the field: bounded texts, no text
PostgreSQL cannot store, a quantity that is a JSON integer, times as text, at most 200 lines."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.notifications.handlers import DeliveryReceipt
from shared.events import VisitPaid
from tests.unit.test_events import visit_paid


def refused_at(data: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as exc:
        VisitPaid.model_validate(data)
    return {".".join(str(p) for p in e["loc"]) for e in exc.value.errors()}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("client.name", "A" * 201),
        ("client.phone", "+36" + "1" * 30),
        ("client.name", "An\x00na"),
        ("client.id", "cl-\ud800"),
        ("visit_id", "v" * 129),
    ],
)
def test_a_text_too_long_or_unstorable_is_refused(path: str, value: str) -> None:
    data = visit_paid()
    parent, _, key = path.rpartition(".")
    (data[parent] if parent else data)[key] = value
    assert path in refused_at(data)


def test_the_longest_name_and_phone_pass() -> None:
    data = visit_paid()
    data["client"].update(name="A" * 200, phone="+36 20 123 4567 ext. 1234567890")
    assert VisitPaid.model_validate(data).client.name == "A" * 200


@pytest.mark.parametrize("quantity", [True, "1", 1.0, 10**12, 1e308])
def test_a_quantity_is_a_json_integer_of_at_most_10000(quantity: object) -> None:
    data = visit_paid()
    data["lines"][0]["quantity"] = quantity
    assert "lines.0.quantity" in refused_at(data)


@pytest.mark.parametrize("at", [1_700_000_000, 1.7e9, True, "2026-03-01T10:00:00"])
def test_a_time_is_rfc_3339_text_with_an_offset(at: object) -> None:
    data = visit_paid()
    data["occurred_at"] = at
    assert "occurred_at" in refused_at(data)


def test_at_most_200_lines() -> None:
    data = visit_paid()
    data["lines"] = data["lines"][:1] * 201
    assert refused_at(data) == {"lines"}
    data["lines"] = data["lines"][:200]
    assert len(VisitPaid.model_validate(data).lines) == 200


@pytest.mark.parametrize("chain_id", [[], 0, False, "c" * 129, "ch-\x00"])
def test_a_receipt_names_its_chain_as_text_or_not_at_all(chain_id: object) -> None:
    receipt = {"notification_id": str(uuid.uuid4()), "status": "delivered", "at": "2026-03-01T10:00:00+00:00"}
    assert DeliveryReceipt.model_validate(receipt).chain_id == ""
    assert DeliveryReceipt.model_validate({**receipt, "chain_id": None}).chain_id == ""
    with pytest.raises(ValidationError):
        DeliveryReceipt.model_validate({**receipt, "chain_id": chain_id})


def test_an_operation_took_place_it_is_not_dated_ahead_of_now() -> None:
    """A desk's operation dated tomorrow would sell memberships whose `membership.sold` the memberships
    service dead-letters as `clock_skew`: refused at the desk instead (422 naming occurred_at)."""
    from datetime import UTC, datetime, timedelta

    from pydantic import ValidationError

    from services.inventory.schemas import OperationIn

    line = {"product_id": "p-1", "quantity": "1"}
    soon = datetime.now(UTC) + timedelta(seconds=60)
    assert OperationIn.model_validate({"type": "sale", "lines": [line], "occurred_at": soon}).occurred_at == soon
    with pytest.raises(ValidationError) as refused:
        OperationIn.model_validate(
            {"type": "sale", "lines": [line], "occurred_at": datetime.now(UTC) + timedelta(days=1)}
        )
    assert [e["loc"] for e in refused.value.errors()] == [("occurred_at",)]


def test_a_time_before_year_1_in_utc_is_refused_naming_the_field() -> None:
    """ "0001-01-01T00:00:00+14:00" parses, but no column holds its instant: loyalty and notifications failed
    on it in their handlers (found by the hostile suite). Year 1 itself is still a time."""
    from pydantic import ValidationError

    from shared.events import VisitStatus

    status = {
        "event_id": "e-1",
        "occurred_at": "2026-03-01T10:00:00+00:00",
        "chain_id": "ch-1",
        "location_id": "loc-1",
        "visit_id": "v-1",
        "client": {"id": "cl-1"},
        "services": [],
    }
    assert VisitStatus.model_validate({**status, "scheduled_at": "0001-01-01T00:00:00+00:00"}).scheduled_at.year == 1
    with pytest.raises(ValidationError) as refused:
        VisitStatus.model_validate({**status, "scheduled_at": "0001-01-01T00:00:00+14:00"})
    assert [e["loc"] for e in refused.value.errors()] == [("scheduled_at",)]


def test_a_visit_line_holds_at_most_what_200_lines_of_can_add_up_to_in_numeric_14_2() -> None:
    from pydantic import ValidationError

    from shared.events import VisitLine
    from shared.events.inbound import MAX_LINE_AMOUNT, MAX_LINES

    assert MAX_LINE_AMOUNT * MAX_LINES < Decimal("1000000000000")
    line = {"kind": "service", "item_id": "s-1", "quantity": 1, "sold": str(MAX_LINE_AMOUNT), "paid": "0"}
    assert VisitLine.model_validate(line).sold == MAX_LINE_AMOUNT
    with pytest.raises(ValidationError) as refused:
        VisitLine.model_validate({**line, "sold": "5000000000.00"})
    assert [e["loc"] for e in refused.value.errors()] == [("sold",)]
