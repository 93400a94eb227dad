"""The outbox relay is never stopped by one row, nor by one frozen process.

- A row Kafka or the producer refuses (too large for the producer, too large for its topic's broker
  setting, a topic name Kafka refuses) is set aside with its reason in `outbox_refused`, and the rows
  after it, of any chain, go out in order per key; `python -m shared.admin outbox-refused` lists it
  without its payload, `outbox-requeue` publishes it once the cause is fixed, `outbox-drop` drops it.
- An event larger than its topic accepts is refused where it is made: the request answers 413/422
  naming the field, and nothing is written to the outbox.
- A relay leader frozen with SIGSTOP (its TCP connections alive, as on a hung host) is replaced by the
  other replica within seconds; resumed, it finds it lost its lease and publishes nothing.
- Kafka down: rows wait, in order, and none is set aside.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from deploy import local, processes
from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import ROOT, Chain, Stack, eventually, new_chain, of_chain
from tests.integration.helpers import ANNA, MASSAGE_TYPE, create_type, sale

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

MIB = 1024 * 1024


async def new_topic(stack: Stack, max_message_bytes: int = 64 * 1024) -> str:
    """A topic of this test's own, one partition (so its whole order shows), nobody consuming it."""
    name = f"relay-test.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(
                    name,
                    num_partitions=1,
                    replication_factor=1,
                    topic_configs={"max.message.bytes": str(max_message_bytes)},
                )
            ]
        )
    finally:
        await admin.close()
    return name


async def set_topic_limit(stack: Stack, topic: str, max_message_bytes: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, {"max.message.bytes": str(max_message_bytes)})]
        )
    finally:
        await admin.close()


def row(topic: str, key: str | None, value: dict[str, Any] | bytes) -> tuple[str, str | None, bytes]:
    return topic, key, value if isinstance(value, bytes) else json.dumps(value).encode()


async def insert_outbox(db: asyncpg.Pool, schema: str, rows: list[tuple[str, str | None, bytes]]) -> list[int]:
    """Rows written as a service writes them, in one transaction (the relay finds them all at once)."""
    async with db.acquire() as conn, conn.transaction():
        return [
            await conn.fetchval(
                f"INSERT INTO {schema}.outbox (topic, key, value) VALUES ($1, $2, $3) RETURNING id", t, k, v
            )
            for t, k, v in rows
        ]


async def refused(db: asyncpg.Pool, schema: str, ids: list[int]) -> dict[int, asyncpg.Record]:
    rows = await db.fetch(f"SELECT id, topic, key, reason FROM {schema}.outbox_refused WHERE id = ANY($1)", ids)
    return {r["id"]: r for r in rows}


def admin_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.admin", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **stack.env()},
        timeout=60,
        check=False,
    )


async def metric(url: str, name: str, **labels: str) -> float | None:
    """A sample of a service's /metrics, None when it has none."""
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"{url}/metrics")).text
    for line in text.splitlines():
        m = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if m and all(f'{k}="{v}"' in m.group(1) for k, v in labels.items()):
            return float(m.group(2))
    return None


