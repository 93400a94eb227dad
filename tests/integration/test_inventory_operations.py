"""Inventory through its API: the catalog, arrivals, sales, write-offs, relocations, stock now and at a
moment, and bad input answered 422 (naming the field) or 409 (with the reason)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain
from tests.integration.inventory_helpers import balances, get, operation, post, product, storage

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_stock_moves_with_operations_and_a_sale_below_zero_is_reported_not_refused(
    chain: Chain, kafka: Kafka
) -> None:
    await storage(chain, "st-1")
    await storage(chain, "st-2")
    oils = await post(chain, "/categories", {"name": "Oils"})
    oil = await product(chain, "prod-oil", category_id=oils["id"], min_stock="3", barcode="5991234567890")
    assert oil["category"] == "Oils" and oil["kind"] == "goods" and oil["min_stock"] == "3"
    await product(chain, "prod-lotion", unit="ml", sale_price="0.50", cost_price="0.10")

    before = datetime.now(UTC)
    arrival = await operation(
        chain,
        "arrival",
        "st-1",
        [{"product_id": "prod-oil", "quantity": 5}, {"product_id": "prod-lotion", "quantity": "250.5"}],
        user="keeper",
        comment="delivery 17",
    )
    assert arrival["type"] == "arrival" and arrival["source"] == "user:keeper" and arrival["location_id"] == "loc-1"
    assert arrival["lines"][0] == {
        "product_id": "prod-oil",
        "product_name": "Oil",
        "unit": "pcs",
        "quantity": "5",
        "price": "120.00",
        "amount": "600.00",
    }
    moved = await operation(
        chain, "relocation", "st-1", [{"product_id": "prod-oil", "quantity": 2}], to_storage_id="st-2"
    )
    assert moved["to_storage_id"] == "st-2"
    await operation(chain, "write_off", "st-1", [{"product_id": "prod-lotion", "quantity": "0.5"}])
    assert await balances(chain) == {
        ("st-1", "prod-oil"): "3",
        ("st-2", "prod-oil"): "2",
        ("st-1", "prod-lotion"): "250",
    }
    middle = datetime.now(UTC)

    # A sale of more than there is: recorded, and the stock goes below zero (reported, never refused).
    sale = await operation(
        chain,
        "sale",
        "st-1",
        [{"product_id": "prod-oil", "quantity": 4, "price": "280"}],
        client={"id": "cl-5", "name": "Anna"},
    )
    assert sale["number"] > arrival["number"] and sale["client"] == {"id": "cl-5", "name": "Anna"}
    assert sale["lines"][0]["amount"] == "1120.00"
    now = await balances(chain, storage_id="st-1")
    assert now == {("st-1", "prod-oil"): "-1", ("st-1", "prod-lotion"): "250"}
    [row] = [r for r in await get(chain, "/stock", storage_id="st-1") if r["product_id"] == "prod-oil"]
    assert row["low"] is True and row["location_id"] == "loc-1"

    changed = await kafka.read(topics.INVENTORY_STOCK_CHANGED, of_chain(chain), count=6, settle=0.5)
    # Keyed by product: one product's events are in order, two products' interleave.
    changed.sort(key=lambda c: (c["operation_number"], c["storage_id"], c["product_id"]))
    assert [(c["operation_type"], c["storage_id"], c["product_id"], c["delta"], c["balance"]) for c in changed] == [
        ("arrival", "st-1", "prod-lotion", "250.5", "250.5"),
        ("arrival", "st-1", "prod-oil", "5", "5"),
        ("relocation", "st-1", "prod-oil", "-2", "3"),
        ("relocation", "st-2", "prod-oil", "2", "2"),
        ("write_off", "st-1", "prod-lotion", "-0.5", "250"),
        ("sale", "st-1", "prod-oil", "-4", "-1"),
    ]
    [low] = await kafka.read(topics.INVENTORY_STOCK_LOW, of_chain(chain), settle=0.5)
    assert (low["storage_id"], low["product_id"], low["balance"], low["reason"]) == (
        "st-1",
        "prod-oil",
        "-1",
        "negative",
    )

    # Stock at a moment: the ledger up to then.
    assert await balances(chain, at=middle.isoformat()) == {
        ("st-1", "prod-oil"): "3",
        ("st-2", "prod-oil"): "2",
        ("st-1", "prod-lotion"): "250",
    }
    assert await balances(chain, at=(before - timedelta(seconds=1)).isoformat()) == {}

    # The history, filtered by type and time.
    sales = await get(chain, "/operations", type="sale")
    assert [s["id"] for s in sales] == [sale["id"]]
    assert len(await get(chain, "/operations", **{"from": before.isoformat(), "to": middle.isoformat()})) == 3
    assert (await get(chain, f"/operations/{sale['id']}"))["number"] == sale["number"]


async def test_a_stock_keeper_cannot_write_off_or_move_what_is_not_there(chain: Chain) -> None:
    await storage(chain, "st-1")
    await storage(chain, "st-2")
    await product(chain, "prod-oil")
    await operation(chain, "arrival", "st-1", [{"product_id": "prod-oil", "quantity": 1}])
    refused = await operation(chain, "write_off", "st-1", [{"product_id": "prod-oil", "quantity": 2}], status=409)
    assert refused["error"] == "insufficient_stock"
    await operation(
        chain, "relocation", "st-1", [{"product_id": "prod-oil", "quantity": 2}], status=409, to_storage_id="st-2"
    )
    assert await balances(chain) == {("st-1", "prod-oil"): "1"}  # nothing of the refused ones stays
    assert [o["type"] for o in await get(chain, "/operations")] == ["arrival"]


async def test_a_retried_operation_is_recorded_once(chain: Chain) -> None:
    await storage(chain, "st-1")
    await product(chain, "prod-oil")
    body = {
        "id": "0b8f5c1e-6a55-4f7e-9a39-6d8a1f0e7a21",
        "type": "arrival",
        "storage_id": "st-1",
        "lines": [{"product_id": "prod-oil", "quantity": 3}],
    }
    first = await post(chain, "/operations", body)
    again = await post(chain, "/operations", body)
    assert again == first
    assert await balances(chain) == {("st-1", "prod-oil"): "3"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"type": "arrival", "storage_id": "st-1", "lines": [{"product_id": "prod-oil", "quantity": -2}]},
            "lines.0.quantity",
        ),
        (
            {
                "type": "relocation",
                "storage_id": "st-1",
                "to_storage_id": "st-2",
                "lines": [{"product_id": "prod-oil", "quantity": "-1"}],
            },
            "lines.0.quantity",
        ),
        (
            {"type": "sale", "storage_id": "st-1", "lines": [{"product_id": "prod-oil", "quantity": 0}]},
            "lines.0.quantity",
        ),
        (
            {"type": "sale", "storage_id": "st-1", "lines": [{"product_id": "prod-oil", "quantity": "1.5"}]},
            "lines.0.quantity",
        ),  # pieces are whole
        (
            {"type": "sale", "storage_id": "st-1", "lines": [{"product_id": "prod-lotion", "quantity": "0.0005"}]},
            "lines.0.quantity",
        ),
        (
            {
                "type": "sale",
                "storage_id": "st-1",
                "lines": [{"product_id": "prod-oil", "quantity": 1, "price": "1.005"}],
            },
            "lines.0.price",
        ),
        (
            {"type": "sale", "storage_id": "st-1", "lines": [{"product_id": "prod-nope", "quantity": 1}]},
            "lines.0.product_id",
        ),
        ({"type": "sale", "storage_id": "st-nope", "lines": [{"product_id": "prod-oil", "quantity": 1}]}, "storage_id"),
        ({"type": "arrival", "lines": [{"product_id": "prod-oil", "quantity": 1}]}, "storage_id"),
        (
            {"type": "relocation", "storage_id": "st-1", "lines": [{"product_id": "prod-oil", "quantity": 1}]},
            "to_storage_id",
        ),
        (
            {
                "type": "relocation",
                "storage_id": "st-1",
                "to_storage_id": "st-1",
                "lines": [{"product_id": "prod-oil", "quantity": 1}],
            },
            "to_storage_id",
        ),
        ({"type": "sale", "storage_id": "st-1", "lines": []}, "lines"),
    ],
)
async def test_bad_operations_are_refused_naming_the_field(chain: Chain, body: dict, field: str) -> None:  # type: ignore[type-arg]
    await storage(chain, "st-1")
    await product(chain, "prod-oil")
    await product(chain, "prod-lotion", unit="ml")
    answer = await post(chain, "/operations", body, status=422)
    named = [f["field"] for f in answer["fields"]] if "fields" in answer else [answer["field"]]
    assert field in named, answer
    assert await get(chain, "/operations") == []


async def test_bad_catalog_input_is_refused_naming_the_field(chain: Chain) -> None:
    await storage(chain, "st-1")
    answer = await post(chain, "/products", {"name": "Oil", "sale_price": "10.005"}, status=422)
    assert [f["field"] for f in answer["fields"]] == ["sale_price"]
    answer = await post(
        chain, "/products", {"name": "Oil", "sale_price": "10", "unit": "pcs", "min_stock": "0.5"}, status=422
    )
    assert answer["field"] == "min_stock"
    answer = await post(chain, "/storages", {"id": "st-1", "location_id": "loc-1", "name": "again"}, status=409)
    assert answer["error"] == "storage_exists"


async def test_a_product_is_changed_and_its_new_minimum_counts(chain: Chain, kafka: Kafka) -> None:
    await storage(chain, "st-1")
    await product(chain, "prod-oil")
    await operation(chain, "arrival", "st-1", [{"product_id": "prod-oil", "quantity": 10}])
    changed = await post(chain, "/products/prod-oil", {"min_stock": 8, "sale_price": "320"}, status=200, method="PATCH")
    assert changed["min_stock"] == "8" and changed["sale_price"] == "320.00"
    sale = await operation(chain, "sale", "st-1", [{"product_id": "prod-oil", "quantity": 3}])
    assert sale["lines"][0]["price"] == "320.00"  # the sale price by default
    [low] = await kafka.read(topics.INVENTORY_STOCK_LOW, of_chain(chain))
    assert (low["balance"], low["min_stock"], low["reason"]) == ("7", "8", "below_min_stock")
    assert (await post(chain, "/products/prod-nope", {"min_stock": 1}, status=404, method="PATCH"))[
        "error"
    ] == "product_not_found"
