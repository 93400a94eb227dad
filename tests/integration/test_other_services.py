"""Loyalty and inventory consume `visit.paid` on their own (their full logic comes in their issues)."""

from __future__ import annotations

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, eventually
from tests.integration.helpers import ANNA

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_a_paid_visit_reaches_loyalty_and_inventory(chain: Chain, kafka: Kafka) -> None:
    visit = chain.event(
        visit_id="v-77", client=ANNA, lines=[
            {"kind": "service", "item_id": "svc-massage", "quantity": 1, "sold": "1000", "paid": "900"},
            {"kind": "product", "item_id": "prod-oil", "storage_id": "st-1", "quantity": 2, "sold": "300",
             "paid": "300"},
        ])
    await kafka.publish(topics.VISIT_PAID, visit, key=ANNA["id"])
    await kafka.publish(topics.VISIT_PAID, {**visit, "event_id": "e-again"}, key=ANNA["id"])  # once only

    async def loyalty() -> dict:  # type: ignore[type-arg]
        async with chain.client("loyalty") as http:
            return (await http.get(f"/clients/{ANNA['id']}/loyalty", params={"location_id": "loc-1"})).json()

    stats = await eventually(loyalty, lambda s: s["sold"] == "1300.00", what="loyalty stats")
    assert stats["paid"] == "1200.00"

    # The inventory side of a paid visit: tests/integration/test_inventory_visits.py.
