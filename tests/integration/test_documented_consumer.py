"""What the README promises of consuming and relaying, through the real Kafka and PostgreSQL (issue
"Proof that can fail", point 7), where no test held the promise before:

- "a `ConsumerRebalanceListener` lets the batch in hand finish and commit before its partitions are
  revoked": a member joining the group while a service is in the middle of a batch redelivers nothing;
- a dead letter's `x-original-partition` and `x-original-offset` are where Kafka holds the record, in
  every consuming group's letter;
- "no wait may be endless": a consumer taking a connection gives up after its acquire timeout, a
  connection still busy with one attempt at a batch after its deadline is terminated (the record is
  dead-lettered and the rest of the batch applied), and so is the relay's connection after one round.
  These deadlines are constants of 10 s and 60 s in the services; the last three tests run the very
  classes in this process against the stack's PostgreSQL (and Kafka) with the constants shortened.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pydantic import BaseModel

from deploy.kafka_io import Kafka
from shared import relay, topics
from shared.consumer import apply, batch
from shared.consumer.apply import Applier
from shared.consumer.batch import BatchConsumer
from shared.consumer.subscription import Subscription
from shared.db import MIGRATIONS, UNREACHABLE, PoolBusy, create_pool, migrate
from shared.relay import OutboxRelay
from shared.settings import Settings
from shared.uow import UnitOfWork
from tests.integration.conftest import Chain, Stack, eventually
from tests.integration.helpers import ANNA
from tests.integration.proof import Raw, blocked_by, metric, read_raw

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

GROUP = "perkstream.memberships"


async def new_topic(stack: Stack, prefix: str) -> str:
    name = f"{prefix}.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    return name


# --- a rebalance in the middle of a batch -----------------------------------------------------------


def refused_heartbeats(lines: bytes) -> list[float]:
    """When the service's heartbeats were refused because its group was rebalancing (aiokafka's log)."""
    found = []
    for line in lines.splitlines():
        if b"because it is rebalancing" in line:
            try:
                found.append(datetime.fromisoformat(json.loads(line)["timestamp"]).timestamp())
            except ValueError:
                pass  # a line being written
    return found


def cancelled(chain: Chain) -> dict[str, Any]:
    now = time.time()
    return chain.event(
        visit_id=f"v-{uuid.uuid4().hex[:8]}",
        client=ANNA,
        scheduled_at=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now + 7 * 86400)),
        cancelled_at=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now)),
        services=[{"service_id": "svc-massage"}],
    )


async def test_a_member_joining_while_a_batch_is_in_hand_gets_it_committed_first_and_nothing_is_redelivered(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool, stack: Stack
) -> None:
    """The memberships service takes a cancellation and waits, in the middle of its batch, on the inbox
    the test holds locked. Meanwhile another member joins the group: every partition is revoked and
    assigned again (aiokafka rebalances eagerly). The rebalance waits for the batch: the service is seen
    (its own log) kept out of the new generation for a second while the joining member is still not
    assigned. Once the test lets the batch go, it is committed before the partitions go, so nothing
    comes again: the service consumes the cancellation and the marker after it, two records, not three."""
    url = stack.url("memberships")
    consumed = await metric(url, "perkstream_messages_consumed_total", topic=topics.VISIT_CANCELLED)
    joiner = AIOKafkaConsumer(
        await new_topic(stack, "documented-rebalance"),
        group_id=GROUP,
        bootstrap_servers=stack.settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
    )
    in_hand = cancelled(chain)
    log = stack.services["memberships"].logfile
    joined: asyncio.Task[None] | None = None
    try:
        async with db.acquire() as holder:
            tx = holder.transaction()
            await tx.start()
            try:
                await holder.execute("LOCK TABLE memberships.inbox IN EXCLUSIVE MODE")
                await kafka.publish(topics.VISIT_CANCELLED, in_hand, key=ANNA["id"])
                await eventually(lambda: blocked_by(db, holder), bool, what="the service's batch waiting on the inbox")
                seen = log.stat().st_size
                joined = asyncio.create_task(joiner.start())  # joins the group (a rebalance), ends once assigned

                async def rebalancing() -> bool:
                    # The service learns of the rebalance from a refused heartbeat, and heartbeats again
                    # every 0.1 s until it has joined the group anew: refused for a second, it has not
                    # (it would within milliseconds, the joining member waiting): it waits for its batch.
                    refused = refused_heartbeats(log.read_bytes()[seen:])
                    return joined.done() or (len(refused) > 1 and refused[-1] - refused[0] >= 1)

                await eventually(rebalancing, bool, what="the service held in the rebalance, or the rebalance done")
                assert not joined.done(), "the rebalance was over while the service had its batch in hand"
            finally:
                await tx.rollback()  # the batch goes on, and commits
        await asyncio.wait_for(joined, 60)
        assert joiner.assignment(), "the joining member got no partition"
    finally:
        if joined is not None and not joined.done():
            joined.cancel()
        await joiner.stop()  # it leaves: a rebalance again, with no batch in hand

    marker = cancelled(chain)
    await kafka.publish(topics.VISIT_CANCELLED, marker, key=ANNA["id"])

    async def applied(event: dict[str, Any]) -> bool:
        return bool(
            await db.fetchval(
                "SELECT count(*) FROM memberships.inbox WHERE chain_id = $1 AND key = $2",
                chain.id,
                f"event:{event['event_id']}",
            )
        )

    await eventually(lambda: applied(marker), bool, timeout=60, what="the marker applied")
    assert await applied(in_hand)
    after = await metric(url, "perkstream_messages_consumed_total", topic=topics.VISIT_CANCELLED)
    assert after - consumed == 2, f"{after - consumed:g} records consumed: the batch in hand came again"
    assert b"commit_failed_after_rebalance" not in log.read_bytes()


# --- where a dead letter's record is -----------------------------------------------------------------


async def test_every_groups_dead_letter_names_the_partition_and_offset_kafka_holds_its_record_at(
    chain: Chain, kafka: Kafka
) -> None:
    key = f"cl-{uuid.uuid4().hex[:8]}"
    bad = [b"not json " + key.encode(), json.dumps({**chain.event(), "visit_id": 7}).encode()]
    for value in bad:
        await kafka.publish(topics.VISIT_PAID, value, key=key)
    groups = {"perkstream.memberships", "perkstream.loyalty", "perkstream.inventory", "perkstream.wallet"}

    def mine(r: Raw) -> bool:
        return r.key == key.encode()

    originals = await read_raw(kafka, topics.VISIT_PAID, mine, until=lambda found: len(found) == len(bad))
    letters = await read_raw(
        kafka, topics.dlq(topics.VISIT_PAID), mine, until=lambda found: len(found) == len(bad) * len(groups)
    )
    where = {o.value: (str(o.partition).encode(), str(o.offset).encode()) for o in originals}
    assert set(where) == set(bad)
    for letter in letters:
        assert letter.value in where
        assert (letter.header("x-original-partition"), letter.header("x-original-offset")) == where[letter.value], (
            letter.header("x-consumer-group"),
            letter.header("x-error"),
        )
        assert letter.header("x-original-topic") == topics.VISIT_PAID.encode()
    by = sorted((letter.header("x-consumer-group") or b"").decode() for letter in letters)
    assert by == sorted([*groups, *groups]), by


# --- no wait without end: the classes themselves, deadlines shortened ------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def scratch(stack: Stack, db: asyncpg.Pool) -> AsyncIterator[str]:
    """A schema of this test's own with the messaging tables (inbox, outbox, lease), as a service has."""
    schema = f"documented_{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(migrate, stack.settings.database_url, schema, MIGRATIONS / "messaging")
    yield schema
    await db.execute(f"DROP SCHEMA {schema} CASCADE")


