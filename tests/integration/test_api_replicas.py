"""CONSUMER_ENABLED=false: a process that serves a service's HTTP API but never joins its consumer group
(an HTTP replica, scaled apart from the event workers). It answers reads and writes as any process does;
the events are applied by the consuming processes only."""

from __future__ import annotations

import httpx
import pytest

from deploy import processes
from deploy.kafka_io import Kafka
from tests.integration.conftest import Chain, Stack
from tests.integration.helpers import MASSAGE_TYPE, sell
from tests.integration.proof import members, metric

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

GROUP = "perkstream.memberships"


async def test_an_http_replica_serves_the_api_and_takes_no_partition(chain: Chain, kafka: Kafka, stack: Stack) -> None:
    before = await members(kafka, GROUP)
    api = stack.start_replica("memberships", CONSUMER_ENABLED="false")
    try:
        headers = {"Authorization": f"Bearer {chain.key}"}
        async with httpx.AsyncClient(base_url=f"{api.url}/v1/chains/{chain.id}", headers=headers) as http:
            r = await http.post("/membership-types", json=MASSAGE_TYPE)
            assert r.status_code == 201, r.text
            # The consuming process applies the sale of the type the HTTP replica made...
            await sell(chain, kafka, r.json()["id"], "API-1")
            # ... which the HTTP replica reads from the same database.
            got = await http.get("/memberships/API-1")
            assert got.status_code == 200 and got.json()["code"] == "API-1"
        state, assigned = await members(kafka, GROUP)
        assert len(assigned) == len(before[1]) == 1 and state == "Stable"  # the replica never joined
        assert await metric(api.url, "perkstream_messages_consumed_total") == 0
    finally:
        processes.stop([api])
