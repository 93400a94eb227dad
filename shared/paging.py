"""Pages of every list route: `limit` (default 100, at most 1,000) and an opaque `cursor`. The answer stays
the JSON array the contract shows; when more items follow, the next page is named by a
`Link: </v1/...?cursor=...>; rel="next"` header and by `X-Next-Cursor` (both absent on the last page).

Keyset paging: each list is ordered by a unique key (its sort columns, then an id), the cursor is the key of
a page's last item, and the next page is the items after it (`WHERE (k1, k2) > ($n, $m)`, by an index),
so an item added or removed meanwhile never shifts a page (no item skipped or repeated, as OFFSET does),
and page 1,000 costs what page 1 costs.

A repository method that lists takes the `Page`, asks for `page.fetch` rows after `page.after(<types of
its key>)` and answers `page.cut(rows, key)`: the order, the keyset and the key stay in one place, by the
SQL. A route only declares `page: Paging`.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from shared.events.base import unstorable

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_CURSOR = 1024  # characters; a key of a few ids and a time is far below
NEXT_CURSOR = "X-Next-Cursor"

T = TypeVar("T")
Key = tuple[Any, ...]


def encode(key: Key) -> str:
    """The cursor of `key`: URL-safe base64 of a JSON array (times and ids as text), without padding."""
    values = [
        v.isoformat() if isinstance(v, date) else str(v) if isinstance(v, uuid.UUID | Decimal) else v for v in key
    ]
    raw = json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(cursor: str, kinds: Sequence[type]) -> Key:
    """The key a cursor holds, each value of its kind; ValueError when it is not a cursor of such a key."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError("not a cursor") from exc
    if not isinstance(values, list) or len(values) != len(kinds):
        raise ValueError("not a cursor of this list")
    return tuple(_as(kind, v) for kind, v in zip(kinds, values, strict=True))


def _as(kind: type, value: Any) -> Any:
    if kind is int and isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63:
        return value
    if isinstance(value, str):
        if kind is str and not unstorable(value):
            return value
        if kind is datetime:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is not None:
                return parsed
        if kind is uuid.UUID:
            return uuid.UUID(value)
    raise ValueError(f"not a {kind.__name__}")


@dataclass
class Page:
    """One page's request (`limit`, `cursor`) and, once cut, the next page's cursor."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    request: Request | None = None
    response: Response | None = None
    next_cursor: str | None = None

    @property
    def fetch(self) -> int:
        """How many rows to read: one more than the page, which tells whether another page follows."""
        return self.limit + 1

    def after(self, *kinds: type) -> Key:
        """The key the page starts after, a value of each kind (all None on the first page); a cursor that
        is not one of this list's answers 422 naming `cursor`."""
        if self.cursor is None:
            return (None,) * len(kinds)
        try:
            return decode(self.cursor, kinds)
        except ValueError:
            self.refuse()
            raise  # unreachable: refuse raises

    def refuse(self) -> None:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "cursor"),
                    "type": "cursor_invalid",
                    "msg": "not a cursor this list answered (use X-Next-Cursor as given)",
                }
            ]
        )

    def cut(self, rows: Sequence[T], key: Callable[[T], Key]) -> list[T]:
        """The page out of `rows` (read with `fetch`); when more follow, names the next page in the answer's
        headers."""
        page = list(rows[: self.limit])
        if len(rows) > self.limit and page:
            self.next_cursor = encode(key(page[-1]))
            if self.response is not None and self.request is not None:
                url = self.request.url.include_query_params(cursor=self.next_cursor)
                self.response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
                self.response.headers[NEXT_CURSOR] = self.next_cursor
        return page


def paging(
    request: Request,
    response: Response,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (at most {MAX_LIMIT})")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_CURSOR,
            description="Where the page starts: the `X-Next-Cursor` of the previous page, as given",
        ),
    ] = None,
) -> Page:
    return Page(limit, cursor, request, response)


# What a list route takes: `page: Paging`.
Paging = Annotated[Page, Depends(paging)]

# What a list route declares (responses=PAGED): the headers naming the next page.
PAGED: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "Link": {
                "description": 'The next page: `</v1/...?cursor=...>; rel="next"`; absent on the last page',
                "schema": {"type": "string"},
            },
            NEXT_CURSOR: {
                "description": "The next page's `cursor`; absent on the last page",
                "schema": {"type": "string"},
            },
        }
    }
}
