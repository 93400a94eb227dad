"""Pure rules of the membership units inventory sells (services/inventory/membership_rules.py): codes
repeated within a sale, whose code a unit may not take, and a refused unit's line corrected."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.inventory.membership_rules import Holder, code_key, given, refuse, repeats, sale_storage, taken


def test_only_a_chosen_code_is_one_a_single_membership_may_have() -> None:
    assert given("9001") and given("Auto-1")
    assert not given(None) and not given("auto") and not given("AUTO")


def test_codes_compare_case_insensitively_as_the_database_does() -> None:
    assert code_key("gift-1") == code_key("GIFT-1") == "GIFT-1"
    assert code_key("straße") == "STRAßE"  # "ß".upper() is two letters: it stays itself, as upper() in SQL


def test_a_code_given_again_within_a_sale_is_a_repeat_after_its_first_unit() -> None:
    # Quantity 2 with one code; the same code on another line (in another case); auto and none never repeat.
    assert repeats([["9001", "9001"], ["auto", "auto"], None, ["g-1"], ["G-1", "9002"]]) == [(0, 1), (4, 0)]
    assert repeats([["1", "2"], ["3"]]) == []


@pytest.mark.parametrize(
    ("holder", "unconfirmed_too", "expected"),
    [
        (None, True, False),  # nobody holds it
        (Holder("inventory:op:a:0:0", issued=False), True, False),  # this very unit (a retry)
        (Holder("inventory:op:b:0:0", issued=False), True, True),  # the desk: any other holder
        (Holder("inventory:op:b:0:0", issued=False), False, False),  # a visit: another sale not issued yet
        (Holder("old-1", issued=True), False, True),  # a visit: an issued membership's code
    ],
)
def test_whose_code_a_unit_may_not_take(holder: Holder | None, unconfirmed_too: bool, expected: bool) -> None:
    assert taken("inventory:op:a:0:0", holder, unconfirmed_too=unconfirmed_too) is expected


def test_a_membership_line_leaves_its_storage_else_the_location_default_else_none() -> None:
    assert sale_storage("st-1", "st-2") == "st-1"
    assert sale_storage(None, "st-2") == "st-2"
    assert sale_storage(None, None) is None  # sold, no stock moved


def test_a_refused_unit_comes_off_the_line_once() -> None:
    line = {
        "product_id": "p",
        "quantity": "2",
        "price": "7500.00",
        "amount": "15000.00",
        "sales": [{"sale_id": "s0", "code": "9001"}, {"sale_id": "s1", "code": "9001"}],
    }
    once = refuse(line, 1, "code_taken", Decimal("7500.00"))
    assert once == {
        **line,
        "quantity": "1",
        "amount": "7500.00",
        "refused_quantity": "1",
        "refused_amount": "7500.00",
        "sales": [{"sale_id": "s0", "code": "9001"}, {"sale_id": "s1", "code": "9001", "refused": "code_taken"}],
    }
    assert line["quantity"] == "2" and "refused" not in line["sales"][1]  # the given line is not changed
    assert refuse(once, 1, "type_archived", Decimal("7500.00")) == once  # refused before: nothing again
    both = refuse(once, 0, "type_archived", Decimal("7500.00"))
    assert (both["quantity"], both["amount"], both["refused_quantity"], both["refused_amount"]) == (
        "0",
        "0.00",
        "2",
        "15000.00",
    )
    assert refuse(line, 5, "code_taken", Decimal("1")) == line  # no such unit
