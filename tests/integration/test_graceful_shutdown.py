"""Graceful shutdown (SHUTDOWN_GRACE_SECONDS): a replica stopped with SIGTERM in the middle of a stream
finishes the batch it holds, commits its offsets and leaves its group, within the grace period; the
replica that stays takes its partitions over within it too, and nothing the stopped one applied comes to
the survivor again (the survivor's inbox counts every redelivered record it recognises: none).

The batch in hand is made certain, not hoped for: the fault gate (faults_helpers.Gate) holds the replica's
consumer transaction at its COMMIT when the signal comes, and opens once the replica says it is draining.
A batch that cannot finish (a row lock held for ever) is cut short at the drain bound, within the grace.
The outbox relay leader, stopped in the middle of a backlog, publishes no row twice.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter

import asyncpg
import psutil
import pytest
from aiokafka import AIOKafkaProducer

from deploy import processes
from deploy.kafka_io import Kafka
from shared import topics
from shared.relay import OutboxRelay
from tests.integration import test_documented_consumer as documented
from tests.integration.conftest import Chain, Stack, eventually, of_chain
from tests.integration.faults_helpers import Gate, install_gates, remove_gates
from tests.integration.helpers import create_type, membership_eventually, paid_visit, sale
from tests.integration.proof import members, metric

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

GROUP = "perkstream.memberships"
GRACE = 10  # the replica's SHUTDOWN_GRACE_SECONDS (25 by default): the test's time stays short
CUT_GRACE = 16  # ... where its batch is cut short: the drain bound is 12 s, 4 s left for the rest
HEARTBEAT_SECONDS = 3  # aiokafka's heartbeat_interval_ms
SALES = 300  # the stream: one sale a client, over every partition, about 40 a second


async def test_sigterm_mid_stream_finishes_the_batch_in_hand_and_nothing_applied_is_redelivered(
    chain: Chain, kafka: Kafka, stack: Stack
) -> None:
    url = stack.settings.database_url
    t = await create_type(chain)
    await install_gates(url)
    replica = stack.start_replica("memberships", SHUTDOWN_GRACE_SECONDS=str(GRACE))
    stream: asyncio.Task[None] | None = None
    try:
        sold = await partitions_of(kafka, topics.MEMBERSHIP_SOLD)
        await sharing(kafka, topics.MEMBERSHIP_SOLD)
        primary = stack.services["memberships"].url
        redelivered = await metric(primary, "perkstream_messages_duplicate_total", topic=topics.MEMBERSHIP_SOLD)
        codes = [f"GS-{i:03d}" for i in range(SALES)]
        stream = asyncio.create_task(publish_stream(kafka, chain, t["id"], codes))
        # Mid-stream: the replica has applied some of it and is at the commit of its next batch.
        await eventually(
            lambda: metric(replica.url, "perkstream_messages_consumed_total", topic=topics.MEMBERSHIP_SOLD),
            lambda n: n >= 10,
            timeout=30,
            what="the replica consuming the stream",
        )
        async with Gate(url, "memberships") as gate:
            xid = await held_by(gate, replica)
            replica.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            takeover = asyncio.create_task(taken_over(kafka, topics.MEMBERSHIP_SOLD, sold, signalled))
            # The replica stops taking records and waits for its batch (or, if it does not drain, stops
            # without it); then the batch's COMMIT goes on.
            until = signalled + GRACE / 2  # (one that neither drains nor exits meanwhile has it opened anyway)
            while not draining_or_gone(replica) and time.monotonic() < until:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            await gate.open()
        code = await asyncio.to_thread(replica.process.wait, GRACE + 30)
        stopped_in = time.monotonic() - signalled
        moved_in = await takeover
        log = replica.log_tail(200_000)
        print(
            f"\nreplica stopped {stopped_in:.2f}s after SIGTERM; the survivor held its partitions after {moved_in:.2f}s"
        )

        await stream
        issued = await kafka.read(topics.MEMBERSHIP_ISSUED, of_chain(chain), count=SALES, timeout=90)
        survivor = await metric(primary, "perkstream_messages_duplicate_total", topic=topics.MEMBERSHIP_SOLD)

        # (1) It finished the batch it held at SIGTERM (its transaction committed, not rolled back) ...
        assert await committed_rows(url, xid) >= 1, f"the batch in hand at SIGTERM was abandoned:\n{log[-3000:]}"
        # ... and committed its offsets before it left the group: no record it applied came to the survivor
        # again (one its inbox recognises counts too: it was redelivered).
        assert survivor - redelivered == 0, f"{survivor - redelivered:.0f} applied records redelivered to the survivor"
        # (2) Every sale is issued exactly once.
        assert Counter(m["code"] for m in issued) == Counter(codes)
        # (3) It exited cleanly, saying it drained, within the grace period ...
        assert code == 0, f"exit code {code}:\n{log[-3000:]}"
        drained = [json.loads(line) for line in log.splitlines() if '"shutdown_drained"' in line]
        assert drained and drained[-1]["batch_finished"] is True, log[-3000:]
        assert stopped_in < GRACE
        # (4) ... and the survivor held its partitions within it too.
        assert moved_in < GRACE
    finally:
        if stream is not None and not stream.done():
            stream.cancel()
        processes.stop([replica])
        await remove_gates(url)


async def test_a_batch_that_cannot_finish_is_cut_short_within_the_grace_and_applied_once_by_the_survivor(
    chain: Chain, kafka: Kafka, stack: Stack
) -> None:
    """The batch in hand waits on a row lock the whole time: the replica gives up on it at its drain bound
    (rolled back: nothing of it applied), leaves its group and exits with 1 within the grace; the survivor
    applies those records, once."""
    t = await create_type(chain)
    paid = sorted(await partitions_of(kafka, topics.VISIT_PAID))
    codes = [f"GC-{p}" for p in paid]  # a membership, a client and a visit.paid partition each
    for code in codes:
        event = sale(chain, t["id"], code, client={"id": f"cl-{code}"})
        await kafka.publish(topics.MEMBERSHIP_SOLD, event, key=event["client"]["id"])
    for code in codes:
        await membership_eventually(chain, code, lambda m: True, timeout=40)
    replica = stack.start_replica("memberships", SHUTDOWN_GRACE_SECONDS=str(CUT_GRACE))
    holders: dict[str, asyncpg.Connection] = {}
    try:
        await sharing(kafka, topics.VISIT_PAID)
        primary = stack.services["memberships"].url
        redelivered = await metric(primary, "perkstream_messages_duplicate_total", topic=topics.VISIT_PAID)
        for code in codes:
            holders[code] = await hold_membership(url=stack.settings.database_url, chain=chain, code=code)
        for partition, code in zip(paid, codes, strict=True):
            visit = paid_visit(chain, code, client={"id": f"cl-{code}"})
            await kafka.producer.send_and_wait(
                topics.VISIT_PAID, json.dumps(visit).encode(), key=f"cl-{code}".encode(), partition=partition
            )
        held = await replica_waits_for(
            stack.settings.database_url, replica, holders
        )  # the other rows are let go: the primary goes on
        replica.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        takeover = asyncio.create_task(taken_over(kafka, topics.VISIT_PAID, set(paid), signalled))
        exit_code = await asyncio.to_thread(replica.process.wait, CUT_GRACE + 30)
        stopped_in = time.monotonic() - signalled
        moved_in = await takeover
        await holders.pop(held).close()  # the row is free: the survivor applies the visit now
        log = replica.log_tail(200_000)
        print(f"\nreplica stopped {stopped_in:.2f}s after SIGTERM, its batch cut short; survivor: {moved_in:.2f}s")

        deducted = await kafka.read(topics.MEMBERSHIP_DEDUCTED, of_chain(chain), count=len(codes), timeout=60)
        assert Counter(m["code"] for m in deducted) == Counter(codes)  # every visit deducted, once
        for code in codes:
            assert (await membership_eventually(chain, code, lambda m: True))["balance"]["svc-massage"] == 9
        assert await metric(primary, "perkstream_messages_duplicate_total", topic=topics.VISIT_PAID) == redelivered, (
            "the batch cut short was applied (it must have been rolled back)"
        )
        assert stopped_in < CUT_GRACE, f"{stopped_in:.1f}s:\n{log[-3000:]}"
        assert exit_code == 1, f"exit code {exit_code}:\n{log[-3000:]}"
        drained = [json.loads(line) for line in log.splitlines() if '"shutdown_drained"' in line]
        assert drained and drained[-1]["batch_finished"] is False, log[-3000:]
        # The survivor learns of the rebalance at its next heartbeat (aiokafka's: every 3 s), then joins.
        assert moved_in < stopped_in + HEARTBEAT_SECONDS + 2
    finally:
        for holder in holders.values():
            await holder.close()
        processes.stop([replica])


scratch = documented.scratch  # a fixture: a schema of the test's own with the messaging tables


async def test_a_relay_stopped_in_the_middle_of_a_backlog_publishes_no_row_twice(
    stack: Stack, kafka: Kafka, db: asyncpg.Pool, scratch: str
) -> None:
    """The leader asked to stop finishes its round (a row Kafka acknowledged is deleted before it ends) and
    publishes what the outbox holds; the next leader publishes whatever is left: every row once."""
    topic = await documented.new_topic(stack, "shutdown-relay")
    rows = 3000
    await db.execute(
        f"INSERT INTO {scratch}.outbox (topic, key, value) "
        "SELECT $1, 'k' || (i % 7), convert_to('{\"n\": ' || i || '}', 'UTF8') FROM generate_series(1, $2) i",
        topic,
        rows,
    )

    def relay() -> OutboxRelay:
        url, servers = stack.settings.database_url, stack.settings.kafka_bootstrap_servers

        def producer() -> AIOKafkaProducer:
            return AIOKafkaProducer(bootstrap_servers=servers, acks="all", enable_idempotence=True)

        return OutboxRelay("shutdown", scratch, url, producer, batch_size=100, poll_seconds=0.2)

    async def left() -> int:
        return int(await db.fetchval(f"SELECT count(*) FROM {scratch}.outbox"))

    first = relay()
    await first.start()
    await eventually(left, lambda n: n < rows - 300, timeout=30, what="the first relay publishing")
    await first.stop()  # in the middle of the backlog
    after_first = await left()
    second = relay()
    await second.start()
    try:
        await eventually(left, lambda n: n == 0, timeout=60, what="the second relay publishing the rest")
    finally:
        await second.stop()
    published = Counter(m["n"] for m in await kafka.read_to_end(topic))
    print(f"\nthe stopped leader left {after_first} of {rows} rows to the next")
    assert [n for n, times in published.items() if times > 1] == []
    assert sorted(published) == list(range(1, rows + 1))


async def sharing(kafka: Kafka, topic: str) -> None:
    """Waits until the group is stable with two members (the primary and the replica), each with partitions
    of `topic`."""
    await eventually(
        lambda: members(kafka, GROUP),
        lambda g: g[0] == "Stable" and len(g[1]) == 2 and all(any(tp.topic == topic for tp in m) for m in g[1]),
        timeout=60,
        what=f"the primary and the replica sharing {topic}",
    )


async def partitions_of(kafka: Kafka, topic: str) -> set[int]:
    await kafka.producer.client.force_metadata_update()
    return set(kafka.producer.client.cluster.partitions_for_topic(topic) or ())


async def publish_stream(kafka: Kafka, chain: Chain, type_id: str, codes: list[str]) -> None:
    """A steady stream of sales, one client each (their keys spread over every partition)."""
    for code in codes:
        event = sale(chain, type_id, code, client={"id": f"cl-{code}"})
        await kafka.publish(topics.MEMBERSHIP_SOLD, event, key=event["client"]["id"])
        await asyncio.sleep(0.02)


async def held_by(gate: Gate, replica: processes.ServiceProcess, timeout: float = 60) -> str:
    """The transaction id of the replica's consumer transaction waiting at
    the gate: the replica holds a batch, applied but not committed."""
    assert gate.conn is not None
    ports = {c.laddr.port for c in psutil.Process(replica.process.pid).net_connections(kind="tcp")}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = await gate.conn.fetch(
            "SELECT a.pid, a.client_port, a.backend_xid::text AS xid FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND NOT l.granted "
            "AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2",
            7031,
            gate.key,
        )
        for row in rows:
            if row["client_port"] in ports and row["xid"]:
                return str(row["xid"])
        # The primary's transaction may be held too: it waits; the replica's next batch comes to the gate.
        ports |= {c.laddr.port for c in psutil.Process(replica.process.pid).net_connections(kind="tcp")}
        await asyncio.sleep(0.05)
    raise AssertionError(f"no transaction of the replica reached its commit within {timeout}s")


def draining_or_gone(replica: processes.ServiceProcess) -> bool:
    return "shutdown_draining" in replica.log_tail(20_000) or replica.process.poll() is not None


async def taken_over(kafka: Kafka, topic: str, partitions: set[int], since: float) -> float:
    """Seconds from `since` until one member holds every partition of `topic`, the group stable."""
    await eventually(
        lambda: members(kafka, GROUP),
        lambda g: (
            g[0] == "Stable" and len(g[1]) == 1 and {tp.partition for tp in g[1][0] if tp.topic == topic} == partitions
        ),
        timeout=GRACE + 60,
        what="the survivor holding every partition",
    )
    return time.monotonic() - since


async def committed_rows(url: str, xid: str) -> int:
    """Inbox rows the transaction `xid` wrote that are there now: its batch was committed (0: rolled back)."""
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM memberships.inbox WHERE xmin::text = $1", xid))
    finally:
        await conn.close()


async def hold_membership(url: str, chain: Chain, code: str) -> asyncpg.Connection:
    """A connection whose open transaction holds membership `code`'s row (closing it lets the row go)."""
    conn = await asyncpg.connect(url)
    await conn.execute("BEGIN")
    locked = await conn.fetchval(
        "SELECT count(*) FROM (SELECT 1 FROM memberships.memberships WHERE chain_id = $1 AND code = $2 FOR UPDATE) l",
        chain.id,
        code,
    )
    assert locked == 1
    return conn


