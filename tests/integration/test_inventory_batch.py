"""Many visits at once: paid and arrived visits of two chains and three clients, interleaved, sent
together (one consumer batch per topic) have exactly the effects they have one at a time. Each visit
takes its stock from what the earlier ones left (stock_changed balances step down one by one, and a
balance falls under its minimum, or below zero, once), consumables leave once per visit and service
(a visit marked arrived twice in the batch writes off once), a visit paid twice is applied once, and a
membership line is one `membership.sold` per unit."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, eventually, new_chain, of_chain
from tests.integration.helpers import ANNA, create_type
from tests.integration.inventory_helpers import balances, get, post, stocked_salon
from tests.integration.isolation_helpers import publish_together

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

BEA = {"id": "cl-bea", "phone": "+36201234568", "name": "Bea"}
CLIO = {"id": "cl-clio", "phone": "+36201234569", "name": "Clio"}
OIL = {"kind": "product", "item_id": "prod-oil", "storage_id": "st-1", "quantity": 1, "sold": "300", "paid": "300"}
MASSAGE = {"kind": "service", "item_id": "svc-massage", "quantity": 1, "sold": "2000", "paid": "2000"}


Message = tuple[str, str, dict[str, Any]]  # topic, key, event


def paid(chain: Chain, visit_id: str, client: dict[str, Any], *lines: dict[str, Any]) -> Message:
    return topics.VISIT_PAID, client["id"], chain.event(visit_id=visit_id, client=client, lines=list(lines))


def arrived(chain: Chain, visit_id: str, client: dict[str, Any]) -> Message:
    return (
        topics.VISIT_ARRIVED,
        client["id"],
        chain.event(
            visit_id=visit_id,
            client=client,
            scheduled_at="2026-03-01T10:00:00+00:00",
            services=[{"service_id": "svc-massage"}],
        ),
    )


async def operations(chain: Chain) -> Counter[tuple[str, str]]:
    """(source, type) -> how many."""
    return Counter((o["source"], o["type"]) for o in await get(chain, "/operations", limit=1000))


async def operations_eventually(chain: Chain, expected: Counter[tuple[str, str]]) -> Counter[tuple[str, str]]:
    return await eventually(
        lambda: operations(chain),
        lambda found: all(found[k] >= 1 for k in expected),
        what=f"{chain.id}: every visit's operations",
    )


async def test_a_batch_of_visits_has_the_effects_of_the_visits_one_at_a_time(
    stack: Stack, kafka: Kafka, chain: Chain
) -> None:
    a, b = chain, await new_chain(stack)
    await stocked_salon(a)  # oil 3 (minimum 2) on st-1; lotion 1000 ml, gloves 100 on st-2; a massage: 30 ml + 1
    await stocked_salon(b)
    await post(a, "/locations/loc-1/inventory-settings", {"consumables_on": "paid"}, status=200, method="PUT")
    # b keeps the default: consumables leave when a visit is marked arrived
    gift = await create_type(a, name="Gift massage")
    membership = {
        "kind": "membership",
        "item_id": gift["id"],
        "quantity": 2,
        "sold": "16000",
        "paid": "15999.99",
        "code": "auto",
    }

    twice = paid(a, "a-1", ANNA, MASSAGE, OIL)
    again = (twice[0], twice[1], {**twice[2], "event_id": f"{twice[2]['event_id']}-again"})  # paid twice: once
    marked = arrived(b, "b-1", ANNA)
    remarked = (marked[0], marked[1], {**marked[2], "event_id": f"{marked[2]['event_id']}-again"})
    # Per client (one partition each), the last event is a visit whose effect is awaited below: once it is
    # there, every event before it on its partition has been applied (or found a duplicate).
    await publish_together(
        kafka,
        [
            twice,
            paid(b, "b-1", ANNA, OIL),
            paid(a, "a-2", BEA, MASSAGE, OIL),
            again,
            paid(a, "a-3", CLIO, MASSAGE, OIL),
            paid(b, "b-2", BEA, OIL),
            paid(a, "a-4", ANNA, MASSAGE, OIL),
            paid(a, "a-5", BEA, MASSAGE, OIL, membership),
            paid(b, "b-3", CLIO, OIL),
            paid(a, "a-6", CLIO, MASSAGE, OIL),
            marked,
            arrived(b, "b-2", BEA),
            remarked,
            arrived(b, "b-3", ANNA),
        ],
    )

    # a: six visits each sell an oil and write a massage off on payment; a-5 also sells two memberships
    expected_a = Counter({(f"visit:a-{n}", t): 1 for n in range(1, 7) for t in ("sale", "write_off")})
    expected_a[("visit:a-5", "sale")] = 2  # the oil from st-1, the memberships from no storage
    # b: three visits sell an oil; three are marked arrived (b-1 twice) and write a massage off once each
    expected_b = Counter({(f"visit:b-{n}", t): 1 for n in range(1, 4) for t in ("sale", "write_off")})
    for of, expected in ((a, expected_a), (b, expected_b)):
        ops = await operations_eventually(of, expected)
        assert {k: n for k, n in ops.items() if k[0].startswith("visit:")} == expected

    # Six oils from three, and 6 x (30 ml, 1) in a; three oils and 3 x (30 ml, 1) in b.
    assert await balances(a) == {
        ("st-1", "prod-oil"): "-3",
        ("st-2", "prod-lotion"): "820",
        ("st-2", "prod-gloves"): "94",
    }
    assert await balances(b) == {
        ("st-1", "prod-oil"): "0",
        ("st-2", "prod-lotion"): "910",
        ("st-2", "prod-gloves"): "97",
    }

    # Each visit moved the balance the previous one left, whatever their order in the batch.
    def steps(messages: list[dict[str, Any]], product_id: str) -> list[str]:
        return sorted(
            (m["balance"] for m in messages if m["product_id"] == product_id and m["source"].startswith("visit:")),
            key=float,
            reverse=True,
        )

    # the arrivals' three, then the visits'
    moved_a = await kafka.read(topics.INVENTORY_STOCK_CHANGED, of_chain(a), count=3 + 18, settle=0.5)
    assert steps(moved_a, "prod-oil") == ["2", "1", "0", "-1", "-2", "-3"]
    assert steps(moved_a, "prod-lotion") == [str(1000 - 30 * n) for n in range(1, 7)]
    assert steps(moved_a, "prod-gloves") == [str(100 - n) for n in range(1, 7)]
    moved_b = await kafka.read(topics.INVENTORY_STOCK_CHANGED, of_chain(b), count=3 + 9, settle=0.5)
    assert steps(moved_b, "prod-oil") == ["2", "1", "0"]
    assert steps(moved_b, "prod-lotion") == ["970", "940", "910"]
    assert steps(moved_b, "prod-gloves") == ["99", "98", "97"]

    # The oil fell under its minimum once, below zero once (a); under its minimum once (b).
    low_a = await kafka.read(topics.INVENTORY_STOCK_LOW, of_chain(a), count=2, settle=0.5)
    assert sorted((m["product_id"], m["balance"], m["reason"]) for m in low_a) == [
        ("prod-oil", "-1", "negative"),
        ("prod-oil", "1", "below_min_stock"),
    ]
    low_b = await kafka.read(topics.INVENTORY_STOCK_LOW, of_chain(b), count=1, settle=0.5)
    assert [(m["product_id"], m["balance"], m["reason"]) for m in low_b] == [("prod-oil", "1", "below_min_stock")]

    # Two memberships sold by a-5: one membership.sold per unit, the amount shared out.
    sold = await kafka.read(
        topics.MEMBERSHIP_SOLD,
        lambda m: m.get("chain_id") == a.id and m["sale_id"].startswith("inventory:visit:a-5:"),
        count=2,
        settle=0.5,
    )
    assert sorted((m["sale_id"], m["price"], m["client"]["id"]) for m in sold) == [
        ("inventory:visit:a-5:2:0", "8000.00", BEA["id"]),
        ("inventory:visit:a-5:2:1", "7999.99", BEA["id"]),
    ]
