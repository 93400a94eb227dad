"""A sale at the desk for a client (issue 14, point 7): inventory's totals of it, and how loyalty counts
it: in sold and paid and in a promotion's history totals, never as a visit nor as activity, once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from services.inventory.usecases.desk_sale import MAX_TOTAL, sale_totals, total_problem
from services.inventory.usecases.record import OpLine
from services.loyalty import domain
from services.loyalty.domain import History, Program, Stats
from services.loyalty.domain.books import Books
from services.loyalty.domain.visits import VisitRow, desk_sale, history_of, stats_of

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _line(product_id: str | None, quantity: str, price: str, membership: bool = False) -> OpLine:
    q, p = D(quantity), D(price)
    return OpLine(product_id, "x", "pcs", q, p, (p * q).quantize(D("0.01")), uuid.uuid4() if membership else None)


def test_a_desk_sale_is_sold_at_the_list_price_and_paid_at_the_price_charged() -> None:
    lines = [
        _line("prod-oil", "20", "280"),
        _line("prod-lotion", "2.5", "1.10"),
        _line("mem-type", "1", "7000", membership=True),
        _line(None, "1", "500", membership=True),
    ]
    prices = {"prod-oil": D("300"), "prod-lotion": D("1.00"), "mem-type": D("8000")}
    # Goods and memberships alike; a membership line without a product here is at the price charged.
    assert sale_totals(lines, prices) == (
        D("6000") + D("2.50") + D("8000") + D("500"),
        D("5600") + D("2.75") + D("7000") + D("500"),
    )
    assert sale_totals([], prices) == (D("0"), D("0"))


def test_a_sale_whose_total_passes_what_money_holds_is_refused() -> None:
    assert total_problem(MAX_TOTAL, D("1")) is None
    assert "passes the largest amount" in (total_problem(D("1"), MAX_TOTAL + D("0.01")) or "")


def test_a_desk_sale_counts_in_sold_and_paid_but_is_neither_a_visit_nor_activity() -> None:
    visit = VisitRow("v1", "loc-1", "cl-1", D("100"), D("90"), T0, "arrived", T0, T0)
    sale = desk_sale(str(uuid.uuid4()), "loc-1", "cl-1", D("6000"), D("5600"), T0 + 10 * DAY)
    assert stats_of([visit, sale]) == Stats(D("6100"), D("5690"), 1, 0, T0, T0)
    # Only desk sales: the totals, no visit, no last activity (so never "inactive").
    alone = stats_of([sale])
    assert alone == Stats(D("6000"), D("5600"), 0, 0, None, None)
    assert not alone.inactive_for(1, T0 + 400 * DAY)
    # The program's thresholds see them: 5% from 5,000 sold.
    program = Program(discount_rules=(domain.DiscountRule("sold", D("5000"), D("5")),))
    assert domain.evaluate(program, alone, T0).discount_percent == D("5")


def test_a_desk_sale_adds_to_a_history_s_totals_up_to_the_visit_but_not_to_its_visits() -> None:
    rows = [
        VisitRow("v1", "loc-1", "cl-1", D("100"), D("100"), T0),
        desk_sale("op-a", "loc-1", "cl-1", D("9500"), D("9000"), T0 + DAY),
        VisitRow("v2", "loc-1", "cl-1", D("1000"), D("1000"), T0 + 2 * DAY),
        desk_sale("op-b", "loc-2", "cl-1", D("50"), D("50"), T0 + 3 * DAY),
    ]
    assert history_of(rows, None, None, T0 + 2 * DAY, "v2") == History(D("10600"), D("10100"), 2)
    assert history_of(rows, ("loc-2",), None, T0 + 4 * DAY, "v3") == History(D("50"), D("50"), 0)
    assert history_of(rows, None, (T0 + 2 * DAY).date(), T0 + 2 * DAY, "v2") == History(D("1000"), D("1000"), 1)


def test_the_books_count_an_operation_once_whoever_it_names() -> None:
    books = Books(T0)
    books.know_desk_sale("ch", desk_sale("op-1", "loc-1", "cl-1", D("10"), D("10"), T0))
    assert not books.add_desk_sale("ch", desk_sale("op-1", "loc-1", "cl-2", D("10"), D("10"), T0))  # stored
    assert books.add_desk_sale("ch", desk_sale("op-2", "loc-1", "cl-1", D("5"), D("4"), T0))
    assert not books.add_desk_sale("ch", desk_sale("op-2", "loc-1", "cl-1", D("5"), D("4"), T0))  # in the batch
    assert books.add_desk_sale("other-chain", desk_sale("op-2", "loc-1", "cl-1", D("1"), D("1"), T0))
    assert [(c, r.visit_id) for c, r in books.new_desk_sales] == [("ch", "op-2"), ("other-chain", "op-2")]
    assert books.stats("ch", "loc-1", "cl-1") == Stats(D("15"), D("14"))
    assert books.stats("ch", "loc-1", "cl-2") == Stats()