async def test_a_refused_row_is_set_aside_and_the_rows_after_it_go_out_in_order(
    stack: Stack, kafka: Kafka, db: asyncpg.Pool, chain: Chain
) -> None:
    other = await new_chain(stack, db)
    small = await new_topic(stack)  # takes 64 KiB: the broker refuses more, the producer does not know it
    a, b = "cl-a-" + chain.id, "cl-b-" + other.id

    def good(who: Chain, n: int) -> tuple[str, str | None, bytes]:
        return row(small, a if who is chain else b, {"chain_id": who.id, "n": n})

    secret = "SECRET-PAYLOAD-" + uuid.uuid4().hex
    too_big_for_producer = row(
        topics.MEMBERSHIP_TYPE_CREATED,
        "t-1",
        json.dumps({"chain_id": chain.id, "pad": secret + "x" * (3 * MIB)}).encode(),
    )
    too_big_for_topic = row(small, a, json.dumps({"chain_id": chain.id, "pad": secret + "y" * 100_000}).encode())
    bad_topic = row("no such topic!", b, {"chain_id": other.id, "pad": secret})
    ids = await insert_outbox(
        db,
        "memberships",
        [
            good(chain, 1),
            good(other, 1),
            too_big_for_producer,
            good(chain, 2),
            too_big_for_topic,
            good(other, 2),
            bad_topic,
            good(chain, 3),
            good(other, 3),
        ],
    )
    poison = [ids[2], ids[4], ids[6]]

    # Every good row, after the bad ones too, of both chains, once and in order.
    async def published() -> list[tuple[str, int]]:
        return [(m["chain_id"], m["n"]) for m in await kafka.read_to_end(small) if "n" in m]

    expected = [(chain.id, 1), (other.id, 1), (chain.id, 2), (other.id, 2), (chain.id, 3), (other.id, 3)]
    await eventually(published, lambda got: len(got) >= len(expected), timeout=60, what="the rows after the bad ones")
    assert await published() == expected

    # The bad ones set aside, each with its reason; the outbox holds none of them.
    aside = await eventually(lambda: refused(db, "memberships", poison), lambda r: len(r) == 3, what="set aside")
    assert aside[ids[2]]["reason"].startswith("too_large"), aside[ids[2]]["reason"]
    assert aside[ids[4]]["reason"].startswith("too_large"), aside[ids[4]]["reason"]  # the broker's MessageSizeTooLarge
    assert aside[ids[6]]["reason"].startswith("invalid_topic"), aside[ids[6]]["reason"]
    assert await db.fetchval("SELECT count(*) FROM memberships.outbox WHERE id = ANY($1)", ids) == 0
    await eventually(
        lambda: metric(stack.url("memberships"), "perkstream_outbox_refused_rows", service="memberships"),
        lambda v: (v or 0) >= 3,
        what="the set-aside rows in /metrics",
    )

    # The memberships demo path still works: a sale issues a membership.
    t = await create_type(chain)
    await kafka.publish(topics.MEMBERSHIP_SOLD, sale(chain, t["id"], "RELAY-1"), key=ANNA["id"])
    [issued] = await kafka.read(topics.MEMBERSHIP_ISSUED, of_chain(chain))
    assert issued["code"] == "RELAY-1"

    # The admin lists them: topic, key, size, reason and time, never the payload.
    listing = admin_cli(stack, "outbox-refused", "--service", "memberships")
    assert listing.returncode == 0, listing.stderr
    for i in poison:
        assert re.search(rf"^\s*{i}\s", listing.stdout, re.M), listing.stdout
    assert small in listing.stdout and "no such topic!" in listing.stdout and "too_large" in listing.stdout
    assert secret not in listing.stdout

    # The cause fixed (the topic takes more now), the row re-queued goes out after what came since.
    await set_topic_limit(stack, small, 1 * MIB)
    again = admin_cli(stack, "outbox-requeue", "--service", "memberships", "--id", str(ids[4]))
    assert again.returncode == 0, again.stderr
    after = await eventually(
        lambda: kafka.read_to_end(small), lambda ms: len(ms) == len(expected) + 1, what="the re-queued row"
    )
    assert after[-1]["pad"].startswith(secret)
    dropped = admin_cli(stack, "outbox-drop", "--service", "memberships", "--id", str(ids[2]), "--id", str(ids[6]))
    assert dropped.returncode == 0, dropped.stderr
    assert await refused(db, "memberships", poison) == {}


async def test_an_event_larger_than_its_topic_takes_is_refused_at_the_source(chain: Chain, db: asyncpg.Pool) -> None:
    # The reproduction: 20,000 long location ids made a 2.5 MB membership_type.created that Kafka refused.
    body = {**MASSAGE_TYPE, "location_ids": [f"loc-{i:05d}-" + "x" * 110 for i in range(20_000)]}
    async with chain.client("memberships") as http:
        r = await http.post("/membership-types", json=body, timeout=60)
        listed = await http.get("/membership-types")
    # 413 from the outbox's backstop (event_too_large), or 422 from the body's own bounds: never 201.
    assert r.status_code in (413, 422), r.text[:500]
    assert "location_ids" in r.text
    assert listed.json() == []  # nothing stored
    assert (
        await db.fetchval(
            "SELECT count(*) FROM memberships.outbox_refused WHERE value LIKE $1", f"%{chain.id}%".encode()
        )
        == 0
    )


async def leader(procs: list[processes.ServiceProcess]) -> processes.ServiceProcess | None:
    leading = [p for p in procs if await metric(p.url, "perkstream_outbox_leader", service="memberships") == 1]
    return leading[0] if len(leading) == 1 else None


