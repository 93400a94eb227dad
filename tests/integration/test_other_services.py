"""Loyalty and inventory consume `visit.paid` on their own, each once per visit."""

from __future__ import annotations

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, eventually
from tests.integration.helpers import ANNA
from tests.integration.inventory_helpers import balances, get, operation, product, storage
from tests.integration.loyalty_helpers import loyalty_eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_a_paid_visit_reaches_loyalty_and_inventory(chain: Chain, kafka: Kafka) -> None:
    await storage(chain, "st-1")
    await product(chain, "prod-oil")
    await operation(chain, "arrival", "st-1", [{"product_id": "prod-oil", "quantity": 10}])
    visit = chain.event(
        visit_id="v-77",
        client=ANNA,
        lines=[
            {"kind": "service", "item_id": "svc-massage", "quantity": 1, "sold": "1000", "paid": "900"},
            {
                "kind": "product",
                "item_id": "prod-oil",
                "storage_id": "st-1",
                "quantity": 2,
                "sold": "300",
                "paid": "300",
            },
        ],
    )
    await kafka.publish(topics.VISIT_PAID, visit, key=ANNA["id"])
    await kafka.publish(topics.VISIT_PAID, {**visit, "event_id": "e-again"}, key=ANNA["id"])  # once only
    # A later visit on the same key: once both services show it, both have consumed the copy before it.
    marker = chain.event(
        visit_id="v-78",
        client=ANNA,
        lines=[
            {
                "kind": "product",
                "item_id": "prod-oil",
                "storage_id": "st-1",
                "quantity": 1,
                "sold": "150",
                "paid": "150",
            }
        ],
    )
    await kafka.publish(topics.VISIT_PAID, marker, key=ANNA["id"])

    # Only a total that includes v-78 ends in 50.
    stats = await loyalty_eventually(chain, ANNA["id"], lambda s: s["sold"].endswith("50.00"))
    assert (stats["sold"], stats["paid"]) == ("1450.00", "1350.00")  # v-77 once (1,300 / 1,200), v-78
    await eventually(
        lambda: get(chain, "/operations", source="visit:v-78"),
        lambda ops: len(ops) == 1,
        what="the marker visit's sale",
    )
    [sale] = await get(chain, "/operations", source="visit:v-77")
    assert sale["type"] == "sale" and sale["storage_id"] == "st-1"
    assert [(x["product_id"], x["quantity"], x["amount"]) for x in sale["lines"]] == [("prod-oil", "2", "300.00")]
    assert await balances(chain) == {("st-1", "prod-oil"): "7"}  # 10 - 2 (v-77, once) - 1 (v-78)
