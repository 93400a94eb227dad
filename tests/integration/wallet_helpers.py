"""Builders for the wallet's tests: a gift card type (HTTP), a sale (`gift_card.sold`), a paid visit whose
lines pay with gift cards or the account (`visit.paid`), and reads of cards, accounts and topics."""

from __future__ import annotations

import uuid
from typing import Any

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, eventually, of_chain, publish

ANNA = {"id": "cl-5", "phone": "+36201234567", "name": "Anna"}
BEA = {"id": "cl-6", "phone": "+36207654321", "name": "Bea"}

SPA_TYPE: dict[str, Any] = {
    "name": "Spa 10000",
    "par_value": "10000",
    "write_off": "multiple",
    "allow_without_code": False,
    "location_ids": [],
    "limits": {"applies_to": "any"},
    "validity": {"kind": "unlimited"},
}


async def create_card_type(chain: Chain, **overrides: Any) -> dict[str, Any]:
    async with chain.client("wallet") as http:
        r = await http.post("/gift-card-types", json={**SPA_TYPE, "name": f"Spa {uuid.uuid4().hex[:6]}", **overrides})
    assert r.status_code == 201, r.text
    return r.json()


def card_sale(
    chain: Chain, type_id: str, code: str | None, client: dict[str, Any] = ANNA, **fields: Any
) -> dict[str, Any]:
    return chain.event(
        **{
            "sale_id": f"s-{uuid.uuid4().hex[:8]}",
            "gift_card_type_id": type_id,
            "code": code,
            "client": client,
            "price": "9000",
            **fields,
        }
    )


async def get_card(chain: Chain, code_or_id: str) -> dict[str, Any] | None:
    async with chain.client("wallet") as http:
        r = await http.get(f"/gift-cards/{code_or_id}")
    return r.json() if r.status_code == 200 else None


async def card_eventually(
    chain: Chain, code_or_id: str, check: Any = lambda c: True, timeout: float = 30
) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        return await get_card(chain, code_or_id) or {}

    return await eventually(probe, lambda c: bool(c) and check(c), timeout=timeout, what=f"card {code_or_id}")


async def sell_card(chain: Chain, kafka: Kafka, type_id: str, code: str, **fields: Any) -> dict[str, Any]:
    """Publishes `gift_card.sold` and waits until the card can be read."""
    event = card_sale(chain, type_id, code, **fields)
    await publish(kafka, topics.GIFT_CARD_SOLD, event)
    return await card_eventually(chain, code)


def line(kind: str = "service", item_id: str = "svc-massage", paid: str = "1000", **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "item_id": item_id, "category_id": "cat-body", "quantity": 1, "sold": paid, "paid": paid,
            **fields}  # fmt: skip


def by_card(code: str, amount: str) -> dict[str, Any]:
    return {"instrument": "gift_card", "gift_card": {"code": code}, "amount": amount}


def by_account(amount: str) -> dict[str, Any]:
    return {"instrument": "account", "amount": amount}


def visit(chain: Chain, *lines: dict[str, Any], client: dict[str, Any] = ANNA, **fields: Any) -> dict[str, Any]:
    return chain.event(**{"visit_id": f"v-{uuid.uuid4().hex[:8]}", "client": client, "lines": list(lines), **fields})


async def pay(kafka: Kafka, event: dict[str, Any]) -> dict[str, Any]:
    await publish(kafka, topics.VISIT_PAID, event)
    return event


async def account(chain: Chain, client_id: str = ANNA["id"]) -> dict[str, Any]:
    async with chain.client("wallet") as http:
        r = await http.get(f"/clients/{client_id}/account")
    assert r.status_code == 200, r.text
    return r.json()


async def account_eventually(chain: Chain, check: Any, client_id: str = ANNA["id"]) -> dict[str, Any]:
    return await eventually(lambda: account(chain, client_id), check, timeout=30, what=f"account {client_id}")


async def deposit(
    chain: Chain, kafka: Kafka, amount: str, client: dict[str, Any] = ANNA, **fields: Any
) -> dict[str, Any]:
    event = chain.event(
        **{"deposit_id": f"d-{uuid.uuid4().hex[:8]}", "client": client, "amount": amount, "method": "cash", **fields}
    )
    await publish(kafka, topics.ACCOUNT_DEPOSIT, event)
    return event


async def rejected_for(kafka: Kafka, chain: Chain, visit_id: str) -> dict[str, Any]:
    [found] = await kafka.read(topics.WALLET_PAYMENT_REJECTED, of_chain(chain, visit_id=visit_id), timeout=30)
    return found
