"""CSV exports (shared/csv_export.py): cells as a spreadsheet reads them, lines as RFC 4180 writes them."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from starlette.requests import Request

from shared.csv_export import cell, lines, wants_csv


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (Decimal("8000.00"), "8000.00"),
        (8, "8"),
        ({"svc-massage": 8}, '{"svc-massage":8}'),
        ("Anna", "Anna"),
        ("+36201234567", "+36201234567"),
        ("-5", "-5"),
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1+2", "'+1+2"),
        ("-cmd", "'-cmd"),
        ("\tx", "'\tx"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_text(value: object, expected: str) -> None:
    assert cell(value) == expected


def test_lines_are_a_header_then_a_quoted_line_per_row() -> None:
    text = "".join(lines(["code", "name"], [{"code": "A-1", "name": 'Anna "the", first'}, {"code": None}]))
    assert text.endswith("\r\n")
    assert list(csv.reader(io.StringIO(text))) == [["code", "name"], ["A-1", 'Anna "the", first'], ["", ""]]


def request(accept: str) -> Request:
    return Request({"type": "http", "headers": [(b"accept", accept.encode())]})


def test_csv_is_asked_for_by_format_or_by_accept() -> None:
    assert wants_csv(request("text/csv"), None)
    assert not wants_csv(request("application/json"), None)
    assert wants_csv(request("application/json"), "csv")
    assert not wants_csv(request("text/csv"), "json")  # format, when given, wins