WEDGED_AT_MOST = 15


class Ping(BaseModel):
    event_id: str
    chain_id: str
    wedge: bool = False


async def wedged_or_not(uow: UnitOfWork, e: Ping) -> None:
    """A record whose statement never ends and cannot be cancelled, as on a connection a database restart
    wedged (asyncpg can wait on one for ever, task cancellation notwithstanding): it ends only when its
    connection does (or, so that a consumer without its deadline fails the test instead of hanging it,
    after WEDGED_AT_MOST)."""
    if not e.wedge:
        return
    until = time.monotonic() + WEDGED_AT_MOST
    while not uow.conn.is_closed() and time.monotonic() < until:
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            continue
    raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")


def ping_record(topic: str, offset: int, **fields: Any) -> ConsumerRecord:
    value = json.dumps({"event_id": f"e-{uuid.uuid4()}", "chain_id": "ch-documented", **fields}).encode()
    return ConsumerRecord(topic, 0, offset, 0, 0, b"k", value, None, 1, len(value), ())


async def test_a_consumer_waits_for_a_connection_no_longer_than_its_acquire_timeout(
    stack: Stack, scratch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apply, "ACQUIRE_SECONDS", 0.5)  # 10 s in the services
    pool = await create_pool(stack.settings.database_url, scratch, 1)  # acquire unbounded unless told
    try:
        applier = Applier(lambda: pool, "documented", 10, 3)
        sub = Subscription("documented.ping", Ping, wedged_or_not)
        async with pool.acquire():  # every connection taken
            started = time.monotonic()
            with pytest.raises(PoolBusy) as raised:
                await asyncio.wait_for(applier.whole(sub, []), 10)
            took = time.monotonic() - started
    finally:
        await pool.close()
    assert 0.5 <= took < 3, took
    # Retried with backoff, offsets held, like a database away: not a record's failure.
    assert isinstance(raised.value, UNREACHABLE)


