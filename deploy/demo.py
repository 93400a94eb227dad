"""The `make run` demo: a chain, a membership type, a sale and a paid visit, published as a booking
system would, then what happened: the balance before and after, and the SMS as the aggregator gets it."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from deploy import aggregator
from deploy.kafka_io import Kafka
from shared import auth, topics
from shared.kafka import client_kwargs
from shared.settings import Settings

ANNA = {"id": "cl-5", "phone": "+36201234567", "name": "Anna"}
# A real Altegio webhook (tests/fixtures/booking-webhooks: a record of a branch in Almaty, its client Vyacheslav)
REAL_WEBHOOKS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "booking-webhooks"
ALTEGIO_RECORD = REAL_WEBHOOKS / "altegio_record_update_arrived_paid.json"


def say(text: str = "") -> None:
    print(text, flush=True)


async def wait_for(probe: Any, check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await probe()
        if value is not None and check(value):
            return value
        await asyncio.sleep(0.2)
    raise RuntimeError("the demo waited too long; see the service logs in .local/run/logs")


async def play(settings: Settings, urls: dict[str, str]) -> None:
    chain = f"demo-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    conn = await asyncpg.connect(settings.database_url)
    try:
        key = await auth.create_key(conn, chain, "demo")
    finally:
        await conn.close()
    now = datetime.now(UTC).isoformat()
    say(f"\n=== Demo: chain {chain} ===")
    say(f"API key for this chain (shown once): {key}")

    api = httpx.AsyncClient(
        base_url=f"{urls['memberships']}/v1/chains/{chain}", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    async with api, Kafka(settings.kafka_bootstrap_servers, client_kwargs(settings)) as kafka:
        r = await api.post(
            "/membership-types",
            json={
                "name": "Massage membership",
                "balance": "split",
                "services": [{"service_id": "svc-massage", "category_id": "cat-body", "visits": 10}],
                "price": "8000",
                "validity": {"period": 3, "unit": "month", "counted_from": "first_visit"},
                "recalculate_service_cost": True,
                "location_ids": ["loc-1"],
            },
        )
        r.raise_for_status()
        type_id = r.json()["id"]
        say(f"1. POST /membership-types -> {r.status_code}: 'Massage membership', 10 massages for 8000 (id {type_id})")

        await kafka.publish(
            topics.MEMBERSHIP_SOLD,
            {
                "event_id": f"demo-{uuid.uuid4()}",
                "occurred_at": now,
                "chain_id": chain,
                "location_id": "loc-1",
                "sale_id": f"sale-{uuid.uuid4().hex[:8]}",
                "membership_type_id": type_id,
                "code": "4567",
                "client": ANNA,
                "price": "8000",
            },
            key=ANNA["id"],
        )
        say("2. published membership.sold: code 4567 sold to Anna")

        async def membership() -> dict[str, Any] | None:
            resp = await api.get("/memberships/4567")
            return resp.json() if resp.status_code == 200 else None

        before = await wait_for(membership, lambda m: True)
        say(f"   before: status={before['status']} balance={before['balance']} valid_until={before['valid_until']}")

        visit_id = f"v-{uuid.uuid4().hex[:6]}"
        await kafka.publish(
            topics.VISIT_PAID,
            {
                "event_id": f"demo-{uuid.uuid4()}",
                "occurred_at": now,
                "chain_id": chain,
                "location_id": "loc-1",
                "visit_id": visit_id,
                "client": ANNA,
                "loyalty_card_id": None,
                "bonus_spent": "0",
                "lines": [
                    {
                        "kind": "service",
                        "item_id": "svc-massage",
                        "category_id": "cat-body",
                        "quantity": 1,
                        "sold": "1000",
                        "paid": "0",
                        "membership": {"code": "4567"},
                    }
                ],
            },
            key=ANNA["id"],
            headers=[("traceparent", f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01".encode())],
        )
        say(f"3. published visit.paid: visit {visit_id}, one massage paid with membership 4567")

        after = await wait_for(membership, lambda m: m["visits_left"] < before["visits_left"])
        say(f"   after:  status={after['status']} balance={after['balance']} valid_until={after['valid_until']}")
        cost = next(h["service_cost"] for h in after["history"] if h["kind"] == "deduction")
        say(f"   the deduction is booked at service_cost {cost} (8000 / 10 visits)")

        [sms] = await kafka.read(topics.NOTIFICATION_SMS, lambda m: m.get("chain_id") == chain, timeout=30)
        headers = sms.pop("_headers")
        say("4. the SMS aggregator reads from notification.sms:")
        say("   " + json.dumps(sms, indent=2, ensure_ascii=False).replace("\n", "\n   "))
        say(f"   headers: {headers}")

        # what an aggregator answers (deploy/aggregator.py, the reference one: `python -m deploy.aggregator`)
        receipt = aggregator.receipt_for(sms, aggregator.Seen(), datetime.now(UTC))
        assert receipt is not None
        await kafka.publish(topics.NOTIFICATION_DELIVERY, receipt, key=ANNA["id"])
        notices = httpx.AsyncClient(
            base_url=f"{urls['notifications']}/v1/chains/{chain}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )

        async def delivered() -> list[dict[str, Any]] | None:
            resp = await notices.get("/notifications", params={"client_id": ANNA["id"]})
            return resp.json() if resp.status_code == 200 else None

        async with notices:
            history = await wait_for(delivered, lambda h: bool(h) and h[0]["status"] == "delivered")
        say(
            f"5. the aggregator sends it ({sms['segments']} SMS, {sms['encoding']}, before {sms['send_before']}) and "
            "reports delivery on notification.delivery; GET /notifications now says:"
        )
        say(f"   status={history[0]['status']} segments={history[0]['segments']} ({history[0]['encoding']})")
        await webhook_demo(settings, urls, chain, key, kafka)
    say("\nTry it yourself:")
    say(f"   curl -s -H 'Authorization: Bearer {key}' {urls['memberships']}/v1/chains/{chain}/memberships/4567")


async def webhook_demo(settings: Settings, urls: dict[str, str], chain: str, key: str, kafka: Kafka) -> None:
    """An Altegio branch connected to the gateway: its real record webhook, marked as a no-show, becomes a
    deduction by the location's policy and an SMS (no call to Altegio's API is needed for a no-show)."""
    body = json.loads(ALTEGIO_RECORD.read_text())
    data = body["data"]
    client = {"id": str(data["client"]["id"]), "phone": data["client"]["phone"], "name": data["client"]["name"]}
    service = str(data["services"][0]["id"])
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(headers=headers, timeout=10) as http:
        base = f"{urls['memberships']}/v1/chains/{chain}"
        r = await http.post(
            f"{base}/membership-types",
            json={
                "name": "Haircut membership",
                "balance": "split",
                "services": [{"service_id": service, "visits": 5}],
                "price": "15000",
                "validity": {"period": 1, "unit": "year", "counted_from": "sale"},
                "location_ids": ["loc-almaty"],
            },
        )
        r.raise_for_status()
        (await http.put(f"{base}/locations/loc-almaty/deduction-policy", json={"no_show": True})).raise_for_status()
        await kafka.publish(
            topics.MEMBERSHIP_SOLD,
            {
                "event_id": f"demo-{uuid.uuid4()}",
                "occurred_at": datetime.now(UTC).isoformat(),
                "chain_id": chain,
                "location_id": "loc-almaty",
                "sale_id": f"sale-{uuid.uuid4().hex[:8]}",
                "membership_type_id": r.json()["id"],
                "code": "7001",
                "client": client,
                "price": "15000",
            },
            key=client["id"],
        )
        r = await http.post(
            f"{urls['gateway']}/v1/chains/{chain}/connections",
            json={
                "system": "altegio",
                "name": "Altegio, Almaty",
                "api_base_url": "https://api.alteg.io",
                "partner_token": "demo",
                "user_token": "demo",
                "locations": [
                    {"company_id": body["company_id"], "location_id": "loc-almaty", "time_zone": "Asia/Almaty"}
                ],
            },
        )
        r.raise_for_status()
        connection = r.json()
        say(f"\n6. POST /connections (gateway) -> {r.status_code}: Altegio branch {body['company_id']} is loc-almaty;")
        say(f"   Altegio posts to {urls['gateway']}{connection['webhook_path']}?secret=<secret>")
        # the real webhook, as Altegio sends it, with its documented fields for a no-show and a fresh record
        data.update(
            attendance=-1,
            visit_attendance=-1,
            paid_full=0,
            id=int(time.time()),
            last_change_date=(datetime.now(UTC) + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%S+0500"),
        )
        body["resource_id"] = data["id"]
        r = await http.post(
            f"{urls['gateway']}{connection['webhook_path']}", params={"secret": connection["secret"]}, json=body
        )
        say(f"7. Altegio's record webhook (attendance -1: no-show) -> {r.status_code} {r.text}")
    [sms] = await kafka.read(
        topics.NOTIFICATION_SMS, lambda m: m.get("chain_id") == chain and m.get("client_id") == client["id"], timeout=30
    )
    sms.pop("_headers")
    say("8. the no-show deducted a visit by loc-almaty's policy; the SMS aggregator reads:")
    say(f"   to={sms['to']} type={sms['type']}: {sms['text']}")
