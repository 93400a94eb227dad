"""Pure inventory rules (services/inventory/domain.py): no I/O."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.inventory.domain import (
    BillOfMaterials,
    Line,
    LowReason,
    OpType,
    code_problem,
    consumables_storage,
    consumption,
    may_go_negative,
    membership_product_id,
    membership_product_locations,
    movements,
    pick_bill,
    quantity_problem,
    quantity_text,
    service_quantities,
    shortfall,
    stock_alert,
    take,
)
from shared.sales import membership_units, split_amount

D = Decimal


# --- quantities ---


@pytest.mark.parametrize(
    ("quantity", "unit", "problem"),
    [
        (D("2"), "pcs", None),
        (D("2.000"), "pcs", None),  # what NUMERIC(14,3) answers is still a whole number
        (D("0.5"), "ml", None),
        (D("0.125"), "g", None),
        (D("0.5"), "pcs", "pieces are counted in whole numbers"),
        (D("0"), "pcs", "quantity must be greater than 0"),
        (D("-1"), "ml", "quantity must be greater than 0"),
        (D("0.0001"), "ml", "quantity has at most 3 decimals"),
        (D("1.2500"), "ml", None),  # trailing zeros are not decimals
    ],
)
def test_quantity_rules(quantity: Decimal, unit: str, problem: str | None) -> None:
    assert quantity_problem(quantity, unit) == problem


def test_quantities_are_written_without_trailing_zeros_or_exponents() -> None:
    assert [quantity_text(q) for q in (D("2.000"), D("0.500"), D("100"), D("-1.250"), D("-0"))] == [
        "2",
        "0.5",
        "100",
        "-1.25",
        "0",
    ]


# --- stock arithmetic ---


def test_an_arrival_adds_and_a_sale_or_write_off_takes() -> None:
    lines = [Line("oil", D("3")), Line("cream", D("1"))]
    assert movements(OpType.ARRIVAL, "st-1", None, lines) == [("st-1", "cream", D(1)), ("st-1", "oil", D(3))]
    assert movements(OpType.SALE, "st-1", None, lines) == [("st-1", "cream", D(-1)), ("st-1", "oil", D(-3))]
    assert movements(OpType.WRITE_OFF, "st-1", None, lines) == [("st-1", "cream", D(-1)), ("st-1", "oil", D(-3))]


def test_a_relocation_takes_from_one_storage_and_adds_to_the_other() -> None:
    assert movements(OpType.RELOCATION, "st-1", "st-2", [Line("oil", D("2.5"))]) == [
        ("st-1", "oil", D("-2.5")),
        ("st-2", "oil", D("2.5")),
    ]
    with pytest.raises(ValueError, match="to_storage_id"):
        movements(OpType.RELOCATION, "st-1", None, [Line("oil", D(1))])


def test_two_lines_of_one_product_make_one_movement_and_the_order_is_fixed() -> None:
    moved = movements(OpType.SALE, "st-1", None, [Line("zz", D(1)), Line("aa", D(1)), Line("zz", D(2))])
    assert moved == [("st-1", "aa", D(-1)), ("st-1", "zz", D(-3))]  # sorted: rows lock in one order


def test_only_a_sale_or_an_automatic_write_off_may_take_stock_below_zero() -> None:
    assert may_go_negative(OpType.SALE, automatic=False)
    assert may_go_negative(OpType.WRITE_OFF, automatic=True)  # consumables used at the chair
    assert not may_go_negative(OpType.WRITE_OFF, automatic=False)
    assert not may_go_negative(OpType.RELOCATION, automatic=False)


@pytest.mark.parametrize(
    ("before", "after", "min_stock", "alert"),
    [
        (D(10), D(4), D(5), LowReason.BELOW_MIN),  # fell under the minimum
        (D(5), D(4), D(5), LowReason.BELOW_MIN),  # at the minimum is not under it; 4 is
        (D(10), D(5), D(5), None),  # at the minimum: fine
        (D(4), D(3), D(5), None),  # already under: said once, not again
        (D(1), D(-1), None, LowReason.NEGATIVE),  # below zero, even without a minimum
        (D(3), D(-1), D(5), LowReason.NEGATIVE),  # under the minimum before, below zero now
        (D(-1), D(-2), D(5), None),  # already negative
        (D(-2), D(-1), D(5), None),  # rising says nothing
        (D(10), D(0), None, None),  # zero without a minimum is not low
    ],
)
def test_stock_low_is_said_when_a_balance_falls_under_a_line(
    before: Decimal, after: Decimal, min_stock: Decimal | None, alert: LowReason | None
) -> None:
    assert stock_alert(before, after, min_stock) == alert


# --- memberships as products ---


def test_a_type_has_a_product_per_location_or_one_for_the_chain() -> None:
    assert membership_product_locations(["loc-2", "loc-1", "loc-2"]) == ["loc-1", "loc-2"]
    assert membership_product_locations([]) == [None]


def test_a_membership_product_id_follows_from_chain_type_and_location() -> None:
    a = membership_product_id("ch-1", "t-1", "loc-1")
    assert a == membership_product_id("ch-1", "t-1", "loc-1")
    assert (
        len(
            {
                a,
                membership_product_id("ch-1", "t-1", "loc-2"),
                membership_product_id("ch-2", "t-1", "loc-1"),
                membership_product_id("ch-1", "t-1", None),
            }
        )
        == 4
    )


def test_each_unit_is_a_sale_with_an_id_derived_from_source_line_and_unit() -> None:
    units = membership_units("visit:v-1", 2, 2, ["auto", "auto"])
    assert [(u.sale_id, u.code) for u in units] == [
        ("inventory:visit:v-1:2:0", "auto"),
        ("inventory:visit:v-1:2:1", "auto"),
    ]
    assert membership_units("visit:v-1", 2, 2, ["auto", "auto"]) == units  # a replay names the same sales
    assert [u.code for u in membership_units("op:x", 0, 3, None)] == [None, None, None]
    with pytest.raises(ValueError, match="2 code"):
        membership_units("op:x", 0, 2, ["9001"])


@pytest.mark.parametrize(
    ("codes", "quantity", "without_code", "problem"),
    [
        (["9001"], 1, False, None),
        (["auto", "auto"], 2, False, None),
        (None, 1, True, None),  # a no-code type
        (["9001"], 1, True, None),  # a no-code type may still be given a code
        (None, 1, False, 'a code per unit is needed (or "auto" to generate one)'),
        (["9001"], 2, False, "2 unit(s) need 2 code(s), got 1"),
        (["9001", "9001"], 2, False, "a code is given twice"),
        (["ab1", "AB1"], 2, False, "a code is given twice"),  # codes are case-insensitive
    ],
)
def test_membership_sale_codes(
    codes: list[str | None] | None, quantity: int, without_code: bool, problem: str | None
) -> None:
    assert code_problem(codes, quantity, without_code) == problem


def test_a_line_amount_is_split_over_its_units_to_the_cent() -> None:
    assert split_amount(D("16000"), 2) == [D("8000.00"), D("8000.00")]
    assert split_amount(D("100"), 3) == [D("33.34"), D("33.33"), D("33.33")]
    assert sum(split_amount(D("100"), 3)) == D("100")


# --- consumables ---

OIL, GLOVES = "prod-oil", "prod-gloves"
MASSAGE = BillOfMaterials("svc-massage", "", None, (Line(OIL, D("30")), Line(GLOVES, D("1"))))
MASSAGE_LOC2 = BillOfMaterials("svc-massage", "loc-2", "st-9", (Line(OIL, D("50")),))
PEEL = BillOfMaterials("svc-peel", "loc-1", "st-2", (Line(OIL, D("5")),))


def test_units_of_a_service_add_up_over_lines() -> None:
    assert service_quantities([("a", 1), ("b", 2), ("a", 3)]) == {"a": 4, "b": 2}


def test_the_location_bill_wins_over_the_chain_bill() -> None:
    assert pick_bill([MASSAGE, MASSAGE_LOC2], "svc-massage", "loc-2") == MASSAGE_LOC2
    assert pick_bill([MASSAGE, MASSAGE_LOC2], "svc-massage", "loc-1") == MASSAGE
    assert pick_bill([MASSAGE], "svc-other", "loc-1") is None


def test_consumption_is_the_bill_times_the_units_per_storage() -> None:
    plan = consumption({"svc-massage": 2, "svc-peel": 1, "svc-cut": 1}, [], [MASSAGE, PEEL], "loc-1", "st-1")
    assert plan.per_storage == {"st-1": [Line(GLOVES, D("2")), Line(OIL, D("60"))], "st-2": [Line(OIL, D("5"))]}
    assert plan.services == ["svc-massage", "svc-peel"]  # svc-cut has no bill: nothing, not marked
    assert plan.missing_storage == []


def test_a_service_written_off_before_consumes_nothing_again() -> None:
    plan = consumption({"svc-massage": 1, "svc-peel": 1}, ["svc-massage"], [MASSAGE, PEEL], "loc-1", "st-1")
    assert plan.per_storage == {"st-2": [Line(OIL, D("5"))]}
    assert plan.services == ["svc-peel"]


def test_a_bill_without_a_storage_needs_the_location_storage() -> None:
    plan = consumption({"svc-massage": 1}, [], [MASSAGE], "loc-1", None)
    assert plan.per_storage == {} and plan.services == [] and plan.missing_storage == ["svc-massage"]


def test_a_service_is_wanted_whether_its_storage_is_known_or_not() -> None:
    plan = consumption({"svc-massage": 1, "svc-peel": 1, "svc-cut": 1}, [], [MASSAGE, PEEL], "loc-1", None)
    assert plan.wanted == ["svc-massage", "svc-peel"]  # claimed once per visit; svc-cut has no bill


def test_the_consumables_storage_is_the_named_one_else_the_only_one() -> None:
    assert consumables_storage("st-2", ["st-1"]) == "st-2"
    assert consumables_storage(None, ["st-1"]) == "st-1"
    assert consumables_storage(None, ["st-1", "st-2"]) is None
    assert consumables_storage(None, []) is None


# --- stock, operation after operation ---


def test_each_operation_moves_the_balances_the_previous_one_left() -> None:
    balances = {("st-1", OIL): D("3")}
    first = take(balances, [("st-1", GLOVES, D("-1")), ("st-1", OIL, D("-2"))])
    second = take(balances, [("st-1", OIL, D("-2"))])
    assert first == [("st-1", GLOVES, D("-1"), D("-1")), ("st-1", OIL, D("-2"), D("1"))]  # a new row starts at 0
    assert second == [("st-1", OIL, D("-2"), D("-1"))]  # from 1, not from 3
    assert balances == {("st-1", OIL): D("-1"), ("st-1", GLOVES): D("-1")}


def test_only_a_hand_entered_write_off_or_relocation_is_short() -> None:
    moved = [("st-1", OIL, D("5"), D("5")), ("st-1", GLOVES, D("-2"), D("-1"))]
    assert shortfall(moved, OpType.WRITE_OFF, automatic=False) == ("st-1", GLOVES, D("-1"))
    assert shortfall(moved, OpType.RELOCATION, automatic=False) == ("st-1", GLOVES, D("-1"))
    assert shortfall(moved, OpType.WRITE_OFF, automatic=True) is None  # consumables: reported, not refused
    assert shortfall(moved, OpType.SALE, automatic=False) is None
    assert shortfall([("st-1", OIL, D("-2"), D("0"))], OpType.WRITE_OFF, automatic=False) is None
