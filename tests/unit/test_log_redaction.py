"""Logs carry no secret and no client's personal data (shared/logging.py): fields named for them, texts
that look like keys or phones, the values bound for the work at hand, tracebacks' locals; our lines and the
libraries' (stdlib logging) alike, with their context kept."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from shared.logging import bind_secrets, configure_logging, scrub, unbind_secrets

KEY = "psk_Zx81kQw0LmPz5VtYc3nB7sDfGhJk2LqWeRtYuIoP9As"
PHONE = "+36701234567"
NAME = "Ilona Vadkerti"


@pytest.fixture
def lines() -> Iterator[Any]:
    out = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("test", "DEBUG", stream=out)
    structlog.contextvars.clear_contextvars()

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in out.getvalue().splitlines()]

    yield read
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()
    root.handlers[:], root.level = handlers, level


def secrets_in(text: str) -> list[str]:
    return [s for s in (KEY, KEY[4:], KEY[10:], PHONE, PHONE[1:], "Vadkerti", NAME) if s in text]


def test_fields_named_for_secrets_or_people_are_redacted_nested_too(lines: Any) -> None:
    log = structlog.get_logger("t")
    log.info(
        "sale",
        phone=PHONE,
        client={"id": "cl-1", "name": NAME, "phone": PHONE},
        authorization=f"Bearer {KEY}",
        to=PHONE,
        chain_id="ch-1",
        event_id="e-1",
        items=[{"client_name": NAME}],
    )
    [line] = lines()
    assert not secrets_in(json.dumps(line))
    assert line["client"]["id"] == "cl-1" and line["chain_id"] == "ch-1" and line["event_id"] == "e-1"


def test_keys_and_phones_inside_any_text_are_cut(lines: Any) -> None:
    structlog.get_logger("t").warning(
        "data_error",
        error=f"refused {PHONE} and +36 70 123 4567 with {KEY}",
        detail=f"Key (phone)=(+36701234567) exists; Authorization: Bearer {KEY}",
    )
    [line] = lines()
    assert not secrets_in(json.dumps(line)) and "+36 70 123 4567" not in json.dumps(line)
    assert "psk_Zx81kQ" in line["error"]  # the prefix stays: it tells keys apart, as list-keys shows it


def test_ids_times_and_counts_are_not_phones() -> None:
    text = (
        "e-0f8a1234-5678-9012-3456-789012345678 at 2026-03-01T10:00:00.123456+00:00 offset 1234567 "
        "v-12345678901, 253370764800 s ahead"
    )
    assert scrub(text) == text


def test_values_bound_for_the_work_at_hand_are_cut_wherever_they_appear(lines: Any) -> None:
    message = json.dumps({"event_id": "e-9", "client": {"id": "cl-9", "name": NAME, "phone": "+36 70 123 4567"}})
    bind_secrets(message.encode())
    structlog.get_logger("t").error(
        "dead_lettered", error=f"processing failed: RaiseError: refused for {NAME}", event_id="e-9"
    )
    structlog.get_logger("t").error("other", error="Vadkerti alone, and 0036701234567 written otherwise")
    unbind_secrets()
    structlog.get_logger("t").info("after", error=f"{NAME} is no longer bound")
    first, second, after = lines()
    assert not secrets_in(json.dumps([first, second])), [first, second]
    assert first["event_id"] == "e-9" and "_secrets" not in first
    assert "Vadkerti" in after["error"]  # unbound: an ordinary word again


def _check_key(authorization: str) -> None:
    credentials = authorization.removeprefix("Bearer ")  # a local holding the key
    raise LookupError(f"no key table (checking {len(credentials)} characters)")


def test_a_traceback_keeps_where_not_its_locals(lines: Any) -> None:
    try:
        _check_key(f"Bearer {KEY}")
    except LookupError:
        structlog.get_logger("t").exception("unhandled_http_error")
    [line] = lines()
    assert not secrets_in(json.dumps(line))
    [exc] = line["exception"]
    assert exc["exc_type"] == "LookupError"
    assert [f["name"] for f in exc["frames"]][-1] == "_check_key"  # function names kept (no `name` redaction)
    assert all("locals" not in f for f in exc["frames"])


def test_library_lines_take_the_same_path_with_their_context(lines: Any) -> None:
    structlog.contextvars.bind_contextvars(chain_id="ch-7", event_id="e-7")
    bind_secrets({"client": {"name": NAME}})
    try:
        raise ValueError(f"bad message for {NAME}, {PHONE}")
    except ValueError:
        logging.getLogger("aiokafka.consumer").exception("Error in %s for %s", "handler", PHONE)
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request from %s (%s)", "127.0.0.1", KEY)
    first, second = lines()
    assert not secrets_in(json.dumps([first, second])), [first, second]
    assert first["logger"] == "aiokafka.consumer" and first["chain_id"] == "ch-7" and first["event_id"] == "e-7"
    assert first["exception"][0]["exc_type"] == "ValueError" and first["level"] == "error"
    assert second["logger"] == "uvicorn.error" and second["level"] == "warning"
