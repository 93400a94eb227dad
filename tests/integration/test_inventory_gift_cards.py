"""Gift cards sold by inventory as memberships are: a gift card type is a product in the "Gift cards"
category (from `gift_card_type.created` / `.changed`); a paid visit's `gift_card` line and a desk sale of
the product sell one `gift_card.sold` per unit (sale ids `inventory:visit:...` / `inventory:op:...`, to the
holder when one is named); codes in use are refused up front, in a namespace apart from the memberships';
`gift_card.issue_rejected` closes the loop once (the unit refused on its line, back in stock, its code
free, `inventory.gift_card_sale_refused`). Until the wallet service serves gift card types, the tests
publish its events themselves (they are the contract)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, eventually, of_chain
from tests.integration.helpers import ANNA, create_type
from tests.integration.inventory_helpers import balances, get, operation, post, product, storage
from tests.integration.proof import until_marker
from tests.integration.test_inventory_membership_sales import (
    consumed_by_inventory,
    membership_line,
    membership_product,
    visit,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

BEA = {"id": "cl-6", "phone": "+36209876543", "name": "Bea"}


async def gift_card_type(chain: Chain, kafka: Kafka, **fields: Any) -> dict[str, Any]:
    """A gift card type at loc-1: made through the wallet's API where it serves types, else its
    `gift_card_type.created` published as the wallet publishes it."""
    body = {"name": "Gift card 10,000", "par_value": "10000.00", "location_ids": ["loc-1"], **fields}
    if "wallet" in chain.stack.services:
        async with chain.client("wallet") as http:
            r = await http.post("/gift-card-types", json=body)
        if r.status_code == 201:
            return r.json()  # type: ignore[no-any-return]
    created = chain.event(
        gift_card_type_id=str(uuid.uuid4()),
        write_off="multiple",
        archived=False,
        allow_without_code=False,
        limits={"applies_to": "any"},
        validity={"kind": "unlimited"},
        **body,
    )
    await kafka.publish(topics.GIFT_CARD_TYPE_CREATED, created, key=created["gift_card_type_id"])
    return {**created, "id": created["gift_card_type_id"]}


async def gift_card_product(chain: Chain, **params: Any) -> dict[str, Any]:
    [p] = await eventually(
        lambda: get(chain, "/products", category="Gift cards", **params),
        lambda ps: len(ps) == 1,
        what="the gift card type's product",
    )
    return p  # type: ignore[no-any-return]


def gift_card_line(type_id: str, quantity: int, code: str | None, paid: str, **fields: Any) -> dict[str, Any]:
    return {"kind": "gift_card", "item_id": type_id, "quantity": quantity, "sold": paid, "paid": paid, "code": code}


async def test_a_gift_card_type_is_a_product_in_the_gift_cards_category(chain: Chain, kafka: Kafka) -> None:
    t = await gift_card_type(chain, kafka)
    p = await gift_card_product(chain, location_id="loc-1")
    assert (p["kind"], p["gift_card_type_id"], p["membership_type_id"]) == ("gift_card", t["id"], None)
    assert (p["name"], p["sale_price"], p["category"], p["location_id"]) == (
        "Gift card 10,000",
        "10000.00",
        "Gift cards",
        "loc-1",
    )
    # It follows its type: renamed, repriced, archived by the type's events, never by hand.
    changed = chain.event(
        gift_card_type_id=t["id"],
        name="Gift card 12,000",
        par_value="12000.00",
        write_off="multiple",
        archived=True,
        allow_without_code=False,
        location_ids=["loc-1"],
        limits={"applies_to": "any"},
        validity={"kind": "unlimited"},
    )
    await kafka.publish(topics.GIFT_CARD_TYPE_CHANGED, changed, key=t["id"])
    [archived] = await eventually(
        lambda: get(chain, "/products", category="Gift cards", archived="true"),
        lambda ps: len(ps) == 1,
        what="the archived product",
    )
    assert (archived["id"], archived["name"], archived["sale_price"]) == (p["id"], "Gift card 12,000", "12000.00")
    refused = await post(chain, f"/products/{p['id']}", {"sale_price": "1"}, status=409, method="PATCH")
    assert refused["error"] == "gift_card_product"


async def test_a_paid_visit_sells_its_gift_card_line_unit_by_unit(chain: Chain, kafka: Kafka) -> None:
    t = await gift_card_type(chain, kafka)
    p = await gift_card_product(chain)
    await storage(chain, "st-1")  # the location's only storage: gift card lines leave it
    await operation(chain, "arrival", "st-1", [{"product_id": p["id"], "quantity": 10}])
    # A gift card issued to a booking system's sale holds its code; a membership's code is another namespace.
    issued = chain.event(
        gift_card_id=str(uuid.uuid4()),
        gift_card_type_id=t["id"],
        type_name="Gift card 10,000",
        code="G-1",
        sale_id=f"s-{uuid.uuid4().hex[:8]}",
        client=ANNA,
        holder=None,
        balance="10000.00",
        valid_until=None,
        status="active",
    )
    await kafka.publish(topics.GIFT_CARD_ISSUED, issued, key=ANNA["id"])
    await consumed_by_inventory(kafka, topics.GIFT_CARD_ISSUED, of_chain(chain, sale_id=issued["sale_id"]))
    m = await create_type(chain)
    await membership_product(chain)
    await kafka.publish(
        topics.VISIT_PAID,
        visit(
            chain, [{"kind": "membership", "item_id": m["id"], "quantity": 1, "sold": "1", "paid": "1", "code": "M-7"}]
        ),
        key=ANNA["id"],
    )

    v = visit(
        chain,
        [
            {"kind": "service", "item_id": "svc-massage", "quantity": 1, "sold": "1000", "paid": "1000"},
            {**gift_card_line(t["id"], 2, "auto", "18000.00"), "holder": BEA},
            gift_card_line(t["id"], 1, "g-1", "9000.00"),  # in use: refused
            gift_card_line(t["id"], 1, "M-7", "9000.00"),  # a membership's code: free among gift cards
        ],
    )
    await kafka.publish(topics.VISIT_PAID, v, key=ANNA["id"])
    vid = v["visit_id"]
    [sale] = await eventually(
        lambda: get(chain, "/operations", source=f"visit:{vid}"), lambda ops: len(ops) == 1, what="the visit's sale"
    )
    two, taken, free = sale["lines"]
    assert (two["product_id"], two["quantity"], two["amount"], two["gift_card_type_id"]) == (
        p["id"],
        "2",
        "18000.00",
        t["id"],
    )
    assert two["sales"] == [
        {"sale_id": f"inventory:visit:{vid}:1:0", "code": "auto"},
        {"sale_id": f"inventory:visit:{vid}:1:1", "code": "auto"},
    ]
    assert (taken["quantity"], taken["refused_quantity"], taken["refused_amount"]) == ("0", "1", "9000.00")
    assert taken["sales"] == [{"sale_id": f"inventory:visit:{vid}:2:0", "code": "g-1", "refused": "code_taken"}]
    assert (free["quantity"], free["sales"]) == ("1", [{"sale_id": f"inventory:visit:{vid}:3:0", "code": "M-7"}])
    assert (await balances(chain))[("st-1", p["id"])] == "7"  # the refused unit never left

    sold = await kafka.read(topics.GIFT_CARD_SOLD, of_chain(chain), count=3)
    assert sorted((s["sale_id"], s["code"], s["price"], (s["holder"] or {}).get("id")) for s in sold) == [
        (f"inventory:visit:{vid}:1:0", "auto", "9000.00", BEA["id"]),
        (f"inventory:visit:{vid}:1:1", "auto", "9000.00", BEA["id"]),
        (f"inventory:visit:{vid}:3:0", "M-7", "9000.00", None),
    ]
    assert {(s["client"]["id"], s["gift_card_type_id"], s["location_id"]) for s in sold} == {
        (ANNA["id"], t["id"], "loc-1")
    }
    [refused] = await kafka.read(topics.INVENTORY_GIFT_CARD_SALE_REFUSED, of_chain(chain), count=1)
    assert (
        refused["sale_id"],
        refused["code"],
        refused["reason"],
        refused["amount"],
        refused["gift_card_type_id"],
    ) == (
        f"inventory:visit:{vid}:2:0",
        "g-1",
        "code_taken",
        "9000.00",
        t["id"],
    )
    # The marker: a later visit on Anna's key; no gift_card.sold of the refused unit came before it.
    marker = visit(chain, [gift_card_line(t["id"], 1, "G-9", "9000.00")])
    await kafka.publish(topics.VISIT_PAID, marker, key=ANNA["id"])
    before = await until_marker(kafka, topics.GIFT_CARD_SOLD, of_chain(chain), of_chain(chain, code="G-9"))
    assert sorted(s["sale_id"] for s in before if vid in s["sale_id"]) == [
        f"inventory:visit:{vid}:{line}:0" if line == 3 else f"inventory:visit:{vid}:1:{line}" for line in (0, 1, 3)
    ]


async def test_a_desk_sale_of_gift_cards_refuses_a_code_in_use_and_counts_nothing_for_loyalty(
    chain: Chain, kafka: Kafka
) -> None:
    t = await gift_card_type(chain, kafka)
    p = await gift_card_product(chain)
    await storage(chain, "st-1")
    await create_type(chain)
    mp = await membership_product(chain)
    first = await operation(
        chain,
        "sale",
        "st-1",
        [{"product_id": p["id"], "quantity": 2, "codes": ["D-1", "auto"], "price": "9000"}],
        client=ANNA,
        holder=BEA,
    )
    op_id = first["id"]
    assert first["lines"][0]["sales"] == [
        {"sale_id": f"inventory:op:{op_id}:0:0", "code": "D-1"},
        {"sale_id": f"inventory:op:{op_id}:0:1", "code": "auto"},
    ]
    sold = await kafka.read(topics.GIFT_CARD_SOLD, of_chain(chain), count=2)
    assert {s["gift_card_type_id"] for s in sold} == {t["id"]}
    assert sorted((s["sale_id"], s["code"], s["price"], s["holder"]["id"], s["client"]["id"]) for s in sold) == [
        (f"inventory:op:{op_id}:0:0", "D-1", "9000.00", BEA["id"], ANNA["id"]),
        (f"inventory:op:{op_id}:0:1", "auto", "9000.00", BEA["id"], ANNA["id"]),
    ]
    # The code is in use among gift cards (in any case), not among memberships.
    again = await operation(
        chain, "sale", "st-1", [{"product_id": p["id"], "quantity": 1, "codes": ["d-1"]}], status=409
    )
    assert (again["error"], again["field"]) == ("code_taken", "lines.0.codes.0")
    await operation(chain, "sale", "st-1", [{"product_id": mp["id"], "quantity": 1, "codes": ["D-1"]}], client=ANNA)
    # A holder without a gift card to receive is refused, naming the field.
    odd = await operation(
        chain, "sale", "st-1", [{"product_id": mp["id"], "quantity": 1, "codes": ["X-1"]}], status=422, holder=BEA
    )
    assert (odd["error"], odd["field"]) == ("holder_not_allowed", "holder")

    # Buying gift cards is prepaying: the sale publishes no inventory.sale_recorded for loyalty. The marker:
    # a later desk sale of goods for Anna (the same key) does.
    await product(chain, "prod-oil")
    marker = await operation(chain, "sale", "st-1", [{"product_id": "prod-oil", "quantity": 1}], client=ANNA)
    recorded = await until_marker(
        kafka, topics.INVENTORY_SALE_RECORDED, of_chain(chain), of_chain(chain, operation_id=marker["id"])
    )
    assert [r["operation_id"] for r in recorded if r["operation_id"] == op_id] == []


async def wallet_archives(chain: Chain, type_id: str, archived: bool = True) -> bool:
    """Archives (restores) the type in the wallet where it serves types: False where it does not (the test
    then rejects the sales itself, as the wallet would)."""
    if "wallet" not in chain.stack.services:
        return False
    async with chain.client("wallet") as http:
        r = await http.post(f"/gift-card-types/{type_id}/{'archive' if archived else 'restore'}")
    return r.status_code == 200


async def test_a_sale_the_wallet_refuses_later_is_marked_refused_once(chain: Chain, kafka: Kafka) -> None:
    t = await gift_card_type(chain, kafka)
    p = await gift_card_product(chain)
    await storage(chain, "st-1")
    await operation(chain, "arrival", "st-1", [{"product_id": p["id"], "quantity": 5}])
    wallet = await wallet_archives(chain, t["id"])
    # A visit sells the archived type (the booking system still had it): inventory sells, the wallet refuses
    # each unit (archived), and inventory closes the loop.
    v = visit(chain, [gift_card_line(t["id"], 1, "R-1", "9000.00"), gift_card_line(t["id"], 1, "R-2", "9000.00")])
    await kafka.publish(topics.VISIT_PAID, v, key=ANNA["id"])
    vid = v["visit_id"]
    if not wallet:
        for n, code in enumerate(("R-1", "R-2")):
            rejected = chain.event(
                sale_id=f"inventory:visit:{vid}:{n}:0",
                gift_card_type_id=t["id"],
                code=code,
                client=ANNA,
                reason="archived",
            )
            await kafka.publish(topics.GIFT_CARD_ISSUE_REJECTED, rejected, key=ANNA["id"])
    [sale] = await eventually(
        lambda: get(chain, "/operations", source=f"visit:{vid}"),
        lambda ops: len(ops) == 1 and all(x["quantity"] == "0" for x in ops[0]["lines"]),
        what="both units refused",
    )
    for n, (line, code) in enumerate(zip(sale["lines"], ("R-1", "R-2"), strict=True)):
        assert (line["amount"], line["refused_quantity"], line["refused_amount"]) == ("0.00", "1", "9000.00")
        assert line["sales"] == [{"sale_id": f"inventory:visit:{vid}:{n}:0", "code": code, "refused": "archived"}]
    assert await balances(chain) == {("st-1", p["id"]): "5"}  # both units back
    changed = await kafka.read(topics.INVENTORY_STOCK_CHANGED, of_chain(chain, operation_id=sale["id"]), count=3)
    assert sorted(c["delta"] for c in changed) == ["-2", "1", "1"]
    refused = await kafka.read(topics.INVENTORY_GIFT_CARD_SALE_REFUSED, of_chain(chain), count=2)
    assert sorted((e["sale_id"], e["code"], e["reason"], e["amount"], e["operation_number"]) for e in refused) == [
        (f"inventory:visit:{vid}:{n}:0", code, "archived", "9000.00", sale["number"])
        for n, code in enumerate(("R-1", "R-2"))
    ]

    # The rejection again: redelivered (the same event) and replayed (a new event id) changes nothing.
    [rejected, *_] = await kafka.read(topics.GIFT_CARD_ISSUE_REJECTED, of_chain(chain), count=2)
    copy = {k: v for k, v in rejected.items() if not k.startswith("_")}
    await kafka.publish(topics.GIFT_CARD_ISSUE_REJECTED, copy, key=ANNA["id"])
    await kafka.publish(topics.GIFT_CARD_ISSUE_REJECTED, {**copy, "event_id": str(uuid.uuid4())}, key=ANNA["id"])
    # The marker: a later unit refused, whose rejection comes after the copies on Anna's partition.
    later = visit(chain, [gift_card_line(t["id"], 1, "R-3", "9000.00")])
    await kafka.publish(topics.VISIT_PAID, later, key=ANNA["id"])
    if not wallet:
        marker = chain.event(
            sale_id=f"inventory:visit:{later['visit_id']}:0:0",
            gift_card_type_id=t["id"],
            code="R-3",
            client=ANNA,
            reason="archived",
        )
        await kafka.publish(topics.GIFT_CARD_ISSUE_REJECTED, marker, key=ANNA["id"])
    every = await until_marker(
        kafka,
        topics.INVENTORY_GIFT_CARD_SALE_REFUSED,
        of_chain(chain),
        lambda m: of_chain(chain)(m) and later["visit_id"] in m["sale_id"],
    )
    assert len(every) == 2
    assert (await get(chain, "/operations", source=f"visit:{vid}")) == [sale]
    assert await balances(chain) == {("st-1", p["id"]): "5"}

    # The refused codes are free again: sold at the desk once the type is restored.
    if wallet:
        await wallet_archives(chain, t["id"], archived=False)
    await eventually(
        lambda: get(chain, "/products", category="Gift cards"), lambda ps: len(ps) == 1, what="the product restored"
    )
    resold = await operation(chain, "sale", "st-1", [{"product_id": p["id"], "quantity": 2, "codes": ["r-1", "R-2"]}])

    # A membership.issue_rejected naming a gift card's sale is not the gift card's: nothing changes.
    await kafka.publish(
        topics.MEMBERSHIP_ISSUE_REJECTED,
        chain.event(
            sale_id=resold["lines"][0]["sales"][0]["sale_id"],
            membership_type_id=t["id"],
            code="r-1",
            client=ANNA,
            reason="code_taken",
        ),
        key=ANNA["id"],
    )
    await consumed_by_inventory(kafka, topics.MEMBERSHIP_ISSUE_REJECTED, of_chain(chain))
    [line] = (await get(chain, f"/operations/{resold['id']}"))["lines"]
    assert (line["quantity"], "refused_quantity" in line) == ("2", False)


@pytest.mark.parametrize("kind", ["gift_card", "membership"])
async def test_a_rejection_that_comes_before_inventory_records_the_sale_is_applied_with_it(
    chain: Chain, kafka: Kafka, kind: str
) -> None:
    """The issuing service reads `visit.paid` itself and may reject a unit before inventory has recorded the
    visit's sale (a fresh-clone run lost one so: ignored as not recorded). It waits for the sale, whose
    transaction applies it: the unit refused once, back in stock."""
    if kind == "gift_card":
        t = await gift_card_type(chain, kafka)
        p = await gift_card_product(chain)
        # The wallet refuses it too (archived), later: the first rejection (code_taken) stands, once.
        await wallet_archives(chain, t["id"])
        line, topic = gift_card_line(t["id"], 1, "E-1", "9000.00"), topics.GIFT_CARD_ISSUE_REJECTED
        refused_topic, type_field = topics.INVENTORY_GIFT_CARD_SALE_REFUSED, "gift_card_type_id"
    else:
        t = await create_type(chain)
        p = await membership_product(chain)
        line = membership_line(t["id"], 1, "E-1", "8000.00")
        topic, refused_topic, type_field = (
            topics.MEMBERSHIP_ISSUE_REJECTED,
            topics.INVENTORY_MEMBERSHIP_SALE_REFUSED,
            "membership_type_id",
        )
    await storage(chain, "st-1")
    await operation(chain, "arrival", "st-1", [{"product_id": p["id"], "quantity": 5}])
    v = visit(chain, [line])
    sale_id = f"inventory:visit:{v['visit_id']}:0:0"
    early = chain.event(sale_id=sale_id, code="E-1", client=ANNA, reason="code_taken", **{type_field: t["id"]})
    await kafka.publish(topic, early, key=ANNA["id"])
    await consumed_by_inventory(kafka, topic, lambda m: m.get("event_id") == early["event_id"])
    await kafka.publish(topics.VISIT_PAID, v, key=ANNA["id"])
    [sale] = await eventually(
        lambda: get(chain, "/operations", source=f"visit:{v['visit_id']}"),
        lambda ops: len(ops) == 1 and ops[0]["lines"][0]["quantity"] == "0",
        what="the unit refused",
    )
    assert sale["lines"][0]["sales"] == [{"sale_id": sale_id, "code": "E-1", "refused": "code_taken"}]
    assert await balances(chain) == {("st-1", p["id"]): "5"}
    [refused] = await kafka.read(refused_topic, of_chain(chain, sale_id=sale_id), settle=3)
    assert (refused["reason"], refused["amount"]) == ("code_taken", line["paid"])
