"""The loyalty transactions report's pure parts (issue 14, point 14): the filter a request makes (a date
is its day's start in UTC), the CSV columns, and totals that pass what one amount holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal as D

from services.loyalty.api import _report_filter
from services.loyalty.report_schemas import TRANSACTION_COLUMNS, KindTotal, TransactionFilter


def test_a_date_is_its_start_in_utc_and_a_time_stays_as_given() -> None:
    budapest = datetime(2026, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    f = _report_filter(date(2026, 3, 1), budapest, "loc-1", "manual", "C-1")
    assert f == TransactionFilter(datetime(2026, 3, 1, tzinfo=UTC), budapest, "loc-1", "manual", "C-1")
    assert _report_filter(None, None, None, None, None) == TransactionFilter()


def test_the_csv_has_a_column_per_field_of_a_row() -> None:
    assert TRANSACTION_COLUMNS[:4] == ("id", "at", "kind", "amount")
    assert {"card_number", "client_id", "location_id", "promotion_name", "reason"} <= set(TRANSACTION_COLUMNS)


def test_a_total_may_pass_what_one_amount_holds_and_has_two_decimals_on_the_wire() -> None:
    huge = D("999999999999.99") * 1000
    total = KindTotal(kind=None, count=2, amount=huge, added=huge, taken=D("5"))
    assert total.model_dump(mode="json") == {
        "kind": None,
        "count": 2,
        "amount": "999999999999990.00",
        "added": "999999999999990.00",
        "taken": "5.00",
    }
