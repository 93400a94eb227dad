"""KAFKA_GROUP_INSTANCE_ID: a replica that restarts under the same name takes its partitions back without a
rebalance, so the other members never pause (Kafka's static membership, KIP-345)."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid

import pytest

from deploy import processes
from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, eventually
from tests.integration.helpers import create_type, membership_eventually, sale
from tests.integration.proof import members, metric

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

GROUP = "perkstream.memberships"
# Long enough for a process to start again on a loaded machine; the group waits this long for the
# static member once the test stops it for good (it does not leave the group on a clean stop either).
SESSION_MS = 15_000


async def test_a_replica_restarted_under_its_instance_id_takes_its_partitions_back_without_a_rebalance(
    chain: Chain, kafka: Kafka, stack: Stack
) -> None:
    t = await create_type(chain)
    env = {
        "KAFKA_GROUP_INSTANCE_ID": f"memberships-{uuid.uuid4().hex[:6]}",
        "KAFKA_SESSION_TIMEOUT_MS": str(SESSION_MS),
    }
    replica = stack.start_replica("memberships", **env)
    try:
        state = await eventually(
            lambda: members(kafka, GROUP),
            lambda g: g[0] == "Stable" and len(g[1]) == 2 and all(g[1]),
            timeout=60,
            what="two members",
        )
        primary = stack.services["memberships"].url
        assigned = await metric(primary, "perkstream_consumer_assignments_total")
        # A crash: no shutdown, no LeaveGroup. The same name starts again.
        replica.process.send_signal(signal.SIGKILL)
        replica.process.wait(20)
        replica = stack.start_replica("memberships", **env)

        # It owns what it owned: sales on every partition of membership.sold are all issued, some by it.
        partitions = sorted(tp.partition for tps in state[1] for tp in tps if tp.topic == topics.MEMBERSHIP_SOLD)
        codes = [f"ST-{i}" for i in range(2 * len(partitions))]
        await asyncio.gather(
            *(
                kafka.producer.send_and_wait(
                    topics.MEMBERSHIP_SOLD,
                    json.dumps(sale(chain, t["id"], code, client={"id": f"cl-{code}"})).encode(),
                    key=f"cl-{code}".encode(),
                    partition=partitions[i % len(partitions)],
                )
                for i, code in enumerate(codes)
            )
        )
        for code in codes:
            await membership_eventually(chain, code, lambda m: True, timeout=40)
        taken = await metric(replica.url, "perkstream_messages_consumed_total", topic=topics.MEMBERSHIP_SOLD)
        assert taken >= 1, "the restarted replica consumed nothing"
        # ... and the primary was never asked to give up or take partitions meanwhile.
        assert await metric(primary, "perkstream_consumer_assignments_total") == assigned
        assert (await members(kafka, GROUP))[0] == "Stable"
    finally:
        processes.stop([replica])
        # The group gives the static member's partitions back to the primary once its session is over.
        await eventually(
            lambda: members(kafka, GROUP),
            lambda g: g[0] == "Stable" and len(g[1]) == 1,
            timeout=SESSION_MS / 1000 + 45,
            what="the primary alone again",
        )