async def replica_waits_for(
    url: str, replica: processes.ServiceProcess, holders: dict[str, asyncpg.Connection], timeout: float = 60
) -> str:
    """Waits until a transaction of the replica waits for one of the held rows; lets the others go and
    answers the code of the row it waits for."""
    pids = {conn.get_server_pid(): code for code, conn in holders.items()}
    probe = await asyncpg.connect(url)  # not a holder's: in a transaction, pg_stat_activity stays as first read
    try:
        return await _replica_waits_for(probe, replica, holders, pids, timeout)
    finally:
        await probe.close()


async def _replica_waits_for(
    probe: asyncpg.Connection,
    replica: processes.ServiceProcess,
    holders: dict[str, asyncpg.Connection],
    pids: dict[int, str],
    timeout: float,
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ports = {c.laddr.port for c in psutil.Process(replica.process.pid).net_connections(kind="tcp")}
        rows = await probe.fetch(
            "SELECT client_port, pg_blocking_pids(pid) AS blockers FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        )
        for row in rows:
            if row["client_port"] in ports and (held := [pids[b] for b in row["blockers"] if b in pids]):
                for code in [c for c in holders if c != held[0]]:
                    await holders.pop(code).close()
                return held[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no transaction of the replica waited for a held row within {timeout}s")
