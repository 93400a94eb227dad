"""The location program's discount-expiration switch (issue 14, point 2), through real Kafka and
PostgreSQL: with `notify_discount_expiration` on, the inactivity job warns the client
`discount_expiration_notice_days` before the discount lapses (`loyalty.discount_expiring`, once per
client, location and lapse date, whatever the re-runs) and the lapse is the `loyalty.discount_expired`
notice; with it off, the discount still lapses and `loyalty.discount_changed` is still published, but
the client is told neither."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain, publish
from tests.integration.loyalty_helpers import arrived, at, client, loyalty_eventually, put_program, run_job, visit_paid
from tests.integration.proof import until_marker

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def program(notify: bool, **more: Any) -> dict[str, Any]:
    """5% from 1,000 sold, reset after 30 days away."""
    return {
        "discount_rules": [{"basis": "sold", "from": "1000", "percent": "5"}],
        "discount_reset_after_days": 30,
        "notify_discount_expiration": notify,
        **more,
    }


def notices_of(client_id: str, notice_type: str) -> Any:
    return lambda m: m.get("client_id") == client_id and m.get("type") == notice_type


async def test_the_switch_on_warns_once_before_the_lapse_and_tells_the_lapse_off_tells_neither(
    chain: Chain, kafka: Kafka
) -> None:
    await put_program(chain, program(False), location_id="loc-a")  # the switch off
    saved = await put_program(chain, program(True), location_id="loc-b")  # on, warned 7 days before (default)
    assert saved["discount_expiration_notice_days"] == 7
    await put_program(chain, program(True, discount_expiration_notice_days=3), location_id="loc-c")
    anna = client("anna")
    for location in ("loc-a", "loc-b", "loc-c"):
        v = visit_paid(chain, anna, "2000", location_id=location)
        await publish(kafka, topics.VISIT_PAID, v)
        await publish(kafka, topics.VISIT_ARRIVED, arrived(chain, anna, v["visit_id"], location_id=location))
    came = {}
    for location in ("loc-a", "loc-b", "loc-c"):
        state = await loyalty_eventually(
            chain, anna["id"], lambda s: s["discount_percent"] == "5.00" and s["visits"] == 1, location_id=location
        )
        came[location] = datetime.fromisoformat(state["last_visit_at"])

    assert (await run_job(chain, "inactivity", at(22)))["discount_warnings"] == 0  # loc-b's starts on day 23
    assert (await run_job(chain, "inactivity", at(24)))["discount_warnings"] == 1  # loc-b
    assert (await run_job(chain, "inactivity", at(24)))["discount_warnings"] == 0  # run again: once
    assert (await run_job(chain, "inactivity", at(25)))["discount_warnings"] == 0
    assert (await run_job(chain, "inactivity", at(28)))["discount_warnings"] == 1  # loc-c, 3 days before

    # loc-c's warning, hers and later on the same topic, is the marker: loc-a's would be before it.
    loc_c = of_chain(chain, client_id=anna["id"], location_id="loc-c")
    [warning] = await until_marker(
        kafka, topics.LOYALTY_DISCOUNT_EXPIRING, of_chain(chain, client_id=anna["id"]), loc_c
    )
    assert warning["location_id"] == "loc-b" and warning["discount_percent"] == "5.00"
    assert datetime.fromisoformat(warning["expires_at"]) == came["loc-b"] + timedelta(days=30)
    assert warning["client"]["phone"] == anna["phone"]
    [marker] = await kafka.read(topics.LOYALTY_DISCOUNT_EXPIRING, loc_c)
    [told] = await until_marker(
        kafka,
        topics.NOTIFICATION_SMS,
        notices_of(anna["id"], "loyalty.discount_expiring"),
        lambda m: m.get("source_event_id") == marker["event_id"],
    )
    assert told["source_event_id"] == warning["event_id"] and told["location_id"] == "loc-b"
    day = (came["loc-b"] + timedelta(days=30)).date().isoformat()
    assert told["text"] == f"Client anna, your 5% discount expires on {day} unless you visit us before then."

    # Day 31: the three discounts lapse, each published; only the switched-on locations tell her.
    assert (await run_job(chain, "inactivity", at(31)))["clients_changed"] == 3
    resets = await kafka.read(
        topics.LOYALTY_DISCOUNT_CHANGED, of_chain(chain, client_id=anna["id"], reason="inactivity"), count=3
    )
    by_location = {r["location_id"]: r for r in resets}
    assert {k: (r["old_percent"], r["new_percent"], r["notify"]) for k, r in by_location.items()} == {
        "loc-a": ("5.00", "0.00", False),
        "loc-b": ("5.00", "0.00", True),
        "loc-c": ("5.00", "0.00", True),
    }
    # loc-c's notice is the marker: loc-a's reset was consumed before it (same key, same topic).
    reset_ids = {r["event_id"] for r in resets}
    expired = await until_marker(
        kafka,
        topics.NOTIFICATION_SMS,
        lambda m: m.get("source_event_id") in reset_ids,
        lambda m: m.get("source_event_id") == by_location["loc-c"]["event_id"],
    )
    assert [(n["type"], n["source_event_id"]) for n in expired] == [
        ("loyalty.discount_expired", by_location["loc-b"]["event_id"])
    ]
