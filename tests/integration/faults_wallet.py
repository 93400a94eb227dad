"""The fault suite's stored value (tests/integration/test_faults.py): every client of the plan (at most
WALLET_CLIENTS) holds a gift card (sold on `gift_card.sold`) and money on her account (`account.deposit`),
and every visit of hers pays part of the oil with the card and part from the account: whatever batch a
fault catches in flight, the wallet has payments to replay (with ten of a hundred clients paying, a
mutant wallet without its inbox passed: the replayed batches held no payment). Two set-up events per
client, before the storm; the payments ride on visits the scenario plays anyway; the oil's `paid`
stays what it was (it counts what the instruments paid), so nothing else the suite derives changes.

After the storm each such client's card and account must hold exactly what their visits leave (par
value / deposit less one payment per visit), with one movement per visit on each, one `gift_card.charged`
and one `account.charged` per paying visit on the topics, no payment rejected, and the whole wallet state
equal to the calm twin's."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

from deploy import scenario
from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, eventually

WALLET_CLIENTS = 1000
PAR_VALUE, DEPOSIT = Decimal("5000"), Decimal("8000")
BY_CARD, BY_ACCOUNT = Decimal("1.50"), Decimal("2.25")  # of the oil's 300, paid by each instrument
CARD_TYPE: dict[str, Any] = {
    "name": "Spa gift card",
    "par_value": str(PAR_VALUE),
    "write_off": "multiple",
    "allow_without_code": False,
    "location_ids": [],
    "limits": {"applies_to": "any"},
    "validity": {"kind": "unlimited"},
}


def card_code(plan: scenario.Plan, i: int) -> str:
    return f"G-{plan.tag}-{i:05d}"


def pays(plan: scenario.Plan, client_id: str) -> int | None:
    """The client's index when she pays with the wallet, else None."""
    for i in range(min(WALLET_CLIENTS, plan.clients)):
        if plan.client(i)["id"] == client_id:
            return i
    return None


async def set_up(plan: scenario.Plan, chain: Chain, kafka: Kafka) -> None:
    """The card type (HTTP), a card and a deposit per paying client (their topics, with ids that depend on
    the plan only, as the scenario's); answers once every card and deposit is there."""
    async with chain.client("wallet") as http:
        r = await http.post("/gift-card-types", json=CARD_TYPE)
        assert r.status_code == 201, r.text
        type_id = r.json()["id"]
    before = (scenario.START - timedelta(days=1)).isoformat()
    sends = []
    for i in range(min(WALLET_CLIENTS, plan.clients)):
        client = plan.client(i)
        envelope = {"occurred_at": before, "chain_id": chain.id, "location_id": scenario.LOCATION, "client": client}
        sale = {
            **envelope,
            "event_id": f"e-gc-sale-{plan.tag}-{i}",
            "sale_id": f"gc-sale-{plan.tag}-{i}",
            "gift_card_type_id": type_id,
            "code": card_code(plan, i),
            "price": str(PAR_VALUE),
        }
        deposit = {
            **envelope,
            "event_id": f"e-deposit-{plan.tag}-{i}",
            "deposit_id": f"deposit-{plan.tag}-{i}",
            "amount": str(DEPOSIT),
            "method": "cash",
        }
        for topic, event in ((topics.GIFT_CARD_SOLD, sale), (topics.ACCOUNT_DEPOSIT, deposit)):
            sends.append(await kafka.producer.send(topic, json.dumps(event).encode(), key=client["id"].encode()))
    await asyncio.gather(*sends)

    async def ready() -> int:
        async with chain.client("wallet") as http:
            n = 0
            for i in range(min(WALLET_CLIENTS, plan.clients)):
                card = await http.get(f"/gift-cards/{card_code(plan, i)}")
                account = await http.get(f"/clients/{plan.client(i)['id']}/account")
                n += card.status_code == 200 and account.status_code == 200 and account.json()["balance"] != "0.00"
            return n

    await eventually(ready, lambda n: n == min(WALLET_CLIENTS, plan.clients), timeout=120, what="cards and deposits")


