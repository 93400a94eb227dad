"""The send window (held notices released by the `release_held` job with a pinned clock) and delivery
receipts from `notification.delivery`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain, publish
from tests.integration.notifications_helpers import (
    ANNA,
    caused_by,
    deducted,
    notices,
    notices_eventually,
    put_settings,
    run_release,
)
from tests.integration.proof import until_marker

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

BUDAPEST = ZoneInfo("Europe/Budapest")
TRACEPARENT = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_a_notice_at_22_local_is_held_until_09(chain: Chain, kafka: Kafka) -> None:
    await put_settings(chain, time_zone="Europe/Budapest", send_window={"from": "09:00", "to": "21:00"})
    # A deduction at 22:00 Budapest time, tomorrow (later than the real clock, so the job decides).
    tomorrow = datetime.now(BUDAPEST).date() + timedelta(days=1)
    at_22 = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 22, 0, tzinfo=BUDAPEST)
    opens = datetime.combine(tomorrow + timedelta(days=1), datetime.min.time().replace(hour=9), tzinfo=BUDAPEST)
    event = deducted(chain, occurred_at=at_22.isoformat())
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, event, headers=[("traceparent", TRACEPARENT)])

    [held] = await notices_eventually(chain, lambda ns: len(ns) == 1)
    assert held["status"] == "queued" and held["published_at"] is None
    assert datetime.fromisoformat(held["due_at"]) == opens
    assert await run_release(chain, opens - timedelta(minutes=1)) == {"released": 0, "skipped_opted_out": 0}
    # Anna texted at once from loc-2 (no window there), after the job: once that SMS is on her partition,
    # anything the job had published would be too. Nothing was.
    marker = deducted(chain, location_id="loc-2")
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, marker)
    assert await until_marker(kafka, topics.NOTIFICATION_SMS, of_chain(chain), caused_by(marker)) == []

    assert await run_release(chain, opens) == {"released": 1, "skipped_opted_out": 0}
    assert await run_release(chain, opens) == {"released": 0, "skipped_opted_out": 0}  # idempotent
    marker = deducted(chain, location_id="loc-2")
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, marker)
    [sms] = await until_marker(kafka, topics.NOTIFICATION_SMS, of_chain(chain, location_id="loc-1"), caused_by(marker))
    assert sms["notification_id"] == held["id"] and sms["source_event_id"] == event["event_id"]
    assert sms["text"] == "Anna, 1 visit was deducted from membership 4567; 9 left."
    assert sms["_headers"]["traceparent"] == TRACEPARENT.decode()  # the trace survives the wait
    [sent] = await notices(chain, location_id="loc-1")
    assert sent["published_at"] is not None and sent["status"] == "queued"


async def test_a_held_notice_of_a_client_who_opted_out_meanwhile_is_skipped(chain: Chain, kafka: Kafka) -> None:
    await put_settings(chain, time_zone="Asia/Kathmandu", send_window={"from": "09:00", "to": "21:00"})
    zone = ZoneInfo("Asia/Kathmandu")
    day = datetime.now(zone).date() + timedelta(days=2)
    await publish(
        kafka,
        topics.MEMBERSHIP_DEDUCTED,
        deducted(chain, occurred_at=datetime(day.year, day.month, day.day, 3, 0, tzinfo=zone).isoformat()),
    )
    [held] = await notices_eventually(chain, lambda ns: len(ns) == 1)
    assert datetime.fromisoformat(held["due_at"]) == datetime(day.year, day.month, day.day, 9, 0, tzinfo=zone)
    async with chain.client("notifications") as http:
        await http.put(f"/clients/{ANNA['id']}/notification-opt-out", json={"sms": True, "chatbot": True})
    as_of = datetime(day.year, day.month, day.day, 12, 0, tzinfo=zone)
    assert await run_release(chain, as_of) == {"released": 0, "skipped_opted_out": 1}
    [n] = await notices(chain)
    assert (n["status"], n["reason"]) == ("skipped", "opted_out")


async def test_delivery_receipts_update_the_history(chain: Chain, kafka: Kafka) -> None:
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, deducted(chain))
    [sms] = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain))
    nid = sms["notification_id"]
    at = datetime.now(UTC)

    async def receipt(status: str, seconds: int, **extra: str) -> None:
        await kafka.publish(
            topics.NOTIFICATION_DELIVERY,
            {
                "notification_id": nid,
                "status": status,
                "provider_message_id": "pm-1",
                "at": (at + timedelta(seconds=seconds)).isoformat(),
                **extra,
            },
            key=ANNA["id"],
        )

    await receipt("sent", 1)
    await notices_eventually(chain, lambda ns: ns and ns[0]["status"] == "sent", client_id=ANNA["id"])
    await receipt("delivered", 5, chain_id=chain.id)
    await receipt("sent", 3)  # late, out of order: never moves it back
    await receipt("delivered", 5, chain_id=chain.id)  # repeated
    # A receipt for a notice nobody sent goes to the DLQ with the reason. On the same key after the
    # others, it is also the marker: once its dead letter is there, every receipt before it is applied.
    unknown = str(uuid.uuid4())
    await kafka.publish(
        topics.NOTIFICATION_DELIVERY,
        {"notification_id": unknown, "status": "delivered", "at": at.isoformat()},
        key=ANNA["id"],
    )
    [dead] = await kafka.read(topics.dlq(topics.NOTIFICATION_DELIVERY), lambda m: m.get("notification_id") == unknown)
    assert f"unknown notification_id {unknown}" in dead["_headers"]["x-error"]
    # Delivered at +5 s, and the late "sent" (+3 s) applied after it did not move it back.
    [n] = await notices(chain, client_id=ANNA["id"])
    assert (n["status"], n["provider_message_id"]) == ("delivered", "pm-1")
    assert datetime.fromisoformat(n["status_at"]) == at + timedelta(seconds=5)
    assert await notices(chain, status="queued") == []


async def test_a_failed_receipt_records_the_providers_reason(chain: Chain, kafka: Kafka) -> None:
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, deducted(chain))
    [sms] = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain))
    await kafka.publish(
        topics.NOTIFICATION_DELIVERY,
        {
            "notification_id": sms["notification_id"],
            "status": "failed",
            "error": "absent subscriber",
            "at": datetime.now(UTC).isoformat(),
        },
    )
    [n] = await notices_eventually(chain, lambda ns: len(ns) == 1, status="failed")
    assert n["reason"] == "absent subscriber"
