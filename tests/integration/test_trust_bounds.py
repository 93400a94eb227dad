"""No single input stops a service: sizes are checked where the data comes in, and the work one message
may cause is bounded (docs/contract.md, "Bounds").

- A body whose event would not fit its topic (a membership type with 20,000 locations) answers 422 naming
  the field, instead of 201 and an event Kafka refuses.
- A `visit.paid` that would make inventory generate millions of `membership.sold` is dead-lettered at
  once, naming the field, by every service that reads it (not partly applied anywhere), while a visit of
  another chain behind it on the same partition is applied.
- `POST /operations` selling 99,999,999,999 memberships answers 422 instead of hanging the service.
- A paid visit accrues for each card of its client and each live promotion of the card's type: both
  are bounded where they are made (409), so no configuration makes one visit run thousands of queries.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, eventually, new_chain
from tests.integration.helpers import ANNA, MASSAGE_TYPE, create_type
from tests.integration.inventory_helpers import balances_eventually, get, operation, product, storage

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

MAX_LIVE_PROMOTIONS, MAX_CARDS_PER_CLIENT = 100, 10  # loyalty.domain; here as the contract states them

# The amplifying visit: membership lines x units each (2,000,000 units, when nothing bounds them).
AMPLIFYING_LINES, AMPLIFYING_QUANTITY = 200, 10_000


def refused_fields(body: dict[str, Any]) -> set[str]:
    return {f["field"] for f in body.get("fields", [])} | ({body["field"]} if "field" in body else set())


async def test_a_body_whose_event_would_not_fit_its_topic_is_refused_naming_the_field(chain: Chain) -> None:
    many = [f"loc-{n:06d}-" + "x" * 110 for n in range(20_000)]  # ~2.5 MB of location ids
    async with chain.client("memberships") as http:
        r = await http.post("/membership-types", json={**MASSAGE_TYPE, "location_ids": many})
        assert r.status_code == 422, r.text[:300]
        assert "location_ids" in refused_fields(r.json())
        t = (await http.post("/membership-types", json=MASSAGE_TYPE)).json()
        r = await http.patch(f"/membership-types/{t['id']}", json={"location_ids": many})
        assert r.status_code == 422, r.text[:300]
        assert "location_ids" in refused_fields(r.json())
        assert (await http.get(f"/membership-types/{t['id']}")).json()["location_ids"] == ["loc-1", "loc-2"]
    async with chain.client("loyalty") as http:
        card_type = (await http.post("/card-types", json={"name": "Gold"})).json()
        r = await http.patch(f"/card-types/{card_type['id']}", json={"location_ids": many})
        assert r.status_code == 422, r.text[:300]
        assert "location_ids" in refused_fields(r.json())
    # A body larger than any bound allows is refused before it is parsed, whatever it holds.
    async with chain.client("inventory") as http:
        r = await http.post("/categories", json={"name": "Oils", "padding": "p" * (5 * 1024 * 1024)})
        assert r.status_code == 413, r.text[:300]


async def test_an_amplifying_paid_visit_is_dead_lettered_at_once_and_the_next_chain_goes_on(
    stack: Stack, db: asyncpg.Pool, kafka: Kafka
) -> None:
    ours, theirs = await new_chain(stack, db), await new_chain(stack, db)
    for chain in (ours, theirs):
        await storage(chain)
        await product(chain, "prod-oil")
    no_such_type = str(uuid.uuid4())  # inventory sells a type it has no product of: no type needed
    bad = ours.event(
        visit_id="v-amplify",
        client=ANNA,
        lines=[
            {
                "kind": "membership",
                "item_id": no_such_type,
                "quantity": AMPLIFYING_QUANTITY,
                "sold": "1",
                "paid": "1",
                "code": None,
            }
            for _ in range(AMPLIFYING_LINES)
        ],
    )

    def oil(chain: Chain, visit_id: str) -> dict[str, Any]:
        return chain.event(
            visit_id=visit_id,
            client=ANNA,
            lines=[
                {
                    "kind": "product",
                    "item_id": "prod-oil",
                    "storage_id": "st-1",
                    "quantity": 1,
                    "sold": "300",
                    "paid": "300",
                }
            ],
        )

    # The same key (the client's id): the three share a partition, the good ones behind the bad one.
    await kafka.publish(topics.VISIT_PAID, bad, key=ANNA["id"])
    await kafka.publish(topics.VISIT_PAID, oil(theirs, "v-theirs"), key=ANNA["id"])
    await kafka.publish(topics.VISIT_PAID, oil(ours, "v-marker"), key=ANNA["id"])

    await balances_eventually(theirs, {("st-1", "prod-oil"): "-1"})
    await balances_eventually(ours, {("st-1", "prod-oil"): "-1"})  # the marker: what came after is done
    dead = await kafka.read(
        topics.dlq(topics.VISIT_PAID),
        lambda m: m.get("chain_id") == ours.id and m.get("visit_id") == "v-amplify",
        count=4,
        timeout=30,
        settle=1,
    )
    by_group = {d["_headers"]["x-consumer-group"]: d["_headers"]["x-error"] for d in dead}
    assert set(by_group) == {
        "perkstream.memberships",
        "perkstream.loyalty",
        "perkstream.inventory",
        "perkstream.wallet",
    }
    for error in by_group.values():
        assert error.startswith("invalid visit.paid: lines"), error[:300]
        assert "membership" in error and "100" in error, error[:300]
    # Not partly applied: no operation of the visit, no membership sold in our chain.
    assert await get(ours, "/operations", source="visit:v-amplify") == []
    assert await kafka.read_to_end(topics.MEMBERSHIP_SOLD, lambda m: m.get("chain_id") == ours.id) == []


async def test_an_operation_beyond_the_bounds_answers_422_instead_of_hanging(chain: Chain) -> None:
    await create_type(chain, allow_without_code=True, location_ids=["loc-1"])
    [p] = await eventually(
        lambda: get(chain, "/products", category="Memberships"), lambda ps: len(ps) == 1, what="the membership product"
    )
    await storage(chain)
    await product(chain, "prod-oil")

    # Memberships: the units of one operation are bounded (each unit is a membership.sold).
    r = await operation(
        chain,
        "sale",
        None,
        [{"product_id": p["id"], "quantity": 99_999_999_999}],
        status=422,
        location_id="loc-1",
        client=ANNA,
    )
    assert "lines.0.quantity" in refused_fields(r), r
    r = await operation(
        chain, "sale", None, [{"product_id": p["id"], "quantity": 60}] * 2, status=422, location_id="loc-1", client=ANNA
    )
    assert "lines" in refused_fields(r), r
    # Goods: a quantity no stock row could hold twice over is refused too.
    r = await operation(chain, "arrival", "st-1", [{"product_id": "prod-oil", "quantity": 10**10}], status=422)
    assert "lines.0.quantity" in refused_fields(r), r
    # Within the bounds, it is sold.
    sold = await operation(
        chain, "sale", None, [{"product_id": p["id"], "quantity": 3}], location_id="loc-1", client=ANNA
    )
    assert len(sold["lines"][0]["sales"]) == 3


async def test_a_membership_sold_on_a_visit_with_the_longest_id_is_issued(chain: Chain, kafka: Kafka) -> None:
    """A sale id is made from the visit's id, the line and the unit: with a visit id of 128 characters (the
    bound of every id) it must still be an id of at most 128, or the valid visit is refused."""
    t = await create_type(chain, location_ids=["loc-1"])
    visit_id = "v" * 128
    await kafka.publish(
        topics.VISIT_PAID,
        chain.event(
            visit_id=visit_id,
            client=ANNA,
            lines=[
                {
                    "kind": "membership",
                    "item_id": t["id"],
                    "quantity": 1,
                    "sold": "8000",
                    "paid": "8000",
                    "code": "LONG-1",
                }
            ],
        ),
        key=ANNA["id"],
    )
    [sold] = await kafka.read(topics.MEMBERSHIP_SOLD, lambda m: m.get("chain_id") == chain.id, timeout=30)
    assert len(sold["sale_id"]) <= 128 and sold["code"] == "LONG-1"
    [op] = await eventually(
        lambda: get(chain, "/operations", source=f"visit:{visit_id}"),
        lambda ops: len(ops) == 1,
        what="the visit's sale",
    )
    assert [s["sale_id"] for s in op["lines"][0]["sales"]] == [sold["sale_id"]]


async def test_the_cards_of_a_client_and_the_live_promotions_of_a_card_type_are_bounded(chain: Chain) -> None:
    async with chain.client("loyalty") as http:
        card_type = (await http.post("/card-types", json={"name": "Gold"})).json()

        def promotion(n: int, **fields: Any) -> dict[str, Any]:
            return {
                "name": f"Cashback {n}",
                "type": "fixed_cashback_paid",
                "card_type_ids": [card_type["id"]],
                "percent": "1",
                "rules": [],
                **fields,
            }

        made = [(await http.post("/promotions", json=promotion(n))).json() for n in range(MAX_LIVE_PROMOTIONS)]
        assert all("id" in p for p in made), made[-1]
        r = await http.post("/promotions", json=promotion(MAX_LIVE_PROMOTIONS))
        assert r.status_code == 409 and r.json()["error"] == "too_many_promotions", r.text
        assert r.json()["field"] == "card_type_ids"
        archived = await http.post("/promotions", json=promotion(0, archived=True))  # an archived one: free
        assert archived.status_code == 201, archived.text
        r = await http.patch(f"/promotions/{archived.json()['id']}", json={"archived": False})
        assert r.status_code == 409 and r.json()["error"] == "too_many_promotions", r.text
        assert (await http.patch(f"/promotions/{made[0]['id']}", json={"archived": True})).status_code == 200
        assert (await http.post("/promotions", json=promotion(MAX_LIVE_PROMOTIONS))).status_code == 201

        def card(number: str) -> dict[str, Any]:
            return {"card_type_id": card_type["id"], "client_id": "cl-5", "number": number}

        for n in range(MAX_CARDS_PER_CLIENT):
            r = await http.post("/cards", json=card(f"N-{n}"))
            assert r.status_code == 201, r.text
        r = await http.post("/cards", json=card("N-x"))
        assert r.status_code == 409 and r.json()["error"] == "too_many_cards", r.text
        assert r.json()["field"] == "client_id"
