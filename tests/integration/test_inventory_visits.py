"""Visits and stock: a paid visit sells its product lines and writes off its services' consumables;
an arrived visit writes off consumables; each effect once per visit however often the events come;
a visit naming an unknown product is dead-lettered with the reason."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, eventually, of_chain
from tests.integration.helpers import ANNA
from tests.integration.inventory_helpers import (
    balances,
    balances_eventually,
    get,
    operation,
    post,
    product,
    stocked_salon,
    storage,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def visit_paid(chain: Chain, visit_id: str, **fields: Any) -> dict[str, Any]:
    return chain.event(
        visit_id=visit_id,
        client=ANNA,
        lines=[
            {"kind": "service", "item_id": "svc-massage", "quantity": 2, "sold": "2000", "paid": "2000"},
            {
                "kind": "product",
                "item_id": "prod-oil",
                "storage_id": "st-1",
                "quantity": 2,
                "sold": "600",
                "paid": "540",
            },
        ],
        **fields,
    )


def arrived(chain: Chain, visit_id: str) -> dict[str, Any]:
    return chain.event(
        visit_id=visit_id,
        client=ANNA,
        scheduled_at="2026-03-01T10:00:00+00:00",
        services=[{"service_id": "svc-massage"}],
    )


async def test_a_paid_visit_sells_its_products_and_writes_off_consumables_once(chain: Chain, kafka: Kafka) -> None:
    await stocked_salon(chain)
    settings = await post(
        chain, "/locations/loc-1/inventory-settings", {"consumables_on": "paid"}, status=200, method="PUT"
    )
    assert settings == {"location_id": "loc-1", "consumables_on": "paid", "consumables_storage_id": None}
    visit = visit_paid(chain, "v-1")
    await kafka.publish(topics.VISIT_PAID, visit, key=ANNA["id"])
    await kafka.publish(topics.VISIT_PAID, visit, key=ANNA["id"])  # redelivered
    await kafka.publish(topics.VISIT_PAID, {**visit, "event_id": f"e-{uuid.uuid4()}"}, key=ANNA["id"])  # replayed
    await kafka.publish(topics.VISIT_ARRIVED, arrived(chain, "v-1"), key=ANNA["id"])  # consumables already gone
    # A later visit proves the ones above were consumed before we look.
    await kafka.publish(topics.VISIT_PAID, visit_paid(chain, "v-2"), key=ANNA["id"])

    expected = {("st-1", "prod-oil"): "-1", ("st-2", "prod-lotion"): "880", ("st-2", "prod-gloves"): "96"}
    await balances_eventually(chain, expected)
    assert await balances(chain) == expected
    ops = await get(chain, "/operations", source="visit:v-1")
    assert sorted((o["type"], o["storage_id"]) for o in ops) == [("sale", "st-1"), ("write_off", "st-2")]
    sale = next(o for o in ops if o["type"] == "sale")
    assert sale["lines"] == [
        {
            "product_id": "prod-oil",
            "product_name": "Oil",
            "unit": "pcs",
            "quantity": "2",
            "price": "270.00",
            "amount": "540.00",
        }
    ]
    write_off = next(o for o in ops if o["type"] == "write_off")
    assert {(x["product_id"], x["quantity"]) for x in write_off["lines"]} == {
        ("prod-lotion", "60"),
        ("prod-gloves", "2"),
    }
    # Stock going negative was reported: oil fell under its minimum (2) on v-1, below zero on v-2.
    low = await kafka.read(topics.INVENTORY_STOCK_LOW, of_chain(chain), count=2, settle=0.5)
    assert [(x["product_id"], x["balance"], x["reason"]) for x in low] == [
        ("prod-oil", "1", "below_min_stock"),
        ("prod-oil", "-1", "negative"),
    ]


async def test_an_arrived_visit_writes_off_consumables_once_and_payment_then_does_not(
    chain: Chain, kafka: Kafka
) -> None:
    await stocked_salon(chain)  # default settings: consumables leave when the visit is marked arrived
    await kafka.publish(topics.VISIT_ARRIVED, arrived(chain, "v-1"), key=ANNA["id"])
    await kafka.publish(topics.VISIT_ARRIVED, arrived(chain, "v-1"), key=ANNA["id"])  # marked arrived again
    await kafka.publish(topics.VISIT_PAID, visit_paid(chain, "v-1"), key=ANNA["id"])
    # Markers, one on each topic after the events above (same key): v-2 arrives and is paid. Once both
    # of its operations are there, everything before them on both topics has been applied.
    await kafka.publish(topics.VISIT_ARRIVED, arrived(chain, "v-2"), key=ANNA["id"])
    await kafka.publish(topics.VISIT_PAID, visit_paid(chain, "v-2"), key=ANNA["id"])
    await eventually(
        lambda: get(chain, "/operations", source="visit:v-2"),
        lambda ops: sorted(o["type"] for o in ops) == ["sale", "write_off"],
        what="v-2's operations",
    )
    # One write-off per arrived visit (30 ml and a pair of gloves each), none on payment; 2 + 2 oil sold.
    assert await balances(chain) == {
        ("st-1", "prod-oil"): "-1",
        ("st-2", "prod-lotion"): "940",
        ("st-2", "prod-gloves"): "98",
    }
    ops = await get(chain, "/operations", source="visit:v-1")
    assert sorted(o["type"] for o in ops) == ["sale", "write_off"]


async def test_a_visit_naming_an_unknown_product_is_dead_lettered_with_the_reason(chain: Chain, kafka: Kafka) -> None:
    await stocked_salon(chain)
    bad = chain.event(
        visit_id="v-bad",
        client=ANNA,
        lines=[
            {"kind": "product", "item_id": "prod-nope", "storage_id": "st-1", "quantity": 1, "sold": "1", "paid": "1"}
        ],
    )
    await kafka.publish(topics.VISIT_PAID, bad, key=ANNA["id"])
    [dead] = await kafka.read(
        topics.dlq(topics.VISIT_PAID),
        lambda m: (
            m.get("visit_id") == "v-bad"
            and m.get("chain_id") == chain.id
            and m["_headers"].get("x-consumer-group") == "perkstream.inventory"
        ),
    )
    assert "lines.0.item_id: unknown product prod-nope" in dead["_headers"]["x-error"]
    await kafka.publish(topics.VISIT_PAID, visit_paid(chain, "v-ok"), key=ANNA["id"])
    await eventually(
        lambda: get(chain, "/operations", source="visit:v-ok"), lambda ops: len(ops) == 1, what="the next visit applied"
    )
    assert await get(chain, "/operations", source="visit:v-bad") == []


async def test_a_chain_wide_bill_uses_the_location_consumables_storage(chain: Chain, kafka: Kafka) -> None:
    await storage(chain, "st-1")
    await storage(chain, "st-2")
    await product(chain, "prod-gloves")
    await operation(chain, "arrival", "st-2", [{"product_id": "prod-gloves", "quantity": 10}])
    chain_bill = await post(
        chain,
        "/services/svc-massage/bill-of-materials",
        {"items": [{"product_id": "prod-gloves", "quantity": 2}]},
        status=200,
        method="PUT",
    )
    assert chain_bill["location_id"] is None and chain_bill["storage_id"] is None
    bad = await post(
        chain,
        "/services/svc-massage/bill-of-materials",
        {"items": [{"product_id": "prod-gloves", "quantity": "0.5"}]},
        status=422,
        method="PUT",
    )
    assert bad["field"] == "items.0.quantity"  # gloves come in pieces
    assert await get(chain, "/services/svc-massage/bill-of-materials") == [
        {
            "service_id": "svc-massage",
            "location_id": None,
            "storage_id": None,
            "items": [{"product_id": "prod-gloves", "quantity": "2"}],
        }
    ]

    # Two storages and no consumables storage named: the event cannot know where the gloves are.
    await kafka.publish(topics.VISIT_ARRIVED, arrived(chain, "v-1"), key=ANNA["id"])
    [dead] = await kafka.read(topics.dlq(topics.VISIT_ARRIVED), lambda m: m.get("chain_id") == chain.id)
    assert "no storage to write the consumables of svc-massage off at loc-1" in dead["_headers"]["x-error"]

    await post(
        chain, "/locations/loc-1/inventory-settings", {"consumables_storage_id": "st-2"}, status=200, method="PUT"
    )
    assert (await get(chain, "/locations/loc-1/inventory-settings"))["consumables_storage_id"] == "st-2"
    await kafka.publish(topics.VISIT_ARRIVED, arrived(chain, "v-1"), key=ANNA["id"])  # replayed once fixed
    await balances_eventually(chain, {("st-2", "prod-gloves"): "8"})
    [write_off] = await get(chain, "/operations", source="visit:v-1")
    assert write_off["type"] == "write_off" and write_off["comment"] == "consumables: svc-massage"
