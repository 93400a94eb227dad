"""When a notice becomes stale news (services/notifications/domain/notice.py, `send_before`)."""

from datetime import UTC, datetime, timedelta

from services.notifications import domain

DUE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_a_clients_notice_is_worth_sending_for_a_day_an_administrators_for_three() -> None:
    assert domain.send_before("client", DUE) == DUE + timedelta(hours=24)
    assert domain.send_before("administrator", DUE) == DUE + timedelta(hours=72)
