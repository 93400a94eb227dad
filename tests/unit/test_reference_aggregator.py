"""The reference aggregator's rules (deploy/aggregator.py): each notice once, stale ones not sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from deploy.aggregator import Seen, receipt_for

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def notice(**fields: object) -> dict[str, object]:
    return {
        "notification_id": str(uuid.uuid4()),
        "chain_id": "ch-1",
        "to": "+36201234567",
        "text": "hi",
        "send_before": (NOW + timedelta(hours=1)).isoformat(),
        **fields,
    }


def test_a_notice_is_delivered_once_however_often_it_comes() -> None:
    seen, n = Seen(), notice()
    first = receipt_for(n, seen, NOW)
    assert first is not None and first["status"] == "delivered" and first["chain_id"] == "ch-1"
    assert receipt_for(dict(n), seen, NOW) is None


def test_a_notice_past_its_send_before_is_reported_failed_not_sent() -> None:
    r = receipt_for(notice(send_before=(NOW - timedelta(seconds=1)).isoformat()), Seen(), NOW)
    assert r is not None and r["status"] == "failed" and r["error"].startswith("stale")


def test_the_window_forgets_the_oldest_ids() -> None:
    seen = Seen(size=2)
    assert [seen.add(i) for i in ("a", "b", "c", "a")] == [True, True, True, True]
    assert seen.add("c") is False
