"""A consumer whose offset commits never come back, and its repair.

Seen once in about six runs of the fault suite: the broker killed while a consumer commits its offsets.
aiokafka marks the group coordinator dead, and its coordination routine, looking the coordinator up
again, awaits a metadata update from the client's metadata synchronizer (`AIOKafkaClient.
force_metadata_update`). That update never came: the synchronizer sat waiting for a wake-up while the
update future stayed pending (every later `force_metadata_update` returns that same future and wakes
nothing). The broker came back; the consumer kept fetching (the cached metadata was still right) but
never committed again, so the group's lag grew for as long as the process lived, silently. The
maintainers track the same hang as aio-libs/aiokafka#712 (an open fix, #1108).

`commit_within` is how the consumer commits: a commit that times out looks at the client's synchronizer,
wakes it if it is stalled (or restarts it if it died) and commits again. On a healthy client the repair
finds nothing and does nothing. It reaches into aiokafka's private attributes, so it is written against
the version the lockfile pins (requirements/runtime.lock) and tests/integration/test_consumer_wedge.py
puts a real consumer in the stalled state against a real broker to prove it still works.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

log = structlog.get_logger("consumer")


def revive_metadata(client: Any) -> str | None:
    """Repairs the client's metadata synchronizer if it cannot run the pending update; answers what it
    found: "died" (the task had ended: restarted), "stalled" (an update pending, nothing to wake the
    task: woken), None (healthy: left alone)."""
    sync = client._sync_task
    if sync is None:  # not started yet, or closed
        return None
    pending = client._md_update_fut is not None and not client._md_update_fut.done()
    if sync.done():
        error = None if sync.cancelled() else sync.exception()
        log.warning("kafka_metadata_sync_died", error=repr(error), cancelled=sync.cancelled())
        client._sync_task = asyncio.create_task(client._md_synchronizer())
        if pending and not client._md_update_waiter.done():
            client._md_update_waiter.set_result(None)
        return "died"
    if pending and not client._md_update_waiter.done():
        log.warning("kafka_metadata_sync_stalled")
        client._md_update_waiter.set_result(None)
        return "stalled"
    return None


async def commit_within(commit: Callable[[], Awaitable[None]], consumer: Any, seconds: float) -> bool:
    """Runs `commit` for at most `seconds`; a commit that times out on a consumer whose metadata
    synchronizer needed a repair is tried once more. Answers whether the offsets were committed (False:
    the broker is away; the next batch's commit covers these positions too)."""
    for _ in range(2):
        try:
            async with asyncio.timeout(seconds):
                await commit()
            return True
        except TimeoutError:
            client = getattr(consumer, "_client", None)  # None: not an aiokafka consumer (a unit test's)
            if client is None or getattr(consumer, "_closed", False) or revive_metadata(client) is None:
                return False
    return False
