"""Trust in the consume core: no single record stops a service, none is lost, none is applied twice.

- A record aiokafka cannot decode (a header name or a key that is not UTF-8) is dead-lettered alone as
  `undecodable`; the records around it, on its partition and on the others of the same fetch, are applied.
- A record that keeps its batch over the per-record deadline (here: it waits on a row lock the test
  holds) is isolated and, after a bounded number of attempts, dead-lettered as `timeout`; the rest flow.
- A reused `event_id` with a different payload is dead-lettered as `event_id_reused`; the same message
  again is a silent duplicate, as is a visit resent under a new event id.
- `occurred_at` too far ahead of the clock is dead-lettered as `clock_skew`.
- The inbox forgets keys older than its replay window, a bounded number per round.

Each test runs a second chain's traffic alongside and checks that it is applied.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from deploy import processes
from deploy.kafka_io import Kafka
from shared import topics
from shared.topics import MAX_MESSAGE_BYTES
from tests import raw_records
from tests.integration.conftest import Chain, Stack, eventually, new_chain
from tests.integration.helpers import (
    ANNA,
    create_type,
    get_membership,
    membership_eventually,
    membership_row_held,
    paid_visit,
    sale,
    sell,
)
from tests.integration.proof import metric, until_marker

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

OTTO = {"id": "cl-otto", "phone": "+36209998877", "name": "Otto"}
NO_SHOW_GROUPS = {"perkstream.memberships", "perkstream.loyalty"}
DLQ_TOTAL = "perkstream_messages_dlq_total"


# --- publishing what aiokafka's producer will not write ---------------------------------------------------


async def publish_raw(
    kafka: Kafka,
    topic: str,
    value: bytes,
    *,
    key: bytes | None,
    partition_key: bytes,
    headers: list[tuple[bytes, bytes | None]],
) -> None:
    """One record with these exact bytes, on the partition `partition_key` maps to (the default
    partitioner's, so it lands among the records published with that key)."""
    partition = await raw_records.partition_of(kafka.producer, topic, partition_key)
    await raw_records.send_raw(
        kafka.producer, topic, partition, key, value, raw_records.raw_headers(headers), MAX_MESSAGE_BYTES
    )


def body(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


# --- builders -------------------------------------------------------------------------------------------


async def no_shows_deduct(chain: Chain, kafka: Kafka, code: str, client: dict[str, Any] = ANNA) -> None:
    """A membership `code` for `client`, at a location whose policy deducts a visit for a no-show."""
    t = await create_type(chain)
    await sell(chain, kafka, t["id"], code, client=client)
    async with chain.client("memberships") as http:
        r = await http.put("/locations/loc-1/deduction-policy", json={"no_show": True})
    assert r.status_code == 200, r.text


def no_show(chain: Chain, code: str, client: dict[str, Any] = ANNA) -> dict[str, Any]:
    return chain.event(
        visit_id=f"v-{uuid.uuid4().hex[:10]}",
        client=client,
        scheduled_at=datetime.now(UTC).isoformat(),
        services=[{"service_id": "svc-massage", "membership": {"code": code}}],
    )


def of(chain: Chain, **fields: Any) -> Any:
    return lambda m: m.get("chain_id") == chain.id and all(m.get(k) == v for k, v in fields.items())


def reason_of(letter: dict[str, Any]) -> str:
    return letter["_headers"]["x-error"].partition(":")[0]


async def dlq_count(chain: Chain, service: str, topic: str, reason: str) -> float:
    return await metric(chain.stack.url(service), DLQ_TOTAL, service=service, topic=topic, reason=reason)


# --- the tests ------------------------------------------------------------------------------------------


async def test_records_that_cannot_be_decoded_are_dead_lettered_alone_and_their_neighbours_applied(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool
) -> None:
    other = await new_chain(chain.stack, db)
    await no_shows_deduct(chain, kafka, "UD-1")
    await no_shows_deduct(other, kafka, "UD-O", client=OTTO)
    before = {s: await dlq_count(chain, s, topics.VISIT_NO_SHOW, "undecodable") for s in ("memberships", "loyalty")}

    good = [no_show(chain, "UD-1") for _ in range(3)]
    bad_name, bad_key, odd_values = no_show(chain, "UD-1"), no_show(chain, "UD-1"), no_show(chain, "UD-1")
    theirs = [no_show(other, "UD-O", OTTO) for _ in range(2)]
    anna = ANNA["id"].encode()
    trace = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    await kafka.publish(topics.VISIT_NO_SHOW, theirs[0], key=OTTO["id"])
    await kafka.publish(topics.VISIT_NO_SHOW, good[0], key=ANNA["id"])
    # A header name that is not UTF-8 (aiokafka's fetch raised on it: the partition stuck, the records
    # already drained from the other partitions of that fetch skipped).
    await publish_raw(
        kafka,
        topics.VISIT_NO_SHOW,
        body(bad_name),
        key=anna,
        partition_key=anna,
        headers=[(b"traceparent", trace), (b"\xff\xfevendor", b"x")],
    )
    await kafka.publish(topics.VISIT_NO_SHOW, good[1], key=ANNA["id"])
    # A key that is not UTF-8 (the contract's keys are client ids: text).
    await publish_raw(
        kafka, topics.VISIT_NO_SHOW, body(bad_key), key=b"\xc3\x28" + anna, partition_key=anna, headers=[]
    )
    await kafka.publish(topics.VISIT_NO_SHOW, theirs[1], key=OTTO["id"])
    # Header values are opaque bytes (only names are text): not UTF-8, or null, the record is applied.
    await publish_raw(
        kafka,
        topics.VISIT_NO_SHOW,
        body(odd_values),
        key=anna,
        partition_key=anna,
        headers=[(b"x-vendor-blob", b"\xff\xfe\x00"), (b"x-nothing", None)],
    )
    await kafka.publish(topics.VISIT_NO_SHOW, good[2], key=ANNA["id"])

    # Every good one applied, the odd header values' too; the two undecodable ones not.
    await membership_eventually(chain, "UD-1", lambda m: m["visits_left"] == 6, timeout=60)
    await membership_eventually(other, "UD-O", lambda m: m["visits_left"] == 8)

    dead = await kafka.read(topics.dlq(topics.VISIT_NO_SHOW), of(chain), count=4, timeout=60, settle=1)
    by = {(d["visit_id"], d["_headers"]["x-consumer-group"]): d for d in dead}
    assert set(by) == {(v["visit_id"], g) for v in (bad_name, bad_key) for g in NO_SHOW_GROUPS}, sorted(by)
    for group in NO_SHOW_GROUPS:
        named, keyed = by[bad_name["visit_id"], group], by[bad_key["visit_id"], group]
        assert named["_headers"]["x-error"].startswith("undecodable: header name b'\\xff\\xfevendor' is not UTF-8")
        assert keyed["_headers"]["x-error"].startswith("undecodable: key b'\\xc3(cl-5' is not UTF-8")
        assert {reason_of(named), reason_of(keyed)} == {"undecodable"}
        # The original bytes, and the headers as far as text names carry them: the odd name escaped.
        assert {k: v for k, v in named.items() if k != "_headers"} == bad_name
        assert named["_headers"]["traceparent"] == trace.decode()
        assert named["_headers"]["\\xff\\xfevendor"] == "x"
        assert {k: v for k, v in keyed.items() if k != "_headers"} == bad_key
    for service in ("memberships", "loyalty"):
        assert await dlq_count(chain, service, topics.VISIT_NO_SHOW, "undecodable") - before[service] >= 2


async def test_a_record_over_its_deadline_is_dead_lettered_as_timeout_and_the_others_flow(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool, stack: Stack
) -> None:
    other = await new_chain(stack, db)
    t = await create_type(chain)
    for code in ("LOCK-1", "FREE-1"):
        await sell(chain, kafka, t["id"], code)
    await sell(other, kafka, (await create_type(other))["id"], "O-1", client=OTTO)
    before = await dlq_count(chain, "memberships", topics.VISIT_PAID, "timeout")

    locked = paid_visit(chain, "LOCK-1")
    # The test holds LOCK-1's row: a visit paid with it waits for the lock (for ever, without a bound).
    async with membership_row_held(stack, chain, "LOCK-1"):
        await kafka.publish(topics.VISIT_PAID, paid_visit(chain, "FREE-1"), key=ANNA["id"])
        await kafka.publish(topics.VISIT_PAID, locked, key=ANNA["id"])
        await kafka.publish(topics.VISIT_PAID, paid_visit(chain, "FREE-1"), key=ANNA["id"])
        await kafka.publish(topics.VISIT_PAID, paid_visit(other, "O-1", client=OTTO), key=OTTO["id"])

        # While the lock is still held: its neighbours are applied, the other chain's visit too...
        await membership_eventually(chain, "FREE-1", lambda m: m["visits_left"] == 8, timeout=120)
        await membership_eventually(other, "O-1", lambda m: m["visits_left"] == 9, timeout=30)
        # ... and the visit that waited is dead-lettered as timeout, after a bounded number of attempts.
        [dead] = await kafka.read(
            topics.dlq(topics.VISIT_PAID),
            lambda m: (
                m.get("visit_id") == locked["visit_id"]
                and m["_headers"]["x-consumer-group"] == "perkstream.memberships"
            ),
            timeout=60,
        )
        assert dead["_headers"]["x-error"].startswith("timeout: "), dead["_headers"]["x-error"]
        assert "3 attempts" in dead["_headers"]["x-error"]

    # Not applied later, not retried: a marker visit after it is applied, LOCK-1 is untouched, one letter.
    await kafka.publish(topics.VISIT_PAID, paid_visit(chain, "FREE-1"), key=ANNA["id"])
    await membership_eventually(chain, "FREE-1", lambda m: m["visits_left"] == 7)
    assert (await get_membership(chain, "LOCK-1")).json()["visits_left"] == 10
    letters = await kafka.read_to_end(topics.dlq(topics.VISIT_PAID), lambda m: m.get("visit_id") == locked["visit_id"])
    assert [m["_headers"]["x-consumer-group"] for m in letters] == ["perkstream.memberships"]
    assert await dlq_count(chain, "memberships", topics.VISIT_PAID, "timeout") - before == 1


async def test_a_reused_event_id_is_dead_lettered_and_a_redelivery_is_a_silent_duplicate(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool
) -> None:
    other = await new_chain(chain.stack, db)
    t = await create_type(chain)
    first = sale(chain, t["id"], "RE-1")
    await kafka.publish(topics.MEMBERSHIP_SOLD, first, key=ANNA["id"])
    await membership_eventually(chain, "RE-1", lambda m: True)

    await kafka.publish(topics.MEMBERSHIP_SOLD, first, key=ANNA["id"])  # the same message again: a duplicate
    reused = sale(chain, t["id"], "RE-2", event_id=first["event_id"])  # another sale under a used event id
    await kafka.publish(topics.MEMBERSHIP_SOLD, reused, key=ANNA["id"])
    # Another chain's event ids are its own: the same id there is a new event.
    theirs = sale(other, (await create_type(other))["id"], "RE-1", client=OTTO, event_id=first["event_id"])
    await kafka.publish(topics.MEMBERSHIP_SOLD, theirs, key=OTTO["id"])
    # A booking system resending a visit under a new event id: the visit is paid once, no error.
    visit = paid_visit(chain, "RE-1")
    await kafka.publish(topics.VISIT_PAID, visit, key=ANNA["id"])
    await kafka.publish(topics.VISIT_PAID, {**visit, "event_id": f"e-{uuid.uuid4()}"}, key=ANNA["id"])
    await kafka.publish(topics.VISIT_PAID, visit, key=ANNA["id"])

    # The sale meant, under an event id of its own: applied (the refused one claimed nothing).
    await kafka.publish(
        topics.MEMBERSHIP_SOLD, {**reused, "event_id": f"e-{uuid.uuid4()}", "code": "RE-3"}, key=ANNA["id"]
    )
    # Markers: a sale and a visit refused for a bad field, after the others on their partitions.
    await kafka.publish(topics.MEMBERSHIP_SOLD, sale(chain, t["id"], "RE-MARK", price="-1"), key=ANNA["id"])
    marker_visit = paid_visit(chain, "RE-1", quantity=0)
    await kafka.publish(topics.VISIT_PAID, marker_visit, key=ANNA["id"])

    sold_letters = await until_marker(
        kafka,
        topics.dlq(topics.MEMBERSHIP_SOLD),
        of(chain),
        lambda m: m.get("code") == "RE-MARK" and m.get("chain_id") == chain.id,
    )
    assert [d["code"] for d in sold_letters] == ["RE-2"]
    assert sold_letters[0]["_headers"]["x-error"] == (
        f"event_id_reused: event_id {first['event_id']} was already used by a message with a different payload"
    )
    assert sold_letters[0]["_headers"]["x-error-reason"] == "event_id_reused"
    visit_letters = await until_marker(
        kafka,
        topics.dlq(topics.VISIT_PAID),
        lambda m: m.get("chain_id") == chain.id and m["_headers"].get("x-consumer-group") == "perkstream.memberships",
        lambda m: (
            m.get("visit_id") == marker_visit["visit_id"]
            and m["_headers"].get("x-consumer-group") == "perkstream.memberships"
        ),
    )
    assert visit_letters == []
    assert (await get_membership(chain, "RE-2")).status_code == 404
    [sold] = (await get_membership(chain, "RE-3")).json()["history"]
    assert sold["detail"]["sale_id"] == reused["sale_id"]
    assert (await get_membership(chain, "RE-1")).json()["visits_left"] == 9  # the visit, once
    await membership_eventually(other, "RE-1", lambda m: True)


async def test_a_dead_letter_the_database_refuses_is_written_bare_not_retried_for_ever(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool
) -> None:
    """A trigger stands for a database that refuses a dead letter as it is (here: any of this chain's
    with a key). After a bounded number of tries the letter is written bare (its value, the x- headers,
    the key's bytes in x-original-key), and the records around it are applied."""
    other = await new_chain(chain.stack, db)
    t = await create_type(chain)
    trigger = f"refuse_{chain.id.replace('-', '_')}"
    await db.execute(f"""
        CREATE FUNCTION memberships.{trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.topic = 'membership.sold.dlq' AND NEW.key IS NOT NULL
             AND position(convert_to('{chain.id}', 'UTF8') in NEW.value) > 0 THEN
            RAISE EXCEPTION 'no dead letter with a key here';
          END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER {trigger} BEFORE INSERT ON memberships.outbox
          FOR EACH ROW EXECUTE FUNCTION memberships.{trigger}();""")
    try:
        refused = sale(chain, t["id"], "DL-BAD", price="-1")
        await kafka.publish(topics.MEMBERSHIP_SOLD, sale(chain, t["id"], "DL-1"), key=ANNA["id"])
        await kafka.publish(
            topics.MEMBERSHIP_SOLD,
            refused,
            key=ANNA["id"],
            headers=[("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")],
        )
        await kafka.publish(topics.MEMBERSHIP_SOLD, sale(chain, t["id"], "DL-2"), key=ANNA["id"])
        await sell(other, kafka, (await create_type(other))["id"], "DL-O", client=OTTO)
        await membership_eventually(chain, "DL-2", lambda m: True, timeout=60)
        [letter] = await kafka.read(topics.dlq(topics.MEMBERSHIP_SOLD), of(chain, code="DL-BAD"), timeout=30)
    finally:
        await db.execute(f"DROP TRIGGER {trigger} ON memberships.outbox; DROP FUNCTION memberships.{trigger}()")
    headers = letter["_headers"]
    assert headers["x-error"].startswith("invalid membership.sold: price: ") and headers["x-error-reason"] == "invalid"
    assert headers["x-original-key"] == ANNA["id"] and "traceparent" not in headers
    assert {k: v for k, v in letter.items() if k != "_headers"} == refused
    await membership_eventually(chain, "DL-1", lambda m: True)


async def test_an_event_from_the_future_is_dead_lettered_as_clock_skew(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool
) -> None:
    other = await new_chain(chain.stack, db)
    t = await create_type(chain)
    before = await dlq_count(chain, "memberships", topics.MEMBERSHIP_SOLD, "clock_skew")
    now = datetime.now(UTC)
    ahead = sale(chain, t["id"], "CS-1", occurred_at=(now + timedelta(hours=1)).isoformat())
    near = sale(chain, t["id"], "CS-2", occurred_at=(now + timedelta(seconds=60)).isoformat())  # within bounds
    for event in (ahead, near):
        await kafka.publish(topics.MEMBERSHIP_SOLD, event, key=ANNA["id"])
    await sell(other, kafka, (await create_type(other))["id"], "CS-O", client=OTTO)
    await kafka.publish(topics.MEMBERSHIP_SOLD, sale(chain, t["id"], "CS-MARK", price="-1"), key=ANNA["id"])

    letters = await until_marker(
        kafka,
        topics.dlq(topics.MEMBERSHIP_SOLD),
        of(chain),
        lambda m: m.get("code") == "CS-MARK" and m.get("chain_id") == chain.id,
    )
    assert [d["code"] for d in letters] == ["CS-1"]
    error = letters[0]["_headers"]["x-error"]
    assert error.startswith("clock_skew: occurred_at "), error
    assert " s ahead" in error
    assert (await get_membership(chain, "CS-1")).status_code == 404
    await membership_eventually(chain, "CS-2", lambda m: True)
    assert await dlq_count(chain, "memberships", topics.MEMBERSHIP_SOLD, "clock_skew") - before == 1


async def test_the_inbox_forgets_keys_older_than_its_replay_window_a_bounded_number_per_round(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool, stack: Stack
) -> None:
    old = [f"event:old-{i}" for i in range(5)]
    async with db.acquire() as conn:
        await conn.executemany(
            "INSERT INTO memberships.inbox (chain_id, key, topic, received_at) VALUES ($1, $2, $3, $4)",
            [(chain.id, k, topics.MEMBERSHIP_SOLD, datetime.now(UTC) - timedelta(days=15)) for k in old]
            + [(chain.id, "event:recent", topics.MEMBERSHIP_SOLD, datetime.now(UTC) - timedelta(days=13))],
        )

    async def left() -> list[str]:
        rows = await db.fetch("SELECT key FROM memberships.inbox WHERE chain_id = $1", chain.id)
        return sorted(r["key"] for r in rows)

    # A replica prunes once as it starts, then every hour: 2 rows a statement, 4 a round.
    replica = stack.start_replica(
        "memberships", INBOX_PRUNE_BATCH_ROWS="2", INBOX_PRUNE_ROUND_ROWS="4", INBOX_PRUNE_INTERVAL_SECONDS="3600"
    )
    try:
        remaining = await eventually(left, lambda keys: len(keys) == 2, timeout=60, what="one pruning round")
        assert "event:recent" in remaining  # within the 14 days: kept
        # Our traffic (and another chain's) flows meanwhile, and is remembered.
        other = await new_chain(stack, db)
        await sell(other, kafka, (await create_type(other))["id"], "PR-O", client=OTTO)
        await sell(chain, kafka, (await create_type(chain))["id"], "PR-1")
        assert len(await left()) >= 4  # the two kept, the type's and the sale's (one row each, at least)
        assert "event:recent" in await left()
    finally:
        processes.stop([replica])
