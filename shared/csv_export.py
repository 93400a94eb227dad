"""CSV exports of list routes (the reports a chain opens in a spreadsheet).

A route answers CSV for `Accept: text/csv` or `format=csv`, else its JSON pages. A CSV answer is the same
list in larger pages (CSV_PAGE rows; the rows read before the first byte is sent, so no database connection
waits on a slow reader), written out row by row as the client reads it, and continued like any page: the
`Link` and `X-Next-Cursor` headers name the next one (absent on the last), and that cursor is valid for
the JSON pages too.

Cells a spreadsheet would run as a formula (text starting with `=`, `+`, `-`, `@`, a tab or a carriage
return: a client's name `=HYPERLINK(...)`) are written as text, with a leading `'` (OWASP's advice); a number
(`+36201234567`, `-5`) is left as it is."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from shared.paging import NEXT_CURSOR, Page

CSV_PAGE = 10_000  # rows per CSV answer: a few MB, read at once
MEDIA_TYPE = "text/csv; charset=utf-8"
Format = Literal["json", "csv"]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")

# What a route that exports declares besides its JSON answer (responses=...).
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}


def wants_csv(request: Request, format: Format | None) -> bool:
    """`format=csv`, or no `format` and an Accept header that asks for CSV."""
    if format is not None:
        return format == "csv"
    return "text/csv" in request.headers.get("accept", "")


def csv_page(page: Page) -> Page:
    """The page a CSV answer reads: CSV_PAGE rows from the request's cursor."""
    return Page(CSV_PAGE, page.cursor, page.request, page.response)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = str(value)
    if text.startswith(_FORMULA) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def lines(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The header, then a line per row (RFC 4180: quoted where needed, CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Iterable[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(columns)
    for row in rows:
        yield line(cell(row.get(c)) for c in columns)


def csv_response(
    columns: Sequence[str], rows: Iterable[Mapping[str, Any]], page: Page, *, filename: str
) -> StreamingResponse:
    """The rows (JSON-mode dumps of a page's answers) as a CSV download, with the next page's headers."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if page.next_cursor is not None and page.response is not None:
        for name in ("Link", NEXT_CURSOR):
            if name in page.response.headers:
                headers[name] = page.response.headers[name]
    return StreamingResponse(lines(columns, rows), media_type=MEDIA_TYPE, headers=headers)


async def page_or_csv(
    request: Request,
    page: Page,
    format: Format | None,
    read: Callable[[Page], Awaitable[Sequence[BaseModel]]],
    columns: Sequence[str],
    *,
    filename: str,
) -> Any:
    """A list route's answer: the page `read` answers, as JSON, or (`wants_csv`) as a CSV answer of
    CSV_PAGE rows from the same cursor."""
    csv = wants_csv(request, format)
    if csv:
        page = csv_page(page)
    rows = await read(page)
    if csv:
        return csv_response(columns, (r.model_dump(mode="json") for r in rows), page, filename=filename)
    return rows
