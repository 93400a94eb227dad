"""Memberships as products: a membership type becomes a product in "Memberships" at each of its
locations; selling it (an inventory sale, or a `membership` line of a paid visit) publishes one
`membership.sold` per unit, and the memberships service issues them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, eventually, of_chain
from tests.integration.helpers import ANNA, create_type
from tests.integration.inventory_helpers import get, operation, post
from tests.integration.proof import until_marker

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def membership_products(chain: Chain, count: int, **params: Any) -> list[dict[str, Any]]:
    return await eventually(
        lambda: get(chain, "/products", category="Memberships", **params),  # type: ignore[no-any-return]
        lambda ps: len(ps) == count,
        what=f"{count} membership products",
    )


async def memberships_of(chain: Chain, client_id: str, count: int) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]]:
        async with chain.client("memberships") as http:
            return (await http.get("/memberships", params={"client_id": client_id})).json()  # type: ignore[no-any-return]

    return await eventually(probe, lambda ms: len(ms) >= count, what=f"{count} memberships of {client_id}")


async def test_a_membership_type_becomes_a_product_at_each_of_its_locations(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain)  # location_ids loc-1, loc-2
    products = await membership_products(chain, 2)
    assert {p["location_id"] for p in products} == {"loc-1", "loc-2"}
    assert {(p["name"], p["sale_price"], p["category"], p["kind"], p["membership_type_id"]) for p in products} == {
        ("Massage membership", "8000.00", "Memberships", "membership", t["id"])
    }
    assert [p["location_id"] for p in await get(chain, "/products", location_id="loc-2")] == ["loc-2"]

    # The type changes (renamed, now loc-1 only), then is archived: the products follow; an archived
    # product is off the sale lists and still readable.
    changed = {
        "event_id": f"e-{uuid.uuid4()}",
        "chain_id": chain.id,
        "membership_type_id": t["id"],
        "name": "Massage 10",
        "price": "8500",
        "archived": False,
        "balance": "split",
        "services": t["services"],
        "total_visits": None,
        "allow_without_code": False,
        "online_sale": True,
        "location_ids": ["loc-1"],
        "occurred_at": "2099-01-01T00:00:00+00:00",
    }
    await kafka.publish(topics.MEMBERSHIP_TYPE_CHANGED, changed, key=t["id"])
    [p1] = await eventually(
        lambda: get(chain, "/products", category="Memberships"),
        lambda ps: len(ps) == 1 and ps[0]["name"] == "Massage 10",
        what="renamed product",
    )
    assert p1["location_id"] == "loc-1" and p1["sale_price"] == "8500.00"
    # An older event of the type (the created one, redelivered late) does not undo the change.
    await kafka.publish(
        topics.MEMBERSHIP_TYPE_CREATED,
        {**changed, "event_id": f"e-{uuid.uuid4()}", "name": "Old", "occurred_at": "2020-01-01T00:00:00+00:00"},
        key=t["id"],
    )
    archived = {
        **changed,
        "event_id": f"e-{uuid.uuid4()}",
        "archived": True,
        "occurred_at": "2099-01-02T00:00:00+00:00",
    }
    await kafka.publish(topics.MEMBERSHIP_TYPE_CHANGED, archived, key=t["id"])
    await membership_products(chain, 0)
    hidden = await get(chain, "/products", category="Memberships", archived="true")
    assert {(p["location_id"], p["name"], p["archived"]) for p in hidden} == {
        ("loc-1", "Massage 10", True),
        ("loc-2", "Massage 10", True),
    }
    assert (await get(chain, f"/products/{p1['id']}"))["archived"] is True
    refused = await operation(
        chain,
        "sale",
        None,
        [{"product_id": p1["id"], "quantity": 1, "codes": ["1"]}],
        status=409,
        location_id="loc-1",
        client=ANNA,
    )
    assert refused["error"] == "product_archived"


async def test_an_inventory_sale_of_a_membership_is_issued_by_the_memberships_service(
    chain: Chain, kafka: Kafka
) -> None:
    t = await create_type(chain)
    [p] = await membership_products(chain, 1, location_id="loc-1")
    await post(chain, "/storages", {"id": "st-1", "location_id": "loc-1", "name": "Front desk"})
    await post(chain, "/products", {"id": "prod-oil", "name": "Oil", "sale_price": "300"})

    sale = await operation(
        chain,
        "sale",
        "st-1",
        [
            {"product_id": p["id"], "quantity": 2, "codes": ["5001", "auto"]},
            {"product_id": "prod-oil", "quantity": 1},
        ],
        client=ANNA,
    )
    line = sale["lines"][0]
    assert line["membership_type_id"] == t["id"] and line["amount"] == "16000.00"
    assert [s["code"] for s in line["sales"]] == ["5001", "auto"]

    issued = await memberships_of(chain, ANNA["id"], 2)
    assert len(issued) == 2
    assert {m["type_id"] for m in issued} == {t["id"]} and {m["price"] for m in issued} == {"8000.00"}
    codes = [m["code"] for m in issued]
    assert "5001" in codes
    [generated] = [c for c in codes if c != "5001"]
    assert len(generated) == 8
    sold = await kafka.read(topics.MEMBERSHIP_SOLD, of_chain(chain), count=2, settle=0.5)
    assert sorted(s["sale_id"] for s in sold) == sorted(s["sale_id"] for s in line["sales"])
    stock = await get(chain, "/stock")  # a membership product is stocked like any product
    assert sorted((r["product_id"], r["balance"]) for r in stock) == sorted([(p["id"], "-2"), ("prod-oil", "-1")])


async def test_bad_membership_sales_are_refused_naming_the_field(chain: Chain) -> None:
    await create_type(chain)
    no_code = await create_type(chain, name="Gift", allow_without_code=True, location_ids=[])
    products = await membership_products(chain, 3)
    coded = next(p for p in products if p["location_id"] == "loc-1")
    free = next(p for p in products if p["membership_type_id"] == no_code["id"])
    assert free["location_id"] is None  # valid everywhere: one product for the chain

    async def refused(lines: list[dict[str, Any]], location_id: str = "loc-1", **fields: Any) -> str:
        answer = await operation(chain, "sale", None, lines, status=422, location_id=location_id, **fields)
        return answer["field"]  # type: ignore[no-any-return]

    assert await refused([{"product_id": coded["id"], "quantity": 1}], client=ANNA) == "lines.0.codes"
    assert await refused([{"product_id": coded["id"], "quantity": 2, "codes": ["1"]}]) == "lines.0.codes"
    assert await refused([{"product_id": free["id"], "quantity": 1}]) == "client"  # a no-code type needs a client
    assert (
        await refused([{"product_id": coded["id"], "quantity": 1, "codes": ["1"]}], location_id="loc-2")
        == "lines.0.product_id"
    )  # loc-1's product, sold at loc-2
    assert await get(chain, "/operations") == []
    ok = await operation(
        chain, "sale", None, [{"product_id": free["id"], "quantity": 1}], location_id="loc-1", client=ANNA
    )
    assert ok["lines"][0]["sales"][0]["code"] is None
    [m] = await memberships_of(chain, ANNA["id"], 1)
    assert m.get("code") is None and m["type_id"] == no_code["id"]


async def test_a_membership_line_of_a_paid_visit_is_sold_once_however_often_the_visit_comes(
    chain: Chain, kafka: Kafka
) -> None:
    t = await create_type(chain)
    await membership_products(chain, 2)
    visit = chain.event(
        visit_id=f"v-{uuid.uuid4().hex[:8]}",
        client=ANNA,
        lines=[
            {"kind": "membership", "item_id": t["id"], "quantity": 1, "sold": "8000", "paid": "7500", "code": "9001"}
        ],
    )
    await kafka.publish(topics.VISIT_PAID, visit, key=ANNA["id"])
    await kafka.publish(topics.VISIT_PAID, {**visit, "event_id": f"e-{uuid.uuid4()}"}, key=ANNA["id"])
    # A later visit on the same key sells 9002: inventory sells in order, on Anna's key, and memberships
    # issues in order, so once 9002 is issued, whatever the copy above caused has been done too.
    marker = chain.event(
        visit_id=f"v-{uuid.uuid4().hex[:8]}",
        client=ANNA,
        lines=[
            {"kind": "membership", "item_id": t["id"], "quantity": 1, "sold": "8000", "paid": "8000", "code": "9002"}
        ],
    )
    await kafka.publish(topics.VISIT_PAID, marker, key=ANNA["id"])
    issued = await eventually(
        lambda: memberships_of(chain, ANNA["id"], 1),
        lambda ms: "9002" in [m["code"] for m in ms],
        what="the marker's membership",
    )
    [m] = [m for m in issued if m["code"] != "9002"]
    assert m["code"] == "9001" and m["price"] == "7500.00"
    [sale] = await get(chain, "/operations", source=f"visit:{visit['visit_id']}")
    assert sale["lines"][0]["sales"] == [{"sale_id": f"inventory:visit:{visit['visit_id']}:0:0", "code": "9001"}]
    sold = await until_marker(kafka, topics.MEMBERSHIP_SOLD, of_chain(chain), of_chain(chain, code="9002"))
    assert [s["code"] for s in sold] == ["9001"]
