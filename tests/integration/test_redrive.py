"""Re-driving dead letters after the cause is fixed: the service that refused a message applies it,
the others (which had applied it) change nothing."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from deploy.kafka_io import Kafka
from shared import topics
from shared.redrive import redrive
from tests.integration.conftest import Chain, Stack, eventually, publish
from tests.integration.helpers import create_type, membership_eventually, sell
from tests.integration.inventory_helpers import balances, balances_eventually, get, operation, product, storage
from tests.integration.loyalty_helpers import client, create, loyalty, loyalty_eventually, visit_paid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def with_massage_and_oil(visit: dict[str, Any]) -> dict[str, Any]:
    """The visit pays a massage with membership RD-M and buys a bottle of oil: memberships and inventory
    have something to change, and would change it twice if they applied the visit twice."""
    visit["lines"] += [
        {
            "kind": "service",
            "item_id": "svc-massage",
            "quantity": 1,
            "sold": "1000",
            "paid": "0",
            "membership": {"code": "RD-M"},
        },
        {"kind": "product", "item_id": "prod-rd", "storage_id": "st-rd", "quantity": 1, "sold": "100", "paid": "100"},
    ]
    return visit


async def test_a_dead_letter_re_driven_after_the_fix_is_applied_once(chain: Chain, kafka: Kafka, stack: Stack) -> None:
    ida = client("ida")
    t = await create_type(chain)
    await sell(chain, kafka, t["id"], "RD-M", client=ida)
    await storage(chain, "st-rd")
    await product(chain, "prod-rd")
    await operation(chain, "arrival", "st-rd", [{"product_id": "prod-rd", "quantity": 10}])
    visit = with_massage_and_oil(visit_paid(chain, ida, "900", card="RD-1"))  # the card does not exist yet
    await publish(kafka, topics.VISIT_PAID, visit)
    [dead] = await kafka.read(
        topics.dlq(topics.VISIT_PAID),
        lambda m: (
            m.get("visit_id") == visit["visit_id"] and m["_headers"].get("x-consumer-group") == "perkstream.loyalty"
        ),
    )
    assert "no loyalty card 'RD-1'" in dead["_headers"]["x-error"]
    assert (await loyalty(chain, ida["id"]))["sold"] == "0.00"
    # The others applied it: one visit off the membership, one bottle off the shelf.
    await membership_eventually(chain, "RD-M", lambda m: m["visits_left"] == 9)
    await balances_eventually(chain, {("st-rd", "prod-rd"): "9"})

    card_type = await create(chain, "/card-types", {"name": "Club", "location_ids": ["loc-1"]})
    await create(chain, "/cards", {"card_type_id": card_type["id"], "client_id": ida["id"], "number": "RD-1"})
    dry = await redrive(stack.settings, topics.VISIT_PAID, "perkstream.loyalty", chain.id, dry_run=True)
    assert dry.redriven == 1
    done = await redrive(stack.settings, topics.VISIT_PAID, "perkstream.loyalty", chain.id)
    assert done.redriven == 1
    stats = await loyalty_eventually(chain, ida["id"], lambda s: s["sold"] == "2000.00")
    assert stats["paid"] == "1000.00"

    again = await redrive(stack.settings, topics.VISIT_PAID, "perkstream.loyalty", chain.id)
    assert again.redriven == 0  # progress is kept: nothing re-driven twice
    # A later visit on the same key: once memberships and inventory show it, they have consumed the
    # re-driven copy before it.
    marker = with_massage_and_oil(visit_paid(chain, ida, "1"))
    await publish(kafka, topics.VISIT_PAID, marker)
    membership = await membership_eventually(
        chain,
        "RD-M",
        lambda m: any(h["kind"] == "deduction" and h["visit_id"] == marker["visit_id"] for h in m["history"]),
    )
    await eventually(
        lambda: get(chain, "/operations", source=f"visit:{marker['visit_id']}"),
        lambda ops: len(ops) == 1,
        what="the marker visit's sale",
    )
    # The replay reached them as a duplicate: the re-driven visit changed nothing there.
    assert membership["visits_left"] == 8
    assert [h["visit_id"] for h in membership["history"] if h["kind"] == "deduction"] == [
        visit["visit_id"],
        marker["visit_id"],
    ]
    assert await balances(chain) == {("st-rd", "prod-rd"): "8"}
    assert len(await get(chain, "/operations", source=f"visit:{visit['visit_id']}")) == 1
    # Loyalty, which applied the re-driven copy, counts it once too: the visit (2,000) and the marker (1,101).
    await loyalty_eventually(chain, ida["id"], lambda s: s["sold"] == "3101.00")
    replays = await kafka.read_to_end(topics.VISIT_PAID, lambda m: m.get("visit_id") == visit["visit_id"])
    assert len(replays) == 2 and replays[0]["event_id"] == replays[1]["event_id"]
    assert "x-error" not in replays[1]["_headers"]


async def test_a_dead_letter_re_driven_past_the_replay_window_is_not_applied_again_elsewhere(
    chain: Chain, kafka: Kafka, stack: Stack, db: asyncpg.Pool
) -> None:
    """Dead letters are kept 90 days, the inbox remembers an event 14: re-driven after that, the services
    that had applied the original no longer find it in their inbox. The re-driven copy is addressed to the
    group that refused it (`x-redrive-for`); the others pass it over."""
    ida = client("ida")
    t = await create_type(chain)
    await sell(chain, kafka, t["id"], "RD-M", client=ida)
    await storage(chain, "st-rd")
    await product(chain, "prod-rd")
    await operation(chain, "arrival", "st-rd", [{"product_id": "prod-rd", "quantity": 10}])
    visit = with_massage_and_oil(visit_paid(chain, ida, "900", card="RD-1"))  # the card does not exist yet
    await publish(kafka, topics.VISIT_PAID, visit)
    await kafka.read(
        topics.dlq(topics.VISIT_PAID),
        lambda m: (
            m.get("visit_id") == visit["visit_id"] and m["_headers"].get("x-consumer-group") == "perkstream.loyalty"
        ),
    )
    await membership_eventually(chain, "RD-M", lambda m: m["visits_left"] == 9)
    await balances_eventually(chain, {("st-rd", "prod-rd"): "9"})
    # The replay window passes: the inbox pruner forgets the chain's events in every service.
    for schema in ("memberships", "inventory", "loyalty", "notifications"):
        await db.execute(f"DELETE FROM {schema}.inbox WHERE chain_id = $1", chain.id)

    card_type = await create(chain, "/card-types", {"name": "Club", "location_ids": ["loc-1"]})
    await create(chain, "/cards", {"card_type_id": card_type["id"], "client_id": ida["id"], "number": "RD-1"})
    done = await redrive(stack.settings, topics.VISIT_PAID, "perkstream.loyalty", chain.id)
    assert done.redriven == 1
    await loyalty_eventually(chain, ida["id"], lambda s: s["sold"] == "2000.00")
    marker = with_massage_and_oil(visit_paid(chain, ida, "1"))  # same key: consumed after the copy
    await publish(kafka, topics.VISIT_PAID, marker)
    membership = await membership_eventually(
        chain,
        "RD-M",
        lambda m: any(h["kind"] == "deduction" and h["visit_id"] == marker["visit_id"] for h in m["history"]),
    )
    await eventually(
        lambda: get(chain, "/operations", source=f"visit:{marker['visit_id']}"),
        lambda ops: len(ops) == 1,
        what="the marker visit's sale",
    )
    assert membership["visits_left"] == 8
    assert await balances(chain) == {("st-rd", "prod-rd"): "8"}  # the bottle of the re-driven visit: once
    assert len(await get(chain, "/operations", source=f"visit:{visit['visit_id']}")) == 1
    [copy] = await kafka.read_to_end(
        topics.VISIT_PAID, lambda m: m.get("visit_id") == visit["visit_id"] and "x-redrive-for" in m["_headers"]
    )
    assert copy["_headers"]["x-redrive-for"] == "perkstream.loyalty"
