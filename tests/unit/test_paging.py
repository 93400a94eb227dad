"""Cursors of the list routes (shared/paging.py): a key goes out and comes back as it was; anything else
answers 422 naming `cursor`; a page is cut at its limit and names the next one."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import Response

from shared.paging import Page, decode, encode


def test_a_key_comes_back_from_its_cursor_as_it_went() -> None:
    key = (datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1))), uuid.uuid4(), "Ola ñ", 42)
    cursor = encode(key)
    assert decode(cursor, (datetime, uuid.UUID, str, int)) == key
    assert cursor.isascii() and "=" not in cursor and "/" not in cursor and "+" not in cursor


def _raw(json_text: bytes) -> str:
    return base64.urlsafe_b64encode(json_text).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("cursor", "kinds"),
    [
        ("not-a-cursor", (str,)),
        ("!!!", (str,)),
        (encode(("a",)) + "x", (str,)),
        (encode(("a", "b")), (str,)),
        (encode((1,)), (str,)),
        (encode((True,)), (int,)),
        (encode((2**70,)), (int,)),
        (encode(("2026-03-01T10:00:00",)), (datetime,)),  # a time without its offset
        (encode(("yesterday",)), (datetime,)),
        (encode(("not-a-uuid",)), (uuid.UUID,)),
        (encode(("nul\x00",)), (str,)),
        (_raw(b'["\\ud800"]'), (str,)),  # text PostgreSQL cannot take
    ],
)
def test_anything_but_a_cursor_of_the_lists_key_answers_422_naming_cursor(cursor: str, kinds: tuple[type]) -> None:
    with pytest.raises(RequestValidationError) as exc:
        Page(cursor=cursor).after(*kinds)
    assert [e["loc"] for e in exc.value.errors()] == [("query", "cursor")]


def test_the_first_page_starts_nowhere() -> None:
    assert Page().after(str, datetime) == (None, None)


def _request(query: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/v1/chains/ch-1/storages",
            "query_string": query.encode(),
            "headers": [(b"host", b"testserver")],
            "scheme": "http",
            "server": ("testserver", 80),
        }
    )


def test_a_full_page_names_the_next_in_link_and_x_next_cursor() -> None:
    response = Response()
    page = Page(limit=2, request=_request("location_id=loc-1&limit=2"), response=response)
    rows = [("a", 1), ("b", 2), ("c", 3)]  # read with page.fetch = 3
    assert page.fetch == 3
    assert page.cut(rows, lambda r: (r[0],)) == [("a", 1), ("b", 2)]
    cursor = encode(("b",))
    assert page.next_cursor == cursor and response.headers["x-next-cursor"] == cursor
    assert response.headers["link"] == (
        f'</v1/chains/ch-1/storages?location_id=loc-1&limit=2&cursor={cursor}>; rel="next"'
    )


def test_the_last_page_names_none() -> None:
    response = Response()
    page = Page(limit=2, request=_request(f"cursor={encode(('b',))}"), response=response)
    assert page.cut([("c", 3)], lambda r: (r[0],)) == [("c", 3)]
    assert page.next_cursor is None and "link" not in response.headers and "x-next-cursor" not in response.headers


def test_a_cursor_replaces_the_previous_one_in_the_link() -> None:
    response = Response()
    page = Page(limit=1, request=_request(f"cursor={encode(('a',))}&limit=1"), response=response)
    page.cut([("b",), ("c",)], lambda r: (r[0],))
    assert response.headers["link"].count("cursor=") == 1 and encode(("b",)) in response.headers["link"]


def test_now_survives_the_round_trip_to_the_microsecond() -> None:
    now = datetime.now(UTC)
    assert decode(encode((now,)), (datetime,)) == (now,)
