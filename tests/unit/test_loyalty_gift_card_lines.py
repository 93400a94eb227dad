"""Loyalty's sold and paid leave a visit's gift card lines out: buying a gift card is prepaying, and the
money counts when the card pays (in the `paid` of the line it pays), not twice."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal as D

from services.loyalty.domain.visits import counts_in_totals, visit_totals


@dataclass(frozen=True)
class Line:
    kind: str
    sold: D
    paid: D


def test_a_gift_card_line_is_left_out_of_sold_and_paid() -> None:
    lines = [
        Line("service", D("1000.00"), D("900.00")),
        Line("gift_card", D("5000.00"), D("4500.00")),
        Line("product", D("300.00"), D("300.00")),
        Line("membership", D("8000.00"), D("8000.00")),
    ]
    assert visit_totals(lines) == (D("9300.00"), D("9200.00"))
    assert [counts_in_totals(x.kind) for x in lines] == [True, False, True, True]


def test_a_visit_of_gift_cards_only_sells_and_pays_nothing() -> None:
    assert visit_totals([Line("gift_card", D("500.00"), D("500.00"))]) == (D("0"), D("0"))
    assert visit_totals([]) == (D("0"), D("0"))
