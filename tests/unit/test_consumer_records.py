"""A consumed record's reason to be refused, its inbox digest, and its dead letter
(shared/consumer/records.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import ConsumerRecord

from shared.consumer.records import Reason, dead_letter, legacy_digest, parse, same_payload
from shared.events import MembershipSold

SALE: dict[str, Any] = {
    "event_id": "e-1",
    "occurred_at": "2026-03-01T10:00:00+01:00",
    "chain_id": "ch-1",
    "location_id": "loc-1",
    "sale_id": "s-1",
    "membership_type_id": "6f1d6c2e-2f6b-4a57-9d1e-0d3c5f0e7a11",
    "code": "4567",
    "client": {"id": "cl-5", "phone": "+36201234567", "name": "Anna"},
    "price": "8000",
}
SKEW = 300.0


def record(
    value: Any = SALE, key: bytes | None = b"cl-5", headers: tuple[tuple[str, bytes | None], ...] = ()
) -> ConsumerRecord:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return ConsumerRecord("membership.sold", 2, 41, 0, 0, key, raw, None, 0, len(raw), headers)


def parsed(r: ConsumerRecord, skew: float | None = SKEW) -> Any:
    return parse(r, "membership.sold", MembershipSold, lambda e: [f"sale:{e.sale_id}"], skew)


def refusal(r: ConsumerRecord, skew: float | None = SKEW) -> tuple[str, str]:
    p = parsed(r, skew)
    assert p.event is None and p.refusal is not None
    return p.refusal.reason.value, p.refusal.error


def test_a_valid_record_gets_its_keys_and_digest() -> None:
    p = parsed(record())
    assert p.refusal is None and p.keys == ["event:e-1", "sale:s-1"] and len(p.digest) == 33


def test_the_digest_is_the_payload_s_whatever_its_formatting_and_rows_of_either_version_compare() -> None:
    p = parsed(record())
    reformatted = parsed(record(json.dumps({**SALE, "price": "8000.00", "unknown": 1}, indent=2).encode()))
    assert reformatted.digest == p.digest
    other = parsed(record({**SALE, "price": "8001"}))
    assert other.digest != p.digest
    # An inbox row written before digests were versioned holds the sorted-key canonical JSON's SHA-256.
    assert same_payload(p, legacy_digest("membership.sold", p.event))
    assert not same_payload(other, legacy_digest("membership.sold", p.event))
    assert same_payload(p, p.digest) and not same_payload(other, p.digest)


@pytest.mark.parametrize(
    ("r", "reason", "starts"),
    [
        (record(key=b"\xc3\x28cl-5"), "undecodable", "undecodable: key b'\\xc3(cl-5' is not UTF-8"),
        (
            record(headers=(("ok", b"1"), ("\udcff\udcfename", b"x"))),
            "undecodable",
            "undecodable: header name b'\\xff\\xfename' is not UTF-8",
        ),
        (record(b"{nope"), "not_json", "not JSON: "),
        (record(b'{"a": "x\xff"}'), "not_json", "not JSON: "),
        (record([SALE]), "not_json", "not a JSON object"),
        (record({**SALE, "price": "-1"}), "invalid", "invalid membership.sold: price: "),
    ],
)
def test_reasons(r: ConsumerRecord, reason: str, starts: str) -> None:
    got = refusal(r)
    assert got[0] == reason and got[1].startswith(starts), got


def test_header_values_are_bytes_that_need_not_be_text() -> None:
    assert parsed(record(headers=(("blob", b"\xff"), ("none", None)))).refusal is None


def test_occurred_at_ahead_of_the_clock_beyond_the_bound_is_clock_skew() -> None:
    hour = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    reason, error = refusal(record({**SALE, "occurred_at": hour}))
    assert reason == "clock_skew" and error.startswith(f"clock_skew: occurred_at {hour} is 3600 s ahead"), error
    minute = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert parsed(record({**SALE, "occurred_at": minute})).refusal is None
    assert parsed(record({**SALE, "occurred_at": hour}), skew=None).refusal is None  # not checked there


def test_the_digest_is_the_events_not_its_formatting() -> None:
    same = {**dict(reversed(SALE.items())), "price": "8000.00", "unknown": 1}
    assert parsed(record(same)).digest == parsed(record()).digest
    assert parsed(record({**SALE, "code": "4568"})).digest != parsed(record()).digest


def test_a_dead_letter_carries_what_the_outbox_can_and_says_why() -> None:
    r = record(key=b"\xc3\x28cl\x00", headers=(("traceparent", b"00-1"), ("\udcffn\x00", None), ("x-mine", b"1")))
    p = parsed(r)
    assert p.refusal.reason is Reason.UNDECODABLE
    letter = dead_letter(r, p.refusal, "perkstream.memberships")
    assert letter.topic == "membership.sold.dlq" and letter.value == r.value
    assert letter.key == "\\xc3(cl\ufffd"
    headers = dict(letter.headers)
    assert headers["traceparent"] == b"00-1" and headers["\\xffn\ufffd"] == b""
    assert "x-mine" not in headers  # x- headers are the dead letter's own
    assert headers["x-original-key"] == b"\xc3\x28cl\x00"
    assert headers["x-error"].startswith(b"undecodable: key ") and headers["x-error-reason"] == b"undecodable"
    assert (
        headers["x-consumer-group"],
        headers["x-original-topic"],
        headers["x-original-partition"],
        headers["x-original-offset"],
    ) == (b"perkstream.memberships", b"membership.sold", b"2", b"41")
    for name, _ in letter.headers:
        name.encode("utf-8")  # text PostgreSQL takes


def test_a_text_key_travels_as_it_is() -> None:
    r = record({**SALE, "price": "-1"})
    letter = dead_letter(r, parsed(r).refusal, "perkstream.memberships")
    assert letter.key == "cl-5" and "x-original-key" not in dict(letter.headers)
