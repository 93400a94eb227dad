"""Two inventory processes: a unit's rejection taken by one while the other is recording its sale.

The memberships service reads `visit.paid` itself and may reject a visit's unit before inventory has
recorded the sale; the rejection is then parked and the sale's transaction applies it (usecases/refused.py).
With two inventory processes, the rejection can come to one while the other's sale transaction is past
taking the parked rejections but not committed: parked then, it would stay parked for good (the unit paid
for, never issued, never marked refused). The unit's lock makes the rejection wait for that sale."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiokafka.partitioner import murmur2

from deploy import processes
from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, eventually, of_chain
from tests.integration.faults_helpers import Gate, install_gates, remove_gates
from tests.integration.helpers import ANNA, create_type
from tests.integration.inventory_helpers import balances, get, operation, storage
from tests.integration.proof import members
from tests.integration.test_inventory_membership_sales import membership_line, membership_product, visit

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

GROUP = "perkstream.inventory"
TOPICS = (topics.VISIT_PAID, topics.MEMBERSHIP_ISSUE_REJECTED)


async def test_a_rejection_taken_by_one_replica_while_another_records_the_sale_is_applied(
    chain: Chain, kafka: Kafka, stack: Stack
) -> None:
    url = stack.settings.database_url
    t = await create_type(chain)
    p = await membership_product(chain)
    await storage(chain, "st-1")
    await operation(chain, "arrival", "st-1", [{"product_id": p["id"], "quantity": 5}])
    line = membership_line(t["id"], 1, "R-1", "8000.00")
    v = visit(chain, [line])
    sale_id = f"inventory:visit:{v['visit_id']}:0:0"
    early = chain.event(sale_id=sale_id, code="R-1", client=ANNA, reason="code_taken", membership_type_id=t["id"])

    await install_gates(url)
    replica = stack.start_replica("inventory")
    try:
        owners = await sharing(kafka)
        # The visit on a partition of one process, the rejection on one of the other's.
        visit_owner = owners[(topics.VISIT_PAID, partition(ANNA["id"], owners, topics.VISIT_PAID))]
        key = next(
            k
            for k in (f"k-{n}" for n in range(1000))
            if owners[(topics.MEMBERSHIP_ISSUE_REJECTED, partition(k, owners, topics.MEMBERSHIP_ISSUE_REJECTED))]
            != visit_owner
        )
        async with Gate(url, "inventory") as gate:
            await kafka.publish(topics.VISIT_PAID, v, key=ANNA["id"])
            recording = await sale_held_at_commit(gate)
            await kafka.publish(topics.MEMBERSHIP_ISSUE_REJECTED, early, key=key)
            await rejection_taken(gate, recording)
            await gate.open()
    finally:
        processes.stop([replica])
        await remove_gates(url)

    [sale] = await eventually(
        lambda: get(chain, "/operations", source=f"visit:{v['visit_id']}"),
        lambda ops: len(ops) == 1 and ops[0]["lines"][0]["quantity"] == "0",
        timeout=30,
        what="the unit refused",
    )
    assert sale["lines"][0]["sales"] == [{"sale_id": sale_id, "code": "R-1", "refused": "code_taken"}]
    assert await balances(chain) == {("st-1", p["id"]): "5"}
    [refused] = await kafka.read(topics.INVENTORY_MEMBERSHIP_SALE_REFUSED, of_chain(chain, sale_id=sale_id), settle=3)
    assert refused["reason"] == "code_taken"


async def sharing(kafka: Kafka) -> dict[tuple[str, int], int]:
    """Waits until the primary and the replica each hold partitions of both topics; answers which member
    (its index) holds each (topic, partition)."""
    _, assigned = await eventually(
        lambda: members(kafka, GROUP),
        lambda g: (
            g[0] == "Stable" and len(g[1]) == 2 and all(any(tp.topic == x for tp in m) for m in g[1] for x in TOPICS)
        ),
        timeout=60,
        what="two inventory processes sharing the topics",
    )
    return {(tp.topic, tp.partition): i for i, m in enumerate(assigned) for tp in m}


def partition(key: str, owners: dict[tuple[str, int], Any], topic: str) -> int:
    """Where the producer's default partitioner puts `key` on `topic` (murmur2, as Java's)."""
    count = sum(1 for x, _ in owners if x == topic)
    return (murmur2(key.encode()) & 0x7FFFFFFF) % count


async def sale_held_at_commit(gate: Gate, timeout: float = 60) -> int:
    """The backend of the transaction recording the visit's sale, waiting at the gate (it holds a lock on
    the units table it wrote)."""
    assert gate.conn is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = await gate.conn.fetchval(
            """SELECT w.pid FROM pg_locks w JOIN pg_locks s ON s.pid = w.pid
               WHERE w.locktype = 'advisory' AND NOT w.granted AND w.classid = 7031 AND w.objid = $1
                 AND s.relation = 'inventory.membership_sales'::regclass AND s.mode = 'RowExclusiveLock'""",
            gate.key,
        )
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no sale transaction reached its commit within {timeout}s")


async def rejection_taken(gate: Gate, recording: int, timeout: float = 60) -> None:
    """Waits until the other process has the rejection in hand: waiting for the sale's transaction (the
    unit's lock), or having parked it (waiting at the gate itself)."""
    assert gate.conn is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await gate.conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid <> $1 AND $1 = ANY(pg_blocking_pids(pid)))
               OR EXISTS (SELECT 1 FROM pg_locks WHERE pid <> $1
                          AND relation = 'inventory.parked_refusals'::regclass AND mode = 'RowExclusiveLock')""",
            recording,
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the rejection was not taken within {timeout}s")
