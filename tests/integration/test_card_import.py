"""POST /cards/import through the real service and database: many cards at once with opening balances,
all or none, safe to send twice; the imported points are spent like any others."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain, publish
from tests.integration.loyalty_helpers import card, card_eventually, client, create, visit_paid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def import_cards(chain: Chain, cards: list[dict[str, Any]]) -> httpx.Response:
    async with chain.client("loyalty") as http:
        return await http.post("/cards/import", json={"cards": cards})


async def test_cards_come_in_with_their_balances_once_and_the_points_spend(chain: Chain, kafka: Kafka) -> None:
    gold = (await create(chain, "/card-types", {"name": "Gold", "location_ids": ["loc-1"]}))["id"]
    ada, bob = client("ada"), client("bob")
    rows = [
        {"card_type_id": gold, "client_id": ada["id"], "phone": ada["phone"], "number": "IMP-1", "balance": "120.50"},
        {"card_type_id": gold, "client_id": ada["id"], "number": "IMP-2"},
        {"card_type_id": gold, "client_id": bob["id"], "phone": bob["phone"], "number": "IMP-3", "balance": "30"},
    ]
    first = await import_cards(chain, rows)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["created"], body["existing"]) == (3, 0)
    assert [(c["number"], c["created"]) for c in body["cards"]] == [("IMP-1", True), ("IMP-2", True), ("IMP-3", True)]
    ids = [c["id"] for c in body["cards"]]

    a = await card(chain, "IMP-1")
    assert (a["id"], a["client_id"], a["balance"]) == (ids[0], ada["id"], "120.50")
    assert [(t["kind"], t["amount"], t["reason"]) for t in a["transactions"]] == [("manual", "120.50", "import")]
    assert (await card(chain, "IMP-2"))["transactions"] == []

    # The same import again: nothing new, nothing changed (a chain may resend a file that half failed).
    again = await import_cards(chain, rows)
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["existing"]) == (0, 3)
    assert [c["id"] for c in again.json()["cards"]] == ids and not any(c["created"] for c in again.json()["cards"])
    assert (await card(chain, "IMP-1"))["balance"] == "120.50"

    # The imported points pay, oldest first, like any others.
    await publish(kafka, topics.VISIT_PAID, visit_paid(chain, ada, "1000", card="IMP-1", spent="20.50"))
    spent = await card_eventually(chain, ids[0], lambda c: len(c["transactions"]) == 2)
    assert spent["balance"] == "100.00"
    [event] = await kafka.read(topics.LOYALTY_BONUS_SPENT, of_chain(chain))
    assert (event["amount"], event["balance"]) == ("20.50", "100.00")


async def test_an_import_that_contradicts_itself_or_the_chain_imports_nothing(chain: Chain) -> None:
    gold = (await create(chain, "/card-types", {"name": "Gold", "location_ids": ["loc-1"]}))["id"]
    ada, bob = client("ada"), client("bob")
    first = await import_cards(chain, [{"card_type_id": gold, "client_id": ada["id"], "number": "X-1"}])
    assert first.status_code == 200, first.text

    taken = await import_cards(
        chain,
        [
            {"card_type_id": gold, "client_id": bob["id"], "number": "X-2"},
            {"card_type_id": gold, "client_id": bob["id"], "number": "X-1"},
        ],
    )
    assert taken.status_code == 409 and taken.json()["error"] == "number_taken"
    assert taken.json()["field"] == "cards.1.number"
    async with chain.client("loyalty") as http:
        assert (await http.get("/cards/X-2")).status_code == 404  # all or none

    unknown = await import_cards(
        chain, [{"card_type_id": "00000000-0000-4000-8000-000000000000", "client_id": bob["id"], "number": "X-3"}]
    )
    assert unknown.status_code == 422 and unknown.json()["error"] == "unknown_card_type"
    assert unknown.json()["field"] == "cards.0.card_type_id"
    twice = await import_cards(
        chain,
        [
            {"card_type_id": gold, "client_id": bob["id"], "number": "X-4"},
            {"card_type_id": gold, "client_id": ada["id"], "number": "X-4"},
        ],
    )
    assert twice.status_code == 422 and twice.json()["field"] == "cards.1.number"
    too_many = await import_cards(
        chain, [{"card_type_id": gold, "client_id": bob["id"], "number": f"Y-{i}"} for i in range(11)]
    )
    assert too_many.status_code == 409 and too_many.json()["field"] == "cards.10.client_id"
    big = await import_cards(
        chain, [{"card_type_id": gold, "client_id": f"cl-{i}", "number": f"Z-{i}"} for i in range(1001)]
    )
    assert big.status_code == 422 and [f["field"] for f in big.json()["fields"]] == ["cards"]
    negative = await import_cards(
        chain, [{"card_type_id": gold, "client_id": bob["id"], "number": "N-1", "balance": "-1"}]
    )
    assert negative.status_code == 422 and [f["field"] for f in negative.json()["fields"]] == ["cards.0.balance"]
    async with chain.client("loyalty") as http:
        assert (await http.get("/cards", params={"client_id": bob["id"]})).json() == []