async def test_a_frozen_relay_leader_is_replaced_within_seconds_and_stays_out(
    stack: Stack, kafka: Kafka, chain: Chain
) -> None:
    replica = stack.start_replica("memberships")
    try:
        procs = [stack.services["memberships"], replica]
        old = await eventually(lambda: leader(procs), lambda p: p is not None, what="one relay leader")
        assert old is not None
        new = procs[1] if old is procs[0] else procs[0]
        published_by_old = await metric(old.url, "perkstream_outbox_published_total", service="memberships") or 0

        old.process.send_signal(signal.SIGSTOP)  # a hung host: its TCP connections stay open
        try:
            frozen_at = time.monotonic()
            async with httpx.AsyncClient(
                base_url=f"{new.url}/v1/chains/{chain.id}", headers={"Authorization": f"Bearer {chain.key}"}, timeout=10
            ) as http:
                r = await http.post("/membership-types", json=MASSAGE_TYPE)
            assert r.status_code == 201, r.text
            [_created] = await kafka.read(
                topics.MEMBERSHIP_TYPE_CREATED, lambda m: m.get("membership_type_id") == r.json()["id"], timeout=30
            )
            took = time.monotonic() - frozen_at
            print(f"published {took:.1f}s after the leader froze")
            assert took < 15, f"published {took:.1f}s after the leader froze"
            assert await metric(new.url, "perkstream_outbox_leader", service="memberships") == 1
        finally:
            old.process.send_signal(signal.SIGCONT)

        # Resumed, the old leader finds its lease taken: it leads no more and publishes nothing, while
        # events keep going out, once each and in order, through the new one.
        await eventually(
            lambda: metric(old.url, "perkstream_outbox_leader", service="memberships"),
            lambda v: v == 0,
            what="the old leader stepping down",
        )
        type_id = r.json()["id"]
        async with httpx.AsyncClient(
            base_url=f"{old.url}/v1/chains/{chain.id}", headers={"Authorization": f"Bearer {chain.key}"}, timeout=10
        ) as http:
            for i in range(5):  # through the old process's API: its rows, the new leader's to publish
                changed = await http.patch(f"/membership-types/{type_id}", json={"name": f"after {i}"})
                assert changed.status_code == 200, changed.text
        # One type, one key, one partition: the changes in the order they were made, each once.
        names = [
            m["name"]
            for m in await kafka.read(topics.MEMBERSHIP_TYPE_CHANGED, of_chain(chain), count=5, timeout=30, settle=1)
        ]
        assert names == [f"after {i}" for i in range(5)]
        assert await metric(old.url, "perkstream_outbox_published_total", service="memberships") == published_by_old
        assert await metric(old.url, "perkstream_outbox_leader", service="memberships") == 0
    finally:
        processes.stop([replica])


async def test_kafka_down_sets_nothing_aside_and_the_rows_wait_in_order(
    stack: Stack, kafka: Kafka, db: asyncpg.Pool, chain: Chain
) -> None:
    assert stack.servers is not None, "this test stops the stack's own broker"
    known = await new_topic(stack, 1 * MIB)
    await insert_outbox(db, "memberships", [row(known, "k", {"chain_id": chain.id, "n": 0})])
    await eventually(lambda: kafka.read_to_end(known), lambda ms: len(ms) == 1, what="the relay knowing the topic")
    unseen = await new_topic(stack, 1 * MIB)  # never published to before the broker goes: no metadata cached
    local.stop_kafka(stack.servers)
    try:
        ids = await insert_outbox(
            db,
            "memberships",
            [row(known if n % 2 else unseen, f"k{n % 3}", {"chain_id": chain.id, "n": n}) for n in range(1, 41)],
        )
        # The rows wait, as the relay itself measures it, for a few leases' time with the broker away.
        lag = "perkstream_outbox_lag_seconds"
        await eventually(
            lambda: metric(stack.url("memberships"), lag, service="memberships"),
            lambda v: (v or 0) >= 12,
            timeout=40,
            what="the rows waiting 12 s",
        )
        assert await db.fetchval("SELECT count(*) FROM memberships.outbox WHERE id = ANY($1)", ids) == len(ids)
    finally:
        local.start_kafka(stack.servers)
    published: list[dict[str, Any]] = []
    for topic in (known, unseen):
        published += await eventually(
            lambda t=topic: kafka.read_to_end(t),
            lambda ms: len(ms) >= 20,
            timeout=120,
            what=f"{topic} after the broker came back",
        )
    first: dict[tuple[int, int], list[int]] = {}  # per topic and key, in the order they came (at least once)
    for m in published:
        ns = first.setdefault((m["n"] % 2, m["n"] % 3), [])
        if m["n"] and m["n"] not in ns:
            ns.append(m["n"])
    assert all(ns == sorted(ns) for ns in first.values()), first
    assert {m["n"] for m in published} == set(range(41))
    assert await refused(db, "memberships", ids) == {}
