"""A promotion is attached to card types from either side (the seed: "in the card type settings and in
the promotion settings"): a card type's `promotion_ids` and a promotion's `card_type_ids` are one
association, and a paid visit accrues by it whichever side made it; through real Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, new_chain, of_chain, publish
from tests.integration.loyalty_helpers import card_eventually, client, create, visit_paid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def promotion(name: str, *card_type_ids: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": "fixed_cashback_paid", "card_type_ids": list(card_type_ids), "percent": "3", **fields}


async def ok(r: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_either_side_attaches_and_the_other_side_shows_it(chain: Chain) -> None:
    async with chain.client("loyalty") as http:
        silver = await ok(await http.post("/card-types", json={"name": "Silver"}), 201)
        gold = await ok(await http.post("/card-types", json={"name": "Gold"}), 201)
        assert silver["promotion_ids"] == []
        p1 = await ok(await http.post("/promotions", json=promotion("P1", silver["id"])), 201)
        p2 = await ok(await http.post("/promotions", json=promotion("P2", gold["id"], archived=True)), 201)
        # The promotion side attached P1: the card type shows it.
        assert (await ok(await http.get(f"/card-types/{silver['id']}")))["promotion_ids"] == [p1["id"]]

        # The card type side attaches: a new card type with both (an archived one too).
        both = await ok(
            await http.post("/card-types", json={"name": "Both", "promotion_ids": [p2["id"], p1["id"]]}), 201
        )
        assert both["promotion_ids"] == [p1["id"], p2["id"]]  # in the order the promotions were made
        assert (await ok(await http.get(f"/promotions/{p1['id']}")))["card_type_ids"] == [silver["id"], both["id"]]
        assert (await ok(await http.get(f"/promotions/{p2['id']}")))["card_type_ids"] == [gold["id"], both["id"]]

        # A PATCH replaces the set, as a promotion's card_type_ids: Silver loses P1, gains P2.
        patched = await ok(await http.patch(f"/card-types/{silver['id']}", json={"promotion_ids": [p2["id"]]}))
        assert patched["promotion_ids"] == [p2["id"]]
        assert (await ok(await http.get(f"/promotions/{p1['id']}")))["card_type_ids"] == [both["id"]]
        assert (await ok(await http.get(f"/promotions/{p2['id']}")))["card_type_ids"] == [
            gold["id"],
            both["id"],
            silver["id"],
        ]
        # Leaving promotion_ids out leaves the set as it is.
        renamed = await ok(await http.patch(f"/card-types/{silver['id']}", json={"name": "Silver+"}))
        assert (renamed["name"], renamed["promotion_ids"]) == ("Silver+", [p2["id"]])

        # The promotion side changes it back: the card types show that too.
        await ok(await http.patch(f"/promotions/{p2['id']}", json={"card_type_ids": [gold["id"]]}))
        listed = {t["name"]: t["promotion_ids"] for t in await ok(await http.get("/card-types"))}
        assert listed == {"Silver+": [], "Gold": [p2["id"]], "Both": [p1["id"]]}


async def test_unknown_promotions_and_broken_rules_are_refused_and_change_nothing(
    chain: Chain, stack: Stack, db: asyncpg.Pool
) -> None:
    other = await new_chain(stack, db)
    async with other.client("loyalty") as http:
        theirs_type = await ok(await http.post("/card-types", json={"name": "Theirs"}), 201)
        theirs = await ok(await http.post("/promotions", json=promotion("Theirs", theirs_type["id"])), 201)
    async with chain.client("loyalty") as http:
        only = await ok(await http.post("/card-types", json={"name": "Only"}), 201)
        p1 = await ok(await http.post("/promotions", json=promotion("P1", only["id"])), 201)
        for unknown in (str(uuid.uuid4()), theirs["id"]):  # another chain's promotion is unknown here
            r = await http.patch(f"/card-types/{only['id']}", json={"promotion_ids": [p1["id"], unknown]})
            assert r.status_code == 422, r.text
            assert (r.json()["error"], r.json()["field"]) == ("unknown_promotion", "promotion_ids")
            assert unknown in r.json()["message"]
            r = await http.post("/card-types", json={"name": "New", "promotion_ids": [unknown]})
            assert (r.status_code, r.json()["field"]) == (422, "promotion_ids")
        r = await http.patch(f"/card-types/{only['id']}", json={"promotion_ids": ["not-a-uuid"]})
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "promotion_ids.0"

        # P1 has no other card type: taking it away would leave a promotion on nothing.
        r = await http.patch(f"/card-types/{only['id']}", json={"promotion_ids": [], "name": "Renamed"})
        assert r.status_code == 409, r.text
        assert (r.json()["error"], r.json()["field"]) == ("promotion_needs_card_type", "promotion_ids")
        after = await ok(await http.get(f"/card-types/{only['id']}"))
        assert (after["name"], after["promotion_ids"]) == ("Only", [p1["id"]])  # all or nothing
        assert (await ok(await http.get(f"/promotions/{p1['id']}")))["card_type_ids"] == [only["id"]]
        r = await http.get("/card-types", params={"limit": 1})
        assert r.status_code == 200 and len(r.json()) == 1
    async with other.client("loyalty") as http:
        assert (await ok(await http.get(f"/promotions/{theirs['id']}")))["card_type_ids"] == [theirs_type["id"]]


async def test_a_paid_visit_accrues_by_the_promotions_the_card_type_names(chain: Chain, kafka: Kafka) -> None:
    mia = client("mia")
    elsewhere = await create(chain, "/card-types", {"name": "Elsewhere"})
    first = await create(chain, "/promotions", promotion("First", elsewhere["id"], percent="1"))
    second = await create(chain, "/promotions", promotion("Second", elsewhere["id"], percent="2"))
    card_type = await create(
        chain, "/card-types", {"name": "Gold card", "location_ids": ["loc-1"], "promotion_ids": [first["id"]]}
    )
    card = await create(
        chain,
        "/cards",
        {"card_type_id": card_type["id"], "client_id": mia["id"], "phone": mia["phone"], "number": "CT-1"},
    )
    one = visit_paid(chain, mia, "1000")
    await publish(kafka, topics.VISIT_PAID, one)
    await card_eventually(chain, card["id"], lambda c: c["balance"] == "10.00")  # First: 1%

    async with chain.client("loyalty") as http:  # from the card type's settings: Second instead of First
        await ok(await http.patch(f"/card-types/{card_type['id']}", json={"promotion_ids": [second["id"]]}))
    two = visit_paid(chain, mia, "1000")
    await publish(kafka, topics.VISIT_PAID, two)
    c = await card_eventually(chain, card["id"], lambda c: len(c["transactions"]) == 2)
    assert [(t["visit_id"], t["promotion_id"], t["amount"]) for t in c["transactions"]] == [
        (one["visit_id"], first["id"], "10.00"),
        (two["visit_id"], second["id"], "20.00"),
    ]
    accrued = await kafka.read(topics.LOYALTY_BONUS_ACCRUED, of_chain(chain), count=2)
    assert [(a["visit_id"], a["promotion_id"]) for a in accrued] == [
        (one["visit_id"], first["id"]),
        (two["visit_id"], second["id"]),
    ]


async def test_the_two_sides_changing_one_promotion_at_once_lose_nothing(chain: Chain) -> None:
    """Thirty card types attach a promotion one after the other while two others rename it over and over
    (a promotion's PATCH writes its whole body): no attachment is lost, no request fails (one lock per
    chain orders the two sides)."""
    async with chain.client("loyalty") as http:
        home = await ok(await http.post("/card-types", json={"name": "Home"}), 201)
        p = await ok(await http.post("/promotions", json=promotion("P", home["id"])), 201)
        types = [await ok(await http.post("/card-types", json={"name": f"T{n}"}), 201) for n in range(30)]
        attached = asyncio.Event()

        async def rename(who: str) -> list[int]:
            answers = []
            while not attached.is_set():
                answers.append((await http.patch(f"/promotions/{p['id']}", json={"name": f"P {who}"})).status_code)
            return answers

        async def attach() -> list[int]:
            answers = [
                (await http.patch(f"/card-types/{t['id']}", json={"promotion_ids": [p["id"]]})).status_code
                for t in types
            ]
            attached.set()
            return answers

        *renamed, attaches = await asyncio.gather(rename("a"), rename("b"), attach())
        assert set(attaches) == {200} and {a for r in renamed for a in r} == {200}
        assert min(len(r) for r in renamed) >= 10  # they did race
        after = await ok(await http.get(f"/promotions/{p['id']}"))
        assert after["card_type_ids"] == [home["id"], *(t["id"] for t in types)]
        listed = {t["id"]: t["promotion_ids"] for t in await ok(await http.get("/card-types"))}
        assert all(listed[t["id"]] == [p["id"]] for t in types)
