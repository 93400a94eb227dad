"""Send-window arithmetic (services/notifications/domain/): wall-clock hours of the location's zone,
across time zones and DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.notifications.domain import Window, release_at

BUDAPEST = ZoneInfo("Europe/Budapest")
NEW_YORK = ZoneInfo("America/New_York")
DAY = Window(time(9), time(21))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_inside_the_window_goes_at_once() -> None:
    moment = datetime(2026, 6, 1, 12, 0, tzinfo=BUDAPEST)
    assert release_at(moment, BUDAPEST, DAY) == moment.astimezone(UTC)


def test_no_window_always_goes_at_once() -> None:
    moment = datetime(2026, 6, 1, 3, 0, tzinfo=BUDAPEST)
    assert release_at(moment, BUDAPEST, None) == moment


def test_22_local_waits_until_09_next_day() -> None:
    # Summer: Budapest is UTC+2.
    assert release_at(datetime(2026, 6, 1, 22, 0, tzinfo=BUDAPEST), BUDAPEST, DAY) == utc(2026, 6, 2, 7, 0)


def test_early_morning_waits_until_09_the_same_day() -> None:
    assert release_at(datetime(2026, 1, 10, 6, 30, tzinfo=BUDAPEST), BUDAPEST, DAY) == utc(2026, 1, 10, 8, 0)


def test_the_start_is_inside_and_the_end_outside() -> None:
    assert release_at(datetime(2026, 1, 10, 9, 0, tzinfo=BUDAPEST), BUDAPEST, DAY) == utc(2026, 1, 10, 8, 0)
    assert release_at(datetime(2026, 1, 10, 21, 0, tzinfo=BUDAPEST), BUDAPEST, DAY) == utc(2026, 1, 11, 8, 0)
    assert release_at(datetime(2026, 1, 10, 20, 59, 59, tzinfo=BUDAPEST), BUDAPEST, DAY) == utc(2026, 1, 10, 19, 59, 59)


def test_the_window_is_in_the_locations_zone_not_the_events_offset() -> None:
    # 21:30 UTC is 22:30 in Budapest in winter (outside) but 16:30 in New York (inside).
    moment = utc(2026, 1, 10, 21, 30)
    assert release_at(moment, BUDAPEST, DAY) == utc(2026, 1, 11, 8, 0)
    assert release_at(moment, NEW_YORK, DAY) == moment


def test_across_spring_forward_09_stays_09_local() -> None:
    # Budapest: 2026-03-29 02:00 CET -> 03:00 CEST. 22:00 CET (21:00Z) waits until 09:00 CEST (07:00Z):
    # ten hours, not eleven.
    assert release_at(datetime(2026, 3, 28, 22, 0, tzinfo=BUDAPEST), BUDAPEST, DAY) == utc(2026, 3, 29, 7, 0)


def test_across_fall_back_09_stays_09_local() -> None:
    # Budapest: 2026-10-25 03:00 CEST -> 02:00 CET. 22:00 CEST (20:00Z) waits until 09:00 CET (08:00Z).
    assert release_at(datetime(2026, 10, 24, 22, 0, tzinfo=BUDAPEST), BUDAPEST, DAY) == utc(2026, 10, 25, 8, 0)


def test_new_york_spring_forward() -> None:
    # 2026-03-08 02:00 EST -> 03:00 EDT. 23:00 EST (04:00Z) waits until 09:00 EDT (13:00Z).
    assert release_at(datetime(2026, 3, 7, 23, 0, tzinfo=NEW_YORK), NEW_YORK, DAY) == utc(2026, 3, 8, 13, 0)


def test_a_start_in_the_spring_gap_opens_after_the_gap() -> None:
    # 02:30 does not exist in Budapest on 2026-03-29: the window opens at 03:30 CEST (01:30Z).
    early = Window(time(2, 30), time(6, 0))
    assert release_at(utc(2026, 3, 29, 0, 30), BUDAPEST, early) == utc(2026, 3, 29, 1, 30)


def test_an_ambiguous_start_opens_at_its_first_occurrence() -> None:
    # 02:30 happens twice in Budapest on 2026-10-25; the first is 02:30 CEST (00:30Z).
    early = Window(time(2, 30), time(6, 0))
    assert release_at(utc(2026, 10, 24, 23, 0), BUDAPEST, early) == utc(2026, 10, 25, 0, 30)


def test_a_quarter_hour_offset_zone() -> None:
    kathmandu = ZoneInfo("Asia/Kathmandu")  # UTC+05:45, no DST
    assert release_at(datetime(2026, 5, 1, 22, 0, tzinfo=kathmandu), kathmandu, DAY) == utc(2026, 5, 2, 3, 15)


def test_a_window_over_midnight() -> None:
    night = Window(time(22), time(6))
    assert night.contains(time(23)) and night.contains(time(5, 59)) and not night.contains(time(6))
    assert release_at(datetime(2026, 1, 10, 12, 0, tzinfo=BUDAPEST), BUDAPEST, night) == utc(2026, 1, 10, 21, 0)
    moment = datetime(2026, 1, 10, 23, 0, tzinfo=BUDAPEST)
    assert release_at(moment, BUDAPEST, night) == moment.astimezone(UTC)


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="different start and end"):
        Window(time(9), time(9))


def test_release_is_never_before_the_moment() -> None:
    # Every quarter hour over the spring DST weekend in Budapest.
    start = utc(2026, 3, 27, 0, 0)
    for quarters in range(4 * 24 * 4):
        moment = start + timedelta(minutes=15 * quarters)
        released = release_at(moment, BUDAPEST, DAY)
        assert released >= moment
        assert DAY.contains(released.astimezone(BUDAPEST).time())