async def test_a_batch_attempt_on_a_wedged_connection_is_ended_and_only_its_record_dead_lettered(
    stack: Stack, db: asyncpg.Pool, scratch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in (apply, batch):
        monkeypatch.setattr(module, "ATTEMPT_SECONDS", 1.0)  # 60 s in the services
    monkeypatch.setattr(apply, "CANCEL_GRACE_SECONDS", 0.2)  # 5 s
    settings = Settings(
        database_url=stack.settings.database_url, consumer_record_seconds=0.3, consumer_record_attempts=2
    )
    pool = await create_pool(stack.settings.database_url, scratch, 2)
    try:
        consumer = BatchConsumer("documented", None, lambda: pool, 10, 10, settings)  # type: ignore[arg-type]
        sub = Subscription("documented.ping", Ping, wedged_or_not)
        wedged, fine = ping_record(sub.topic, 40, wedge=True), ping_record(sub.topic, 41)
        started = time.monotonic()
        await asyncio.wait_for(consumer.process(sub, [wedged, fine]), 60)
        took = time.monotonic() - started
    finally:
        await pool.close()
    print(f"\nthe wedged batch ended in {took:.1f}s")
    assert took < 10, f"the wedged batch took {took:.1f}s: its attempt was not ended at its deadline"
    applied = await db.fetch(f"SELECT key FROM {scratch}.inbox")
    assert [r["key"] for r in applied] == [f"event:{json.loads(fine.value)['event_id']}"]
    [letter] = await db.fetch(f"SELECT topic, value, header_names, header_values FROM {scratch}.outbox")
    headers = dict(zip(letter["header_names"], letter["header_values"], strict=True))
    assert (letter["topic"], letter["value"]) == ("documented.ping.dlq", wedged.value)
    assert headers["x-error-reason"] == b"timeout" and headers["x-original-offset"] == b"40", headers


async def test_a_relay_round_stuck_on_its_connection_is_ended_and_the_rows_go_out_after(
    stack: Stack, kafka: Kafka, db: asyncpg.Pool, scratch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay, "ROUND_SECONDS", 1.0)  # 60 s in the services
    topic = await new_topic(stack, "documented-relay")
    await db.execute(
        f"INSERT INTO {scratch}.outbox (topic, key, value) VALUES ($1, 'k', $2)", topic, b'{"waited": true}'
    )
    outbox_relay = OutboxRelay(
        "documented",
        scratch,
        stack.settings.database_url,
        lambda: AIOKafkaProducer(
            bootstrap_servers=stack.settings.kafka_bootstrap_servers, acks="all", enable_idempotence=True
        ),
        poll_seconds=0.2,
    )
    try:
        async with db.acquire() as holder:
            tx = holder.transaction()
            await tx.start()
            try:
                # The round's read waits (for its statement timeout, 30 s), as on a wedged connection.
                await holder.execute(f"LOCK TABLE {scratch}.outbox IN ACCESS EXCLUSIVE MODE")
                await outbox_relay.start()
                [stuck] = await eventually(
                    lambda: blocked_by(db, holder), lambda pids: len(pids) == 1, what="the relay's round waiting"
                )
                # Past the round's deadline its connection is terminated (the server's end of it waits on
                # for the lock, unseen), and the relay starts over on a new one, which waits in turn.
                started = time.monotonic()
                waiting = await eventually(
                    lambda: blocked_by(db, holder),
                    lambda pids: len(pids) >= 2,
                    timeout=10,
                    what="the relay on a new connection",
                )
                print(f"\nthe stuck round was ended and started over {time.monotonic() - started:.1f}s later")
                assert stuck in waiting
            finally:
                await tx.rollback()
        [out] = await kafka.read(topic, timeout=30)
        assert out["waited"] is True
        await eventually(
            lambda: db.fetchval(f"SELECT count(*) FROM {scratch}.outbox"),
            lambda c: c == 0,
            what="the published row deleted",
        )
    finally:
        await outbox_relay.stop()
