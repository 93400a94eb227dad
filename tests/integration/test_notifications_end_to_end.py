"""Notices from the real publishers: the inventory service's own `inventory.stock_low` reaches the
location's administrator by SMS; the loyalty service's cashback reaches the client."""

from __future__ import annotations

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain
from tests.integration.inventory_helpers import operation, product, storage
from tests.integration.loyalty_helpers import bonus_setup
from tests.integration.loyalty_helpers import client as loyalty_client
from tests.integration.loyalty_helpers import visit_paid as loyalty_visit
from tests.integration.notifications_helpers import ADMIN_PHONE, put_settings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_a_sale_under_the_minimum_texts_the_administrator(chain: Chain, kafka: Kafka) -> None:
    await put_settings(chain, location_name="Centrum", administrator={"name": "Eva", "phone": ADMIN_PHONE})
    await storage(chain, "st-1")
    await product(chain, "prod-oil", min_stock="3")
    await operation(chain, "arrival", "st-1", [{"product_id": "prod-oil", "quantity": 5}])
    await operation(chain, "sale", "st-1", [{"product_id": "prod-oil", "quantity": 3, "price": "280"}])

    [sms] = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain), settle=0.5)
    [low] = await kafka.read(topics.INVENTORY_STOCK_LOW, of_chain(chain))
    assert sms["source_event_id"] == low["event_id"]
    assert (sms["to"], sms["audience"], sms["type"]) == (ADMIN_PHONE, "administrator", "inventory.stock_low")
    assert sms["text"] == "Centrum: Oil is low in storage st-1: 2 pcs left (minimum 3 pcs)."


async def test_cashback_of_a_paid_visit_texts_the_client_its_points(chain: Chain, kafka: Kafka) -> None:
    anna = loyalty_client("anna")
    await bonus_setup(chain, anna, number="C-7")
    visit = loyalty_visit(chain, anna, "10500", "10000")
    await kafka.publish(topics.VISIT_PAID, visit, key=anna["id"])

    [sms] = await kafka.read(
        topics.NOTIFICATION_SMS, lambda m: of_chain(chain)(m) and m["type"] == "loyalty.bonus_accrued"
    )
    [accrued] = await kafka.read(topics.LOYALTY_BONUS_ACCRUED, of_chain(chain))
    assert sms["source_event_id"] == accrued["event_id"] and sms["to"] == anna["phone"]
    assert sms["text"] == "Client anna, 300 bonus points added to card C-7; balance 300."
