"""The wallet's events, published on their topics as the wallet service publishes them (the contract),
become notices: a gift card sold (the buyer, and the holder when their phone is another), its balance
after use, its end soon, an account topped up, paying, below zero, and payments not taken (the
administrator), each once, through the location's settings, opt-outs and send window."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration import wallet_helpers as wallet
from tests.integration.conftest import Chain, eventually, of_chain, publish
from tests.integration.notifications_helpers import (
    ADMIN_PHONE,
    ANNA,
    caused_by,
    notices,
    notices_eventually,
    put_settings,
)
from tests.integration.proof import until_marker

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

BEA = {"id": "cl-6", "phone": "+36207654321", "name": "Bea"}


def issued(chain: Chain, *, holder: dict[str, Any] | None, code: str | None = "GC-7", **fields: Any) -> dict[str, Any]:
    return chain.event(
        **{
            "gift_card_id": str(uuid.uuid4()),
            "gift_card_type_id": str(uuid.uuid4()),
            "type_name": "Spa 5000",
            "code": code,
            "sale_id": f"inventory:visit:v-{uuid.uuid4().hex[:8]}:0:1",
            "client": ANNA,
            "holder": holder,
            "balance": "5000.00",
            "valid_until": None,
            "status": "active",
            **fields,
        }
    )


def charged(chain: Chain, **fields: Any) -> dict[str, Any]:
    return chain.event(
        **{
            "gift_card_id": str(uuid.uuid4()),
            "code": "GC-7",
            "type_name": "Spa 5000",
            "client": ANNA,
            "visit_id": f"v-{uuid.uuid4().hex[:8]}",
            "line": 0,
            "amount": "1250.50",
            "balance": "3749.50",
            "status": "active",
            "valid_until": None,
            **fields,
        }
    )


def account(chain: Chain, client: dict[str, Any] = ANNA, **fields: Any) -> dict[str, Any]:
    return chain.event(**{"client_id": client["id"], "client": client, "credit_limit": "0.00", **fields})


async def publish_account(kafka: Kafka, topic: str, event: dict[str, Any]) -> None:
    """The wallet keys an account's events by the client's id."""
    await kafka.publish(topic, event, key=event["client_id"])


def of_client(chain: Chain, client: dict[str, Any]) -> Any:
    """Matches the notices about `client` (a notice names its client by `client_id`)."""
    return lambda m: m.get("chain_id") == chain.id and m.get("client_id") == client["id"]


def of_event(history: list[dict[str, Any]], event: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return sorted(
        (n["type"], n["recipient"], n["status"]) for n in history if n["source_event_id"] == event["event_id"]
    )


async def test_a_gift_card_given_to_someone_tells_the_buyer_and_the_holder_once(chain: Chain, kafka: Kafka) -> None:
    gift = issued(chain, holder=BEA)
    await publish(kafka, topics.GIFT_CARD_ISSUED, gift)
    await publish(kafka, topics.GIFT_CARD_ISSUED, gift)  # redelivered: the same event
    # The holder's phone is the buyer's, written another way: the buyer's notice reaches them already.
    same_phone = issued(chain, holder={**BEA, "phone": "+36 20 123 4567"}, code=None)
    await publish(kafka, topics.GIFT_CARD_ISSUED, same_phone)
    no_phone = issued(chain, holder={**BEA, "phone": None}, code="GC-8")
    await publish(kafka, topics.GIFT_CARD_ISSUED, no_phone)
    # Every event above is on the buyer's partition: once the marker's notice is recorded, theirs are.
    marker = issued(chain, holder=None, code="GC-9")
    await publish(kafka, topics.GIFT_CARD_ISSUED, marker)

    annas = await until_marker(kafka, topics.NOTIFICATION_SMS, of_client(chain, ANNA), caused_by(marker))
    assert sorted((m["source_event_id"], m["text"]) for m in annas) == sorted(
        [
            (gift["event_id"], "Anna, your gift card GC-7 is ready: balance 5000."),
            (same_phone["event_id"], "Anna, your gift card Spa 5000 is ready: balance 5000."),
            (no_phone["event_id"], "Anna, your gift card GC-8 is ready: balance 5000."),
        ]
    )
    history = await notices(chain)
    assert of_event(history, gift) == [
        ("gift_card.issued", ANNA["phone"], "queued"),
        ("gift_card.received", BEA["phone"], "queued"),
    ]
    assert of_event(history, same_phone) == [("gift_card.issued", ANNA["phone"], "queued")]
    assert of_event(history, no_phone) == [("gift_card.issued", ANNA["phone"], "queued")]
    assert len(history) == 5  # and the marker's: nothing else
    # The holder's notice, on the holder's key, once.
    [holders] = await kafka.read(topics.NOTIFICATION_SMS, of_client(chain, BEA), settle=1)
    assert (holders["source_event_id"], holders["type"]) == (gift["event_id"], "gift_card.received")
    assert holders["text"] == "Bea, you have received gift card GC-7: balance 5000."


async def test_the_balance_after_a_gift_card_pays_and_before_it_ends(chain: Chain, kafka: Kafka) -> None:
    await put_settings(chain, time_zone="Europe/Budapest")
    await publish(kafka, topics.GIFT_CARD_CHARGED, charged(chain))
    spent = charged(chain, amount="800.00", balance="0.00", status="spent", code=None)
    await publish(kafka, topics.GIFT_CARD_CHARGED, spent)
    expiring = chain.event(
        gift_card_id=str(uuid.uuid4()),
        code="GC-7",
        type_name="Spa 5000",
        client=BEA,
        balance="120.00",
        valid_until="2026-12-08T23:30:00+00:00",  # the 9th in Budapest
        days_left=7,
    )
    await publish(kafka, topics.GIFT_CARD_EXPIRING, expiring)

    sms = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain), count=3)
    assert sorted((m["type"], m["to"], m["text"]) for m in sms) == [
        ("gift_card.charged", ANNA["phone"], "Anna, 1250.50 paid with gift card GC-7; balance 3749.50."),
        ("gift_card.charged", ANNA["phone"], "Anna, 800 paid with gift card Spa 5000; balance 0."),
        ("gift_card.expiring", BEA["phone"], "Bea, gift card GC-7 expires on 2026-12-09; balance 120."),
    ]


async def test_an_account_topped_up_paying_and_below_zero(chain: Chain, kafka: Kafka) -> None:
    topped = account(chain, amount="3000.00", balance="3500.00", method="cash", source="deposit", deposit_id="d-1")
    await publish_account(kafka, topics.ACCOUNT_TOPPED_UP, topped)
    paid = account(chain, amount="700.00", balance="2800.00", visit_id="v-1", line=0)
    await publish_account(kafka, topics.ACCOUNT_CHARGED, paid)
    on_credit = account(chain, amount="3000.00", balance="-200.00", credit_limit="1000.00", visit_id="v-2", line=0)
    await publish_account(kafka, topics.ACCOUNT_CHARGED, on_credit)

    sms = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain), count=3)
    assert sorted((m["type"], m["text"]) for m in sms) == [
        ("account.below_zero", "Anna, 3000 paid from your account on credit; your balance is -200."),
        ("account.charged", "Anna, 700 paid from your account; balance 2800."),
        ("account.topped_up", "Anna, 3000 added to your account; balance 3500."),
    ]
    assert {m["to"] for m in sms} == {ANNA["phone"]} and {m["client_id"] for m in sms} == {ANNA["id"]}


async def test_account_notices_keep_the_clients_opt_out_and_the_locations_window(chain: Chain, kafka: Kafka) -> None:
    # A window that is closed now at loc-1: its notices are held until it opens.
    now = datetime.now(UTC)
    await put_settings(
        chain,
        send_window={
            "from": (now + timedelta(hours=2)).strftime("%H:00"),
            "to": (now + timedelta(hours=3)).strftime("%H:00"),
        },
        types={"account.below_zero": {"sms": False}},
    )
    async with chain.client("notifications") as http:
        r = await http.put(f"/clients/{BEA['id']}/notification-opt-out", json={"sms": True, "chatbot": False})
        assert r.status_code == 200, r.text
    held = account(chain, amount="100.00", balance="100.00", method="card", source="desk", operation_id="op-1")
    await publish_account(kafka, topics.ACCOUNT_TOPPED_UP, held)
    off = account(chain, amount="300.00", balance="-200.00", credit_limit="500.00", visit_id="v-3", line=0)
    await publish_account(kafka, topics.ACCOUNT_CHARGED, off)
    opted = account(chain, BEA, amount="50.00", balance="50.00", method="cash", source="deposit", deposit_id="d-2")
    await publish_account(kafka, topics.ACCOUNT_TOPPED_UP, opted)
    # Anna's marker, after her two events on her partition, at a location without settings.
    marker = account(chain, amount="1.00", balance="101.00", method="cash", source="deposit", location_id="loc-2")
    await publish_account(kafka, topics.ACCOUNT_TOPPED_UP, marker)

    assert await until_marker(kafka, topics.NOTIFICATION_SMS, of_chain(chain), caused_by(marker)) == []
    history = await notices_eventually(chain, lambda ns: len(ns) >= 3)
    [waiting] = [n for n in history if n["source_event_id"] == held["event_id"]]
    assert (waiting["status"], waiting["published_at"]) == ("queued", None) and waiting["due_at"] is not None
    assert of_event(history, off) == []  # the type is off at loc-1
    assert of_event(history, opted) == [("account.topped_up", BEA["phone"], "skipped")]
    assert next(n for n in history if n["source_event_id"] == opted["event_id"])["reason"] == "opted_out"


async def test_payments_not_taken_are_told_to_the_administrator(chain: Chain, kafka: Kafka) -> None:
    await put_settings(chain, location_name="Centrum", administrator={"name": "Eva", "phone": ADMIN_PHONE})
    async with chain.client("notifications") as http:  # the client's opt-out is not the administrator's
        r = await http.put(f"/clients/{ANNA['id']}/notification-opt-out", json={"sms": True, "chatbot": False})
        assert r.status_code == 200, r.text
    rejected = chain.event(
        visit_id="v-9",
        client=ANNA,
        partial_payments=False,
        taken=[],
        rejected=[
            {"line": 0, "instrument": "account", "amount": "300.00", "reason": "not_taken"},
            {
                "line": 1,
                "instrument": "gift_card",
                "code": "GC-7",
                "amount": "500.00",
                "reason": "insufficient_balance",
            },
        ],
    )
    await publish(kafka, topics.WALLET_PAYMENT_REJECTED, rejected)

    [sms] = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain))
    assert (sms["type"], sms["to"], sms["audience"], sms["client_id"]) == (
        "wallet.payment_rejected",
        ADMIN_PHONE,
        "administrator",
        ANNA["id"],
    )
    assert sms["text"] == (
        "Centrum: payments for visit v-9 of Anna were not taken: gift card GC-7 500: the balance is too low; "
        "account 300: not taken, as another payment was refused. No payment of the visit was taken."
    )
    # 72 hours to an administrator, not a client's 24.
    sent = datetime.fromisoformat(sms["send_before"]) - datetime.now(UTC)
    assert timedelta(hours=71) < sent <= timedelta(hours=72)


async def test_a_gift_card_sold_and_not_issued_is_told_to_the_administrator(chain: Chain, kafka: Kafka) -> None:
    await put_settings(chain, location_name="Centrum", administrator={"name": "Eva", "phone": ADMIN_PHONE})
    refused = chain.event(
        operation_id=str(uuid.uuid4()),
        operation_number=41,
        line=0,
        sale_id="inventory:visit:v-1:0:1",
        gift_card_type_id=str(uuid.uuid4()),
        product_name="Spa 5000",
        code="GC-7",
        client=ANNA,
        amount="4500.00",
        reason="wrong_location",
        source="visit:v-1",
    )
    await publish(kafka, topics.INVENTORY_GIFT_CARD_SALE_REFUSED, refused)

    [sms] = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain))
    assert (sms["type"], sms["to"], sms["audience"]) == (
        "inventory.gift_card_sale_refused",
        ADMIN_PHONE,
        "administrator",
    )
    assert sms["text"] == (
        "Centrum: gift card GC-7 (Spa 5000) sold to Anna was not issued: the type is not valid at this location. "
        "4500 was paid for it (operation 41)."
    )


async def test_a_real_sale_deposit_and_payment_through_the_wallet_are_told(chain: Chain, kafka: Kafka) -> None:
    """End to end: the wallet service issues, tops up and takes payments; its events become the notices."""
    await put_settings(chain, location_name="Centrum", administrator={"name": "Eva", "phone": ADMIN_PHONE})
    card_type = await wallet.create_card_type(chain)
    code = f"G{uuid.uuid4().hex[:8].upper()}"
    await wallet.sell_card(chain, kafka, card_type["id"], code, holder=BEA)
    await wallet.deposit(chain, kafka, "1000")
    await wallet.account_eventually(chain, lambda a: a["balance"] == "1000.00")
    async with chain.client("wallet") as http:
        assert (await http.put("/wallet-settings", json={"allow_credit": True})).status_code == 200
        r = await http.put(f"/clients/{ANNA['id']}/account", json={"credit_limit": "1000"})
        assert r.status_code == 200, r.text
    paid = await wallet.pay(
        kafka,
        wallet.visit(
            chain, wallet.line(paid="4000", payments=[wallet.by_card(code, "2500"), wallet.by_account("1500")])
        ),
    )
    refused = await wallet.pay(
        kafka, wallet.visit(chain, wallet.line(paid="100", payments=[wallet.by_card("NOPE1", "100")]))
    )

    # Three hops (the wallet, its outbox, the notifications service) on a loaded machine: a minute at most.
    history = await eventually(lambda: notices(chain), lambda ns: len(ns) >= 6, timeout=60, what="the six notices")
    assert sorted((n["type"], n["recipient"]) for n in history) == [
        ("account.below_zero", ANNA["phone"]),
        ("account.topped_up", ANNA["phone"]),
        ("gift_card.charged", ANNA["phone"]),
        ("gift_card.issued", ANNA["phone"]),
        ("gift_card.received", BEA["phone"]),
        ("wallet.payment_rejected", ADMIN_PHONE),
    ]
    texts = {n["type"]: n["text"] for n in history}
    assert texts["gift_card.issued"] == f"Anna, your gift card {code} is ready: balance 10000."
    assert texts["gift_card.received"] == f"Bea, you have received gift card {code}: balance 10000."
    assert texts["account.topped_up"] == "Anna, 1000 added to your account; balance 1000."
    assert texts["gift_card.charged"] == f"Anna, 2500 paid with gift card {code}; balance 7500."
    assert texts["account.below_zero"] == "Anna, 1500 paid from your account on credit; your balance is -500."
    assert texts["wallet.payment_rejected"] == (
        f"Centrum: payments for visit {refused['visit_id']} of Anna were not taken: gift card NOPE1 100: no such "
        "card in the chain. No payment of the visit was taken."
    )
    assert {n["status"] for n in history} == {"queued"} and paid["visit_id"] != refused["visit_id"]


async def test_a_desk_top_up_with_the_clients_phone_is_told_and_one_without_is_not(chain: Chain, kafka: Kafka) -> None:
    """Regression: the desk's `account.topped_up` carried no phone, so no top-up at the desk was told."""

    async def top_up(amount: str, client: dict[str, Any] | None) -> None:
        body: dict[str, Any] = {"amount": amount, "method": "card", "location_id": "loc-1"}
        if client is not None:
            body["client"] = client
        async with chain.client("wallet") as http:
            r = await http.post(f"/clients/{ANNA['id']}/account/top-ups", json=body, headers={"X-User": "eva"})
        assert r.status_code == 201, r.text

    await top_up("300", {"phone": "06 20 123 4567", "name": "Anna"})  # national form: E.164 in the event
    await top_up("20", None)
    await top_up("1", {"phone": ANNA["phone"]})  # the marker, on Anna's key after the two above
    [marker] = await kafka.read(topics.ACCOUNT_TOPPED_UP, of_chain(chain, amount="1.00"), timeout=30)

    told = await until_marker(kafka, topics.NOTIFICATION_SMS, of_client(chain, ANNA), caused_by(marker), timeout=60)
    assert [(m["type"], m["to"], m["text"]) for m in told] == [
        ("account.topped_up", ANNA["phone"], "Anna, 300 added to your account; balance 300."),
    ]
    [silent] = await kafka.read(topics.ACCOUNT_TOPPED_UP, of_chain(chain, amount="20.00"))
    assert silent["client"]["id"] == ANNA["id"] and silent["client"].get("phone") is None
    history = await notices(chain)
    assert of_event(history, silent) == [("account.topped_up", None, "skipped")]
    assert next(n for n in history if n["source_event_id"] == silent["event_id"])["reason"] == "no_phone"
