"""Domain events published on their topics, as the other services do, become notices: exactly one per
(source event, channel), through the settings, templates, opt-outs and recipients of the location."""

from __future__ import annotations

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain, publish
from tests.integration.notifications_helpers import (
    ADMIN_PHONE,
    ANNA,
    bonus_accrued,
    caused_by,
    deducted,
    expired,
    notices,
    notices_eventually,
    put_settings,
    rejected,
    stock_low,
)
from tests.integration.proof import until_marker

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_a_deduction_published_twice_texts_the_client_once(chain: Chain, kafka: Kafka) -> None:
    event = deducted(chain, units=2, visits_left=8)
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, event, headers=[("traceparent", TRACEPARENT)])
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, event)  # redelivered: the same event
    # The next deduction, on the same partition, proves both copies above were consumed (and, once its
    # SMS is on the topic, that whatever they published is there too).
    marker = deducted(chain, visits_left=7)
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, marker)

    history = await notices_eventually(chain, lambda ns: len(ns) >= 2)
    [n] = await until_marker(kafka, topics.NOTIFICATION_SMS, of_chain(chain), caused_by(marker))
    assert n["source_event_id"] == event["event_id"]
    assert n["text"] == "Anna, 2 visits were deducted from membership 4567; 8 left."
    [later] = await kafka.read(topics.NOTIFICATION_SMS, caused_by(marker))
    assert later["text"] == "Anna, 1 visit was deducted from membership 4567; 7 left."
    assert n["to"] == ANNA["phone"] and n["audience"] == "client" and n["type"] == "membership.deducted"
    assert n["_headers"]["traceparent"] == TRACEPARENT.decode()
    assert len(history) == 2
    mine = next(h for h in history if h["source_event_id"] == event["event_id"])
    assert mine["id"] == n["notification_id"]
    assert (mine["status"], mine["encoding"], mine["segments"]) == ("queued", "gsm7", 1)
    assert mine["published_at"] is not None and mine["recipient"] == ANNA["phone"]


async def test_a_disabled_type_sends_nothing(chain: Chain, kafka: Kafka) -> None:
    await put_settings(chain, types={"membership.deducted": {"sms": False}})
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, deducted(chain))
    # The same type at a location without settings (on by default), after it on the same partition.
    marker = deducted(chain, location_id="loc-2")
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, marker)
    await publish(kafka, topics.MEMBERSHIP_EXPIRED, expired(chain))  # another type at loc-1: still on

    history = await notices_eventually(chain, lambda ns: len(ns) >= 2, what="the markers' notices")
    assert sorted((h["type"], h["location_id"]) for h in history) == [
        ("membership.deducted", "loc-2"),
        ("membership.expired", "loc-1"),
    ]
    assert (
        await until_marker(
            kafka, topics.NOTIFICATION_SMS, of_chain(chain, type="membership.deducted"), caused_by(marker)
        )
        == []
    )
    [other] = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain, type="membership.expired"))
    assert other["location_id"] == "loc-1"


async def test_chatbot_on_sends_a_second_notice_on_its_own_topic(chain: Chain, kafka: Kafka) -> None:
    await put_settings(chain, types={"membership.deducted": {"sms": True, "chatbot": True}})
    event = deducted(chain)
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, event)
    marker = deducted(chain, visits_left=8)  # hers again, later: its chatbot notice comes after the first's
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, marker)
    [bot] = await until_marker(kafka, topics.NOTIFICATION_CHATBOT, of_chain(chain), caused_by(marker))
    assert bot["channel"] == "chatbot" and bot["source_event_id"] == event["event_id"]
    assert bot["text"] == "Anna, 1 visit was deducted from membership 4567; 9 left."
    history = await notices_eventually(chain, lambda ns: len(ns) == 4)
    mine = [h for h in history if h["source_event_id"] == event["event_id"]]
    assert sorted(h["channel"] for h in mine) == ["chatbot", "sms"]
    assert next(h for h in mine if h["channel"] == "chatbot")["segments"] is None  # SMS parts only


async def test_no_phone_is_recorded_as_skipped_and_an_opted_out_client_is_not_texted(
    chain: Chain, kafka: Kafka
) -> None:
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, deducted(chain, client={"id": "cl-nophone", "name": "Bo"}))
    [skipped] = await notices_eventually(chain, lambda ns: len(ns) == 1, client_id="cl-nophone")
    assert (skipped["status"], skipped["reason"], skipped["recipient"]) == ("skipped", "no_phone", None)

    async with chain.client("notifications") as http:
        r = await http.put(f"/clients/{ANNA['id']}/notification-opt-out", json={"sms": True, "chatbot": False})
        assert r.status_code == 200 and r.json() == {"client_id": ANNA["id"], "sms": True, "chatbot": False}
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, deducted(chain))
    [opted] = await notices_eventually(chain, lambda ns: len(ns) == 1, client_id=ANNA["id"])
    assert (opted["status"], opted["reason"]) == ("skipped", "opted_out")
    assert await notices(chain, status="skipped") and not await notices(chain, status="queued")
    # Anna opts in again and is texted: once that SMS is on her partition, one for the deduction before
    # it would be too (and the no-phone one, recorded earlier, before it). There is none.
    async with chain.client("notifications") as http:
        r = await http.put(f"/clients/{ANNA['id']}/notification-opt-out", json={"sms": False, "chatbot": False})
        assert r.status_code == 200, r.text
    marker = deducted(chain)
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, marker)
    assert await until_marker(kafka, topics.NOTIFICATION_SMS, of_chain(chain), caused_by(marker)) == []


