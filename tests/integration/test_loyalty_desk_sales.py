"""A desk sale with a client (inventory `POST /operations`, type sale, `client` named) counts toward the
client's loyalty statistics (sold, paid; not visits) at its location, exactly once, through real Kafka
and PostgreSQL: inventory publishes `inventory.sale_recorded`, loyalty adds it and recalculates, and the
cumulative cashback of a later visit counts it in its history (the desk sale itself accrues nothing)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain, publish
from tests.integration.inventory_helpers import operation, product, storage
from tests.integration.loyalty_helpers import (
    card_eventually,
    client,
    create,
    loyalty,
    loyalty_eventually,
    program_recalculated,
    put_program,
    visit_paid,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_a_desk_sale_counts_toward_sold_and_paid_once_and_gives_the_discount(chain: Chain, kafka: Kafka) -> None:
    await put_program(chain)  # 5% from 5,000 sold; Economy from 2,000 sold
    await storage(chain, "st-1")
    await product(chain, "prod-oil", sale_price="300")
    anna = client("anna")
    # 20 bottles at 280 instead of 300: sold at the list price (6,000), paid what was charged (5,600).
    sale: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "type": "sale",
        "storage_id": "st-1",
        "client": anna,
        "lines": [{"product_id": "prod-oil", "quantity": 20, "price": "280"}],
    }
    first = await operation(chain, **sale)
    again = await operation(chain, **sale)  # the desk retries with the same id: recorded once
    assert again == first

    state = await loyalty_eventually(chain, anna["id"], lambda s: s["sold"] != "0.00")
    assert (state["sold"], state["paid"], state["visits"], state["last_visit_at"]) == ("6000.00", "5600.00", 0, None)
    assert state["discount_percent"] == "5.00" and state["categories"] == ["Economy"]
    [recorded] = await kafka.read(topics.INVENTORY_SALE_RECORDED, of_chain(chain), settle=0.5)
    assert (recorded["operation_id"], recorded["location_id"], recorded["client"]["id"]) == (
        first["id"],
        "loc-1",
        anna["id"],
    )
    assert (recorded["sold"], recorded["paid"], recorded["storage_id"]) == ("6000.00", "5600.00", "st-1")
    [discount] = await kafka.read(topics.LOYALTY_DISCOUNT_CHANGED, of_chain(chain), settle=0.5)
    assert (discount["new_percent"], discount["reason"]) == ("5.00", "desk_sale")

    # The event redelivered, and once more under another event id (the same operation): nothing more.
    raw = {k: v for k, v in recorded.items() if not k.startswith("_")}
    await kafka.publish(topics.INVENTORY_SALE_RECORDED, raw, key=anna["id"])
    await kafka.publish(topics.INVENTORY_SALE_RECORDED, {**raw, "event_id": str(uuid.uuid4())}, key=anna["id"])
    # A marker after them on her key: another desk sale of hers, its effect awaited.
    await operation(chain, "sale", "st-1", [{"product_id": "prod-oil", "quantity": 1}], client=anna)
    state = await loyalty_eventually(chain, anna["id"], lambda s: s["sold"] != "6000.00")
    assert (state["sold"], state["paid"], state["visits"]) == ("6300.00", "5900.00", 0)


async def test_a_sale_without_a_client_and_other_operations_count_for_nobody(chain: Chain, kafka: Kafka) -> None:
    await storage(chain, "st-1")
    await product(chain, "prod-oil")
    bob = client("bob")
    await operation(chain, "arrival", "st-1", [{"product_id": "prod-oil", "quantity": 5}])
    await operation(chain, "sale", "st-1", [{"product_id": "prod-oil", "quantity": 2}])  # nobody named
    # A visit's product line is a sale of inventory too: it counts once, as part of the visit.
    visit = visit_paid(chain, bob, "1000")
    visit["lines"].append(
        {"kind": "product", "item_id": "prod-oil", "storage_id": "st-1", "quantity": 1, "sold": "300", "paid": "300"}
    )
    await publish(kafka, topics.VISIT_PAID, visit)
    await operation(chain, "sale", "st-1", [{"product_id": "prod-oil", "quantity": 1}], client=bob)  # the marker
    state = await loyalty_eventually(chain, bob["id"], lambda s: s["sold"] == "1600.00")
    assert state["paid"] == "1600.00"
    recorded = await kafka.read_to_end(topics.INVENTORY_SALE_RECORDED, of_chain(chain))
    assert [r["client"]["id"] for r in recorded] == [bob["id"]]  # the marker's only


async def test_saving_a_program_counts_a_client_who_only_bought_at_the_desk(chain: Chain) -> None:
    await storage(chain, "st-2", location_id="loc-2")
    await product(chain, "prod-oil", sale_price="3000")
    cleo = client("cleo")
    await operation(chain, "sale", "st-2", [{"product_id": "prod-oil", "quantity": 2}], client=cleo)
    await loyalty_eventually(chain, cleo["id"], lambda s: s["sold"] == "6000.00", location_id="loc-2")
    await put_program(chain, location_id="loc-2")  # no program there before: the save recalculates her
    await program_recalculated(chain, "loc-2")
    state = await loyalty(chain, cleo["id"], location_id="loc-2")
    assert state["discount_percent"] == "5.00" and state["visits"] == 0
    assert (await loyalty(chain, cleo["id"], location_id="loc-1"))["sold"] == "0.00"  # another location's


async def test_a_desk_sale_counts_in_the_cumulative_history_and_accrues_nothing_itself(
    chain: Chain, kafka: Kafka
) -> None:
    await storage(chain, "st-1")
    await product(chain, "prod-oil", sale_price="500")
    dora = client("dora")
    card_type = await create(chain, "/card-types", {"name": "Club", "location_ids": ["loc-1"]})
    await create(
        chain,
        "/promotions",
        {
            "name": "Cumulative",
            "type": "cumulative_cashback_sold",
            "card_type_ids": [card_type["id"]],
            "location_ids": ["loc-1"],
            "rules": [{"from": "0", "percent": "3"}, {"from": "10000", "percent": "5"}],
        },
    )
    card = await create(
        chain,
        "/cards",
        {"card_type_id": card_type["id"], "client_id": dora["id"], "phone": dora["phone"], "number": "C-77"},
    )
    await operation(chain, "sale", "st-1", [{"product_id": "prod-oil", "quantity": 19}], client=dora)  # 9,500
    await loyalty_eventually(chain, dora["id"], lambda s: s["sold"] == "9500.00")
    # A visit of 1,000: her history is 10,500 with the desk sale, so 5% (50 points), not 3% (30).
    await publish(kafka, topics.VISIT_PAID, visit_paid(chain, dora, "1000"))
    seen = await card_eventually(chain, card["id"], lambda c: c["balance"] != "0.00")
    assert seen["balance"] == "50.00"
    assert [(t["kind"], t["amount"]) for t in seen["transactions"]] == [("accrual", "50.00")]
