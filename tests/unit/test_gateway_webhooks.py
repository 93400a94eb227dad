"""The webhook rules, pure: lenient values as the sender writes them, and what a record's snapshots cause."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.gateway.domain.webhooks import (
    RecordState,
    Unreadable,
    envelope,
    flag,
    integer,
    local_time,
    money,
    record,
    transitions,
)

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "booking-webhooks"
MOSCOW = ZoneInfo("Europe/Moscow")


def snap(changed: str, *, attendance: int = 0, paid: int = 0, deleted: bool = False, status: str = "update") -> Any:
    body = json.loads((REAL / "altegio_record_update_arrived_paid.json").read_text())
    body["status"] = status
    body["data"].update(attendance=attendance, paid_full=paid, deleted=deleted, last_change_date=changed)
    return record(envelope(body), MOSCOW)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, True),
        (0, False),
        (True, True),
        ("1", True),
        ("0", False),
        ("", False),
        (None, False),
        ([], False),
        ("true", True),
    ],
)
def test_flags_come_as_ints_strings_and_empty_arrays(value: object, expected: bool) -> None:
    assert flag(value) is expected


def test_numbers_come_with_binary_noise_and_as_strings() -> None:
    assert money(33.710000000000001) == Decimal("33.71")
    assert money("8900") == Decimal("8900.00") and money(None) == Decimal("0")
    assert integer("8263004") == 8263004 and integer(70001234567.0) == 70001234567 and integer("") is None
    with pytest.raises(Unreadable):
        integer("12a")


def test_times_are_the_locations_wall_clock_whatever_offset_is_written() -> None:
    expected = datetime(2025, 7, 12, 9, 10, tzinfo=UTC)
    for written in (
        "2025-07-12 12:10:00",
        "2025-07-12T12:10:00+0500",
        "2025-07-12T12:10:00+05:00",
        "2025-07-12T12:10:00.000-05:00",
    ):
        assert local_time(written, MOSCOW) == expected, written
    assert local_time("", MOSCOW) is None


def test_the_real_record_reads_as_arrived_and_paid() -> None:
    r = snap("2025-07-13T00:15:24+0500", attendance=1, paid=1)
    assert (r.id, r.visit_id, r.attendance, r.paid, r.deleted, r.document_id) == (
        596792978,
        508928359,
        1,
        True,
        False,
        683647047,
    )
    assert r.client is not None and (r.client.id, r.client.phone) == ("169711586", "+77770220606")
    assert [(s.service_id, s.quantity, s.sold, s.paid) for s in r.services] == [
        (5034676, 1, Decimal("4000.00"), Decimal("4000.00"))
    ]


def test_a_lifecycle_sends_arrived_then_paid_once_each() -> None:
    state = None
    sent = []
    for s in (
        snap("2025-07-12T10:00:00+0300"),
        snap("2025-07-12T10:01:00+0300", attendance=2),
        snap("2025-07-12T10:02:00+0300", attendance=1),
        snap("2025-07-12T10:02:00+0300", attendance=1),
        snap("2025-07-12T10:03:00+0300", attendance=1, paid=1),
    ):
        out = transitions(state, s)
        state, sent = out.state, sent + out.emit
    assert sent == ["arrived", "paid"]


def test_paid_first_then_arrived_and_an_older_snapshot_is_stale() -> None:
    first = transitions(None, snap("2025-07-12T10:05:00+0300", paid=1))
    assert first.emit == ["paid"]
    older = transitions(first.state, snap("2025-07-12T10:01:00+0300", attendance=1))
    assert older.stale and older.emit == [] and older.state == first.state
    assert transitions(first.state, snap("2025-07-12T10:06:00+0300", attendance=1, paid=1)).emit == ["arrived"]


def test_both_in_one_snapshot_arrive_before_paying() -> None:
    assert transitions(None, snap("2025-07-12T10:00:00+0300", attendance=1, paid=1)).emit == ["arrived", "paid"]


def test_a_delete_cancels_once_unless_the_visit_took_place() -> None:
    cancelled = transitions(None, snap("2025-07-12T10:00:00+0300", status="delete"))
    assert cancelled.emit == ["cancelled"]
    assert transitions(cancelled.state, snap("2025-07-12T10:01:00+0300", deleted=True)).emit == []
    arrived = transitions(None, snap("2025-07-12T10:00:00+0300", attendance=1))
    assert transitions(arrived.state, snap("2025-07-12T10:01:00+0300", deleted=True)).emit == []


def test_a_no_show_is_not_followed_by_an_arrival() -> None:
    no_show = transitions(RecordState(), snap("2025-07-12T10:00:00+0300", attendance=-1))
    assert no_show.emit == ["no_show"]
    assert transitions(no_show.state, snap("2025-07-12T10:01:00+0300", attendance=1)).emit == []


def test_what_is_no_envelope_is_unreadable() -> None:
    for body in ([], {"resource": "record"}, {"company_id": "x", "resource": "record", "status": "update"}):
        with pytest.raises(Unreadable):
            envelope(body)


def test_the_membership_meant_is_the_one_named_else_the_clients_newest_of_the_type() -> None:
    from services.gateway.domain.mapping import sold_membership

    theirs = [
        {"id": 1, "number": 111, "created_date": 10, "type": {"id": 896}},
        {"id": 2, "number": 222, "created_date": 20, "type": {"id": 896}},
        {"id": 3, "number": "", "created_date": 30, "type": {"id": 897}},
    ]
    assert sold_membership(theirs, 1, None) == {"code": "111", "type_id": 896}
    assert sold_membership(theirs, None, 896) == {"code": "222", "type_id": 896}
    assert sold_membership(theirs, 3, None) is None  # no number: nothing to name it by
    assert sold_membership(theirs, 9, None) is None