async def test_a_chain_template_is_used_and_its_segments_recorded(chain: Chain, kafka: Kafka) -> None:
    async with chain.client("notifications") as http:
        bad = await http.put("/templates/membership.deducted", json={"locale": "hu", "text": "Szia {nickname}!"})
        assert bad.status_code == 422, bad.text
        assert bad.json()["field"] == "text" and "{nickname}" in bad.json()["message"]
        lone = await http.put("/templates/membership.deducted", json={"locale": "hu", "text": "Szia {client_name"})
        assert lone.status_code == 422 and lone.json()["field"] == "text"
        unknown = await http.put("/templates/membership.nope", json={"locale": "hu", "text": "x"})
        assert unknown.status_code == 404
        ok = await http.put(
            "/templates/membership.deducted",
            json={
                "locale": "hu",
                "text": "{client_name}, levontunk {units} alkalmat ({membership_code}); maradt {balance}.",
            },
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["preview"] == "Anna, levontunk 1 alkalmat (4567); maradt 9."
        types = {t["type"]: t for t in (await http.get("/templates")).json()}
        assert types["membership.deducted"]["texts"] == {"hu": ok.json()["text"]}
        assert "balance" in types["membership.deducted"]["placeholders"]
    await put_settings(chain, locale="hu", location_name="Centrum")
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, deducted(chain, client={**ANNA, "name": "Zsófi"}))
    [sms] = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain))
    assert sms["text"] == "Zsófi, levontunk 1 alkalmat (4567); maradt 9." and sms["locale"] == "hu"
    [n] = await notices_eventually(chain, lambda ns: len(ns) == 1)
    assert (n["encoding"], n["segments"]) == ("ucs2", 1)  # ó is not in GSM-7


async def test_administrator_notices_go_to_the_location_contact(chain: Chain, kafka: Kafka) -> None:
    await put_settings(chain, location_name="Centrum", administrator={"name": "Eva", "phone": ADMIN_PHONE})
    await publish(kafka, topics.INVENTORY_STOCK_LOW, stock_low(chain))
    desk = rejected(chain, "service_not_included")
    await publish(kafka, topics.MEMBERSHIP_DEDUCTION_REJECTED, desk)
    await publish(kafka, topics.MEMBERSHIP_DEDUCTION_REJECTED, rejected(chain, "expired"))
    await publish(kafka, topics.INVENTORY_STOCK_LOW, stock_low(chain, location_id="loc-without-contact"))

    sms = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain), count=3, settle=1)
    by_type = {m["type"]: m for m in sms}
    assert len(sms) == 3
    low = by_type["inventory.stock_low"]
    assert low["to"] == ADMIN_PHONE and low["audience"] == "administrator" and low["client_id"] is None
    assert low["text"] == "Centrum: Massage oil is low in storage st-1: 2 pcs left (minimum 5 pcs)."
    admin = by_type["membership.deduction_rejected.desk"]
    assert admin["to"] == ADMIN_PHONE and admin["client_id"] == ANNA["id"]
    assert admin["text"] == (
        "Centrum: membership 4567 could not pay for svc-massage of Anna "
        f"(visit {desk['visit_id']}): the service is not included."
    )
    client = by_type["membership.deduction_rejected"]
    assert client["to"] == ANNA["phone"]
    assert client["text"] == "Anna, membership 4567 could not pay for your visit: it has expired."
    [nobody] = await notices_eventually(chain, lambda ns: len(ns) == 1, location_id="loc-without-contact")
    assert (nobody["status"], nobody["reason"]) == ("skipped", "no_administrator_contact")


async def test_loyalty_points_notice(chain: Chain, kafka: Kafka) -> None:
    await publish(kafka, topics.LOYALTY_BONUS_ACCRUED, bonus_accrued(chain))
    [sms] = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain))
    assert sms["text"] == "Anna, 30 bonus points added to card 1001; balance 150."


async def test_a_bad_event_goes_to_the_dlq_with_its_reason(chain: Chain, kafka: Kafka) -> None:
    bad = deducted(chain)
    del bad["client"]
    await kafka.publish(topics.MEMBERSHIP_DEDUCTED, bad, key="cl-x")
    dead = await kafka.read(
        topics.dlq(topics.MEMBERSHIP_DEDUCTED),
        lambda m: m.get("chain_id") == chain.id and m["_headers"].get("x-consumer-group") == "perkstream.notifications",
    )
    assert dead[0]["_headers"]["x-error"].startswith("invalid membership.deducted: client: Field required")


async def test_settings_are_validated_and_read_back(chain: Chain) -> None:
    async with chain.client("notifications") as http:
        r = await http.put("/locations/loc-1/notification-settings", json={"time_zone": "Mars/Olympus"})
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "time_zone"
        r = await http.put("/locations/loc-1/notification-settings", json={"types": {"membership.nope": {"sms": True}}})
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "types"
        r = await http.put(
            "/locations/loc-1/notification-settings", json={"send_window": {"from": "09:00", "to": "09:00"}}
        )
        assert r.status_code == 422
        default = (await http.get("/locations/loc-2/notification-settings")).json()
        assert default["source"] == "defaults" and default["types"]["membership.deducted"] == {
            "sms": True,
            "chatbot": False,
        }
        assert default["types"]["membership.issued"] == {"sms": False, "chatbot": False}
        r = await http.put("/notification-settings", json={"time_zone": "Europe/Budapest"})
        assert r.status_code == 200 and r.json()["source"] == "chain"
        assert (await http.get("/locations/loc-2/notification-settings")).json()["source"] == "chain"
        r = await http.put(
            "/locations/loc-2/notification-settings",
            json={"time_zone": "America/New_York", "send_window": {"from": "09:00", "to": "21:00"}},
        )
        got = (await http.get("/locations/loc-2/notification-settings")).json()
        assert got["source"] == "location" and got["send_window"] == {"from": "09:00", "to": "21:00"}