def with_payments(plan: scenario.Plan, visits: Iterable[scenario.Visit]) -> Iterator[scenario.Visit]:
    """The visits, the paying clients' oil paid in part by their card and their account."""
    for v in visits:
        i = pays(plan, v.client_id)
        if i is not None:
            topic, paid = v.messages[0]
            assert topic == topics.VISIT_PAID
            lines = [dict(line) for line in paid["lines"]]
            oil = next(n for n, line in enumerate(lines) if line["item_id"] == scenario.OIL)
            lines[oil]["payments"] = [
                {"instrument": "gift_card", "gift_card": {"code": card_code(plan, i)}, "amount": str(BY_CARD)},
                {"instrument": "account", "amount": str(BY_ACCOUNT)},
            ]
            v.messages[0] = (topic, {**paid, "lines": lines})
        yield v


def paying_visits(plan: scenario.Plan, played: int) -> int:
    """How many of `played` visits (round-robin over the clients) pay with the wallet."""
    return sum(played // plan.clients + (i < played % plan.clients) for i in range(min(WALLET_CLIENTS, plan.clients)))


async def wallet_state(plan: scenario.Plan, chain: Chain) -> dict[str, Any]:
    """Each paying client's card and account with their movements (the moment a movement was stored
    dropped: the clock's, not the stream's)."""

    def moves(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in m.items() if k != "at"} for m in items]

    state: dict[str, Any] = {}
    async with chain.client("wallet") as http:
        for i in range(min(WALLET_CLIENTS, plan.clients)):
            code, client_id = card_code(plan, i), plan.client(i)["id"]
            card = (await http.get(f"/gift-cards/{code}")).json()
            history = (await http.get(f"/gift-cards/{code}/history", params={"limit": 1000})).json()
            account = (await http.get(f"/clients/{client_id}/account")).json()
            movements = (await http.get(f"/clients/{client_id}/account/movements", params={"limit": 1000})).json()
            state[client_id] = {
                "card": {k: card[k] for k in ("code", "balance", "status", "price")},
                "card_history": moves(history),
                "account": account,
                "account_movements": moves(movements),
            }
    return state


def unlike_the_payments(state: dict[str, Any], plan: scenario.Plan, played: int) -> list[str]:
    """Where the paying clients' wallet differs from what `played` visits make."""
    wrong = []
    for i in range(min(WALLET_CLIENTS, plan.clients)):
        visits = played // plan.clients + (i < played % plan.clients)
        client_id = plan.client(i)["id"]
        mine = state[client_id]
        card_kinds = Counter(m["kind"] for m in mine["card_history"])
        account_kinds = Counter(m["kind"] for m in mine["account_movements"])
        got = {
            "card balance": Decimal(mine["card"]["balance"]),
            "card charges": card_kinds["charge"],
            "account balance": Decimal(mine["account"]["balance"]),
            "account charges": account_kinds["charge"],
            "top-ups": account_kinds["top_up"],
            "charged visits": len({m["visit_id"] for m in mine["card_history"] if m["kind"] == "charge"}),
        }
        want = {
            "card balance": PAR_VALUE - BY_CARD * visits,
            "card charges": visits,
            "account balance": DEPOSIT - BY_ACCOUNT * visits,
            "account charges": visits,
            "top-ups": 1,
            "charged visits": visits,
        }
        wrong += [f"{client_id} {k}: {got[k]} != {v} ({visits} visits)" for k, v in want.items() if got[k] != v]
    return wrong


async def charged_per_visit(kafka: Kafka, chain: Chain) -> dict[str, Counter[str]]:
    """Per charge topic, how many distinct events it carries per visit of the chain (the relay may publish
    one twice, with its event_id: that is one event)."""
    found = {}
    for topic in (topics.GIFT_CARD_CHARGED, topics.ACCOUNT_CHARGED):
        events = {
            m["event_id"]: str(m.get("visit_id"))
            for m in await kafka.read_to_end(topic)
            if m.get("chain_id") == chain.id
        }
        found[topic] = Counter(events.values())
    return found


async def rejected(kafka: Kafka, chain: Chain) -> list[dict[str, Any]]:
    return [m for m in await kafka.read_to_end(topics.WALLET_PAYMENT_REJECTED) if m.get("chain_id") == chain.id]
