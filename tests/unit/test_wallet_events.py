"""The wallet's contract additions: gift card lines and instrument payments in `visit.paid`,
`gift_card.sold`, `account.deposit`: each bound refused at validation, naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.events import AccountDeposit, GiftCardSold, VisitPaid
from shared.events.inbound import MAX_LINE_PAYMENTS, MAX_MEMBERSHIP_UNITS

ENVELOPE = {"event_id": "e-1", "occurred_at": "2026-03-01T10:00:00+00:00", "chain_id": "ch-1", "location_id": "l-1"}
CARD = {"instrument": "gift_card", "gift_card": {"code": "G-1"}, "amount": "500.00"}
ACCOUNT = {"instrument": "account", "amount": "300.00"}


def visit(*lines: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**ENVELOPE, "visit_id": "v-1", "client": {"id": "c-1"}, "lines": list(lines), **fields}


def line(**fields: Any) -> dict[str, Any]:
    return {"kind": "service", "item_id": "s-1", "quantity": 1, "sold": "1000", "paid": "1000", **fields}


def test_a_line_paid_with_a_card_and_the_account_within_its_paid() -> None:
    v = VisitPaid.model_validate(visit(line(payments=[CARD, ACCOUNT]), partial_payments=True))
    assert [p.instrument for p in v.lines[0].payments] == ["gift_card", "account"]
    assert v.partial_payments is True


def test_payments_beyond_the_lines_paid_are_refused() -> None:
    with pytest.raises(ValidationError, match="more than the line's paid"):
        VisitPaid.model_validate(visit(line(paid="700", payments=[CARD, ACCOUNT])))


@pytest.mark.parametrize(
    ("payment", "message"),
    [
        ({"instrument": "gift_card", "amount": "1"}, "names its card"),
        ({"instrument": "account", "gift_card": {"code": "G-1"}, "amount": "1"}, "names no gift card"),
        ({"instrument": "gift_card", "gift_card": {"code": "G-1", "id": None}, "amount": "0"}, "greater than 0"),
        ({"instrument": "gift_card", "gift_card": {}, "amount": "1"}, "exactly one of gift_card.code"),
        ({"instrument": "cash", "amount": "1"}, "instrument"),
        ({"instrument": "account", "amount": 1.5}, "decimal string"),
    ],
)
def test_a_malformed_payment_is_refused(payment: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        VisitPaid.model_validate(visit(line(payments=[payment])))


def test_a_line_names_at_most_so_many_payments() -> None:
    small = {"instrument": "account", "amount": "1"}
    VisitPaid.model_validate(visit(line(payments=[small] * MAX_LINE_PAYMENTS)))
    with pytest.raises(ValidationError, match="payments"):
        VisitPaid.model_validate(visit(line(payments=[small] * (MAX_LINE_PAYMENTS + 1))))


def test_gift_card_units_are_bounded_per_line_and_per_visit() -> None:
    gift = {"kind": "gift_card", "item_id": "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "sold": "1", "paid": "1"}
    VisitPaid.model_validate(visit({**gift, "quantity": MAX_MEMBERSHIP_UNITS, "code": "auto"}))
    with pytest.raises(ValidationError, match="gift_card line sells at most 100 gift cards"):
        VisitPaid.model_validate(visit({**gift, "quantity": MAX_MEMBERSHIP_UNITS + 1}))
    half = MAX_MEMBERSHIP_UNITS // 2 + 1
    with pytest.raises(ValidationError, match="gift cards; a visit sells at most"):
        VisitPaid.model_validate(visit({**gift, "quantity": half}, {**gift, "quantity": half}))


def test_the_new_fields_absent_keep_a_visits_serialization_and_so_its_inbox_digest() -> None:
    v = VisitPaid.model_validate(visit(line()))
    dumped = v.model_dump(mode="json")
    assert "partial_payments" not in dumped
    assert set(dumped["lines"][0]) == {"kind", "item_id", "category_id", "storage_id", "quantity", "sold", "paid",
                                       "membership", "code"}  # fmt: skip


def test_a_gift_card_sale_names_a_type_by_uuid_and_a_bounded_holder() -> None:
    sale = {**ENVELOPE, "sale_id": "s-1", "gift_card_type_id": "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
            "client": {"id": "c-1"}, "price": "9000"}  # fmt: skip
    assert GiftCardSold.model_validate(sale).channel == "desk"
    with pytest.raises(ValidationError, match="gift_card_type_id"):
        GiftCardSold.model_validate({**sale, "gift_card_type_id": "not-a-uuid"})
    with pytest.raises(ValidationError, match=r"holder\.name"):
        GiftCardSold.model_validate({**sale, "holder": {"id": "c-2", "name": "x" * 201}})
    with pytest.raises(ValidationError, match="code"):
        GiftCardSold.model_validate({**sale, "code": "x" * 33})


@pytest.mark.parametrize(
    ("change", "field"),
    [({"amount": "0"}, "amount"), ({"method": "cheque"}, "method"), ({"comment": "x" * 501}, "comment"),
     ({"amount": "5000000000.00"}, "amount")],
)  # fmt: skip
def test_a_deposit_is_positive_bounded_and_says_how_it_was_paid(change: dict[str, Any], field: str) -> None:
    deposit = {**ENVELOPE, "deposit_id": "d-1", "client": {"id": "c-1"}, "amount": "5000", "method": "cash"}
    assert AccountDeposit.model_validate(deposit).amount == 5000
    with pytest.raises(ValidationError, match=field):
        AccountDeposit.model_validate({**deposit, **change})
