"""Builders for the slice: a membership type, a sale and a paid visit, as a booking system sends them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, eventually

ANNA = {"id": "cl-5", "phone": "+36201234567", "name": "Anna"}

MASSAGE_TYPE: dict[str, Any] = {
    "name": "Massage membership",
    "balance": "split",
    "services": [{"service_id": "svc-massage", "category_id": "cat-body", "visits": 10}],
    "total_visits": None,
    "price": "8000",
    "validity": {"period": 3, "unit": "month", "counted_from": "first_visit"},
    "auto_activation_days": 30,
    "freeze": {"allowed": True, "max_days": 14},
    "allow_without_code": False,
    "recalculate_service_cost": True,
    "editing": "all_locations",
    "online_sale": True,
    "location_ids": ["loc-1", "loc-2"],
}


async def create_type(chain: Chain, **overrides: Any) -> dict[str, Any]:
    async with chain.client("memberships") as http:
        r = await http.post("/membership-types", json={**MASSAGE_TYPE, **overrides})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def sale(chain: Chain, type_id: str, code: str | None, client: dict[str, Any] = ANNA, **fields: Any) -> dict[str, Any]:
    return chain.event(
        **{
            "sale_id": f"s-{uuid.uuid4().hex[:8]}",
            "membership_type_id": type_id,
            "code": code,
            "client": client,
            "price": "8000",
            **fields,
        }
    )


async def sell(chain: Chain, kafka: Kafka, type_id: str, code: str, **fields: Any) -> dict[str, Any]:
    """Publishes `membership.sold` and waits until the membership can be read."""
    event = sale(chain, type_id, code, **fields)
    await kafka.publish(topics.MEMBERSHIP_SOLD, event, key=event["client"]["id"])
    return await membership_eventually(chain, code, lambda m: True)


def paid_visit(
    chain: Chain,
    code: str,
    *,
    service: str = "svc-massage",
    quantity: int = 1,
    visit_id: str | None = None,
    client: dict[str, Any] = ANNA,
    **fields: Any,
) -> dict[str, Any]:
    return chain.event(
        visit_id=visit_id or f"v-{uuid.uuid4().hex[:8]}",
        client=client,
        loyalty_card_id=None,
        bonus_spent="0",
        lines=[
            {
                "kind": "service",
                "item_id": service,
                "category_id": "cat-body",
                "quantity": quantity,
                "sold": "1000",
                "paid": "0",
                "membership": {"code": code},
            }
        ],
        **fields,
    )


async def get_membership(chain: Chain, code: str) -> httpx.Response:
    async with chain.client("memberships") as http:
        return await http.get(f"/memberships/{code}")


async def membership_eventually(chain: Chain, code: str, check: Any, timeout: float = 20) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        r = await get_membership(chain, code)
        return r.json() if r.status_code == 200 else None

    return await eventually(
        probe,
        lambda m: m is not None and check(m),
        timeout=timeout,  # type: ignore[return-value]
        what=f"membership {code}",
    )


@asynccontextmanager
async def membership_row_held(stack: Stack, chain: Chain, code: str) -> AsyncIterator[None]:
    """Membership `code`'s row locked (FOR UPDATE) by a transaction of the test's own, until the block ends:
    a visit paid with it waits for the lock (for ever, without a bound)."""
    holder = await asyncpg.connect(stack.settings.database_url)
    hold = holder.transaction()
    await hold.start()
    try:
        assert (
            await holder.fetchval(
                "SELECT count(*) FROM (SELECT 1 FROM memberships.memberships "
                "WHERE chain_id = $1 AND code = $2 FOR UPDATE) AS l",
                chain.id,
                code,
            )
            == 1
        )
        yield
    finally:
        await hold.rollback()
        await holder.close()
