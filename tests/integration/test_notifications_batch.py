"""Many domain events arriving as one batch are told exactly as one at a time would tell them: two chains,
several clients (the same client id in both chains), several events per client, interleaved, each with
its own trace; settings, templates and opt-outs of the right chain and location; notices on the topics
in each client's order."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, new_chain
from tests.integration.notifications_helpers import (
    caused_by,
    deducted,
    notices_eventually,
    put_settings,
    run_release,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

ANNA = {"id": "cl-1", "phone": "+36201234567", "name": "Anna"}
BO = {"id": "cl-2", "phone": "+36201234568", "name": "Bo"}
CY = {"id": "cl-3", "name": "Cy"}  # no phone


def trace() -> bytes:
    return f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01".encode()


def deducted_text(name: str, left: int) -> str:
    return f"{name}, 1 visit was deducted from membership 4567; {left} left."


async def test_a_burst_of_events_is_told_as_one_at_a_time_would(
    chain: Chain, stack: Stack, db: asyncpg.Pool, kafka: Kafka
) -> None:
    a, b = chain, await new_chain(stack, db)
    # Chain a: loc-2 texts in Hungarian and by chatbot too, loc-3 not at all, loc-held only in an hour
    # that is not now; Bo opted out of SMS (in chain a only). Chain b: its own English text everywhere.
    async with a.client("notifications") as http:
        r = await http.put(
            "/templates/membership.deducted", json={"locale": "hu", "text": "{client_name}, maradt {balance}."}
        )
        assert r.status_code == 200, r.text
        r = await http.put(f"/clients/{BO['id']}/notification-opt-out", json={"sms": True, "chatbot": False})
        assert r.status_code == 200, r.text
    await put_settings(a, "loc-2", locale="hu", types={"membership.deducted": {"sms": True, "chatbot": True}})
    await put_settings(a, "loc-3", types={"membership.deducted": {"sms": False}})
    hour = datetime.now(UTC).hour
    await put_settings(
        a, "loc-held", send_window={"from": f"{(hour + 2) % 24:02d}:00", "to": f"{(hour + 3) % 24:02d}:00"}
    )
    async with b.client("notifications") as http:
        r = await http.put(
            "/templates/membership.deducted",
            json={"locale": "en", "text": "{client_name} at {location_name}: {balance} left."},
        )
        assert r.status_code == 200, r.text
        r = await http.put("/notification-settings", json={"location_name": "Buda"})
        assert r.status_code == 200, r.text

    plan: list[tuple[Chain, dict[str, Any], str, int]] = [
        (a, ANNA, "loc-1", 9),
        (b, ANNA, "loc-1", 9),
        (a, BO, "loc-1", 5),
        (a, ANNA, "loc-2", 8),
        (a, CY, "loc-1", 4),
        (b, BO, "loc-1", 5),
        (a, ANNA, "loc-3", 7),
        (b, ANNA, "loc-1", 8),
        (a, ANNA, "loc-held", 6),
        (a, ANNA, "loc-1", 5),
        (b, ANNA, "loc-1", 7),
        (a, BO, "loc-1", 4),
        (a, CY, "loc-1", 3),
        (a, ANNA, "loc-1", 4),
        # The last of each client's path: in chain b, texted (what is before them is on the topic then).
        (b, ANNA, "loc-1", 6),
        (b, BO, "loc-1", 4),
        (b, {**CY, "phone": "+36201234569"}, "loc-1", 3),
    ]
    events = [(c, deducted(c, client=who, location_id=loc, visits_left=left)) for c, who, loc, left in plan]
    traces = {e["event_id"]: trace() for _, e in events}
    # Published at once (one batch, or a few), the first one twice: the copy changes nothing.
    sends = []
    for _, e in [*events[:3], events[0], *events[3:]]:
        sends.append(
            await kafka.producer.send(
                topics.MEMBERSHIP_DEDUCTED,
                json.dumps(e).encode(),
                key=e["client"]["id"].encode(),
                headers=[("traceparent", traces[e["event_id"]])],
            )
        )
    for s in sends:
        await s

    for _, e in events[-3:]:
        assert await kafka.read(topics.NOTIFICATION_SMS, caused_by(e), timeout=60)
    ours = {a.id: "a", b.id: "b"}
    told: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    for topic in (topics.NOTIFICATION_SMS, topics.NOTIFICATION_CHATBOT):
        for m in await kafka.read_to_end(topic, lambda m: m.get("chain_id") in ours):
            assert m["_headers"]["traceparent"] == traces[m["source_event_id"]].decode()
            told.setdefault((topic, ours[m["chain_id"]], m["client_id"]), []).append((m["text"], m["to"]))
    sms, bot = topics.NOTIFICATION_SMS, topics.NOTIFICATION_CHATBOT
    assert told == {
        (sms, "a", "cl-1"): [
            (deducted_text("Anna", 9), ANNA["phone"]),
            ("Anna, maradt 8.", ANNA["phone"]),
            (deducted_text("Anna", 5), ANNA["phone"]),
            (deducted_text("Anna", 4), ANNA["phone"]),
        ],
        (bot, "a", "cl-1"): [("Anna, maradt 8.", ANNA["phone"])],
        (sms, "b", "cl-1"): [(f"Anna at Buda: {n} left.", ANNA["phone"]) for n in (9, 8, 7, 6)],
        (sms, "b", "cl-2"): [(f"Bo at Buda: {n} left.", BO["phone"]) for n in (5, 4)],
        (sms, "b", "cl-3"): [("Cy at Buda: 3 left.", "+36201234569")],
    }

    recorded = await notices_eventually(a, lambda ns: len(ns) == 10, what="chain a's notices")
    by_event = {(n["source_event_id"], n["channel"]): n for n in recorded}
    for c, e in events:
        if c is not a:
            continue
        who, loc = e["client"]["id"], e["location_id"]
        if loc == "loc-3":
            assert (e["event_id"], "sms") not in by_event  # the type is off there: nothing recorded
            continue
        n = by_event[(e["event_id"], "sms")]
        status = (
            ("skipped", "opted_out")
            if who == BO["id"]
            else ("skipped", "no_phone")
            if who == CY["id"]
            else ("queued", None)
        )
        assert (n["status"], n["reason"]) == status, n
        assert (n["published_at"] is None) == (loc == "loc-held" or n["status"] == "skipped"), n
    [held] = [n for n in recorded if n["location_id"] == "loc-held"]
    assert held["due_at"] is not None and held["text"] == deducted_text("Anna", 6)
    assert {n["client_id"] for n in await notices_eventually(b, lambda ns: len(ns) == 7)} == {"cl-1", "cl-2", "cl-3"}

    # Released later, the held notice carries its own event's trace.
    assert await run_release(a, datetime.fromisoformat(held["due_at"]) + timedelta(seconds=1)) == {
        "released": 1,
        "skipped_opted_out": 0,
    }
    [late] = await kafka.read(topics.NOTIFICATION_SMS, lambda m: m.get("notification_id") == held["id"])
    assert late["_headers"]["traceparent"] == traces[held["source_event_id"]].decode()


async def test_receipts_arriving_together_each_see_the_earlier_ones(chain: Chain, kafka: Kafka) -> None:
    first, second = deducted(chain, client=ANNA), deducted(chain, client=ANNA, visits_left=8)
    for e in (first, second):
        await kafka.publish(topics.MEMBERSHIP_DEDUCTED, e, key=ANNA["id"])
    nid = {}
    for e in (first, second):
        [sms] = await kafka.read(topics.NOTIFICATION_SMS, caused_by(e))
        nid[e["event_id"]] = sms["notification_id"]
    at = datetime.now(UTC)
    burst = [  # in this order, on one partition: one batch (or a few)
        (first, "sent", 1, {"provider_message_id": "pm-1"}),
        (second, "sent", 1, {"provider_message_id": "pm-2", "chain_id": chain.id}),
        (first, "delivered", 5, {}),
        (second, "failed", 2, {"error": "absent subscriber"}),  # keeps pm-2
        (first, "sent", 3, {"provider_message_id": "pm-late"}),  # late: never moves it back
        (second, "delivered", 4, {}),  # after a failure: nothing moves it
    ]
    sends = [
        await kafka.producer.send(
            topics.NOTIFICATION_DELIVERY,
            json.dumps(
                {
                    "notification_id": nid[e["event_id"]],
                    "status": status,
                    "at": (at + timedelta(seconds=s)).isoformat(),
                    **extra,
                }
            ).encode(),
            key=ANNA["id"].encode(),
        )
        for e, status, s, extra in burst
    ]
    for s in sends:
        await s

    def final(ns: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
        return {
            n["source_event_id"]: (
                n["status"],
                n["provider_message_id"],
                n["reason"],
                datetime.fromisoformat(n["status_at"]) if n["status_at"] else None,
            )
            for n in ns
        }

    expected = {
        first["event_id"]: ("delivered", "pm-1", None, at + timedelta(seconds=5)),
        second["event_id"]: ("failed", "pm-2", "absent subscriber", at + timedelta(seconds=2)),
    }
    await notices_eventually(chain, lambda ns: final(ns) == expected, what="the receipts' effects")
