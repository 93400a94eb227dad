"""Hostile input: over a thousand generated bad messages (tests/integration/hostile.py), interleaved with
good ones, on every inbound topic. No consumer dies; every bad message is in `<topic>.dlq` once per
consumer group that reads the topic, with its original bytes and a reason naming what is wrong; every
good one is applied. And a visit naming another chain's membership, card or product changes nothing
there: our chain gets the refusal."""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import MessageSizeTooLargeError
from tenacity import AsyncRetrying, stop_after_delay, wait_fixed

from deploy.kafka_io import Kafka
from services.notifications.handlers import DeliveryReceipt
from shared import admin, events, topics
from shared.topics import MAX_MESSAGE_BYTES
from tests.integration import hostile
from tests.integration.conftest import Chain, Stack, new_chain, now_iso, of_chain
from tests.integration.helpers import create_type, get_membership, membership_eventually, sale, sell
from tests.integration.hostile import Generator, Hostile, Shape
from tests.integration.inventory_helpers import balances, balances_eventually, operation, product, storage
from tests.integration.loyalty_helpers import card, create, loyalty_eventually
from tests.integration.notifications_helpers import notices_eventually
from tests.integration.proof import Raw, read_raw

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SEED = 20261123
BAD_PER_TOPIC = 175  # x 6 topics: 1,050 bad messages
SALES, PAID, STATUSES, RECEIPTS = 40, 60, 20, 20
HILDA = {"id": "cl-h", "phone": "+36201112233", "name": "Hilda"}
STOCK = 1000

# Who consumes what (services/*/handlers.py): each refuses a bad message on its own.
GROUPS = {
    topics.VISIT_PAID: {"perkstream.memberships", "perkstream.loyalty", "perkstream.inventory"},
    topics.VISIT_ARRIVED: {"perkstream.memberships", "perkstream.loyalty", "perkstream.inventory"},
    topics.VISIT_NO_SHOW: {"perkstream.memberships", "perkstream.loyalty"},
    topics.VISIT_CANCELLED: {"perkstream.memberships"},
    topics.MEMBERSHIP_SOLD: {"perkstream.memberships"},
    topics.NOTIFICATION_DELIVERY: {"perkstream.notifications"},
}
SERVICE_OF_GROUP = {g: g.removeprefix("perkstream.") for gs in GROUPS.values() for g in gs}


# --- good messages ------------------------------------------------------------------------------------


def paid(chain: Chain, code: str, **fields: Any) -> dict[str, Any]:
    """One massage paid with membership `code`, and a bottle of oil from the shelf."""
    return chain.event(**{
        "visit_id": f"v-{uuid.uuid4().hex[:10]}", "client": HILDA, "loyalty_card_id": None, "bonus_spent": "0",
        "lines": [{"kind": "service", "item_id": "svc-massage", "category_id": "cat-body", "quantity": 1,
                   "sold": "1000", "paid": "0", "membership": {"code": code}},
                  {"kind": "product", "item_id": "prod-oil", "storage_id": "st-h", "quantity": 1, "sold": "300",
                   "paid": "300"}],
        **fields,
    })


def status(chain: Chain, **fields: Any) -> dict[str, Any]:
    return chain.event(**{"visit_id": f"v-{uuid.uuid4().hex[:10]}", "client": HILDA, "scheduled_at": now_iso(),
                          "services": [{"service_id": "svc-massage", "membership": {"code": "G-0"}}], **fields})


def receipt(chain: Chain, notification_id: str, status: str = "delivered") -> dict[str, Any]:
    return {"notification_id": notification_id, "status": status, "provider_message_id": "pm-1",
            "at": now_iso(), "chain_id": chain.id, "error": None}


def shapes(chain: Chain, type_id: str) -> dict[str, Shape]:
    return {
        topics.VISIT_PAID: Shape(topics.VISIT_PAID, events.VisitPaid, lambda: paid(chain, "G-0"), hostile.VISIT_PAID),
        topics.VISIT_ARRIVED: Shape(topics.VISIT_ARRIVED, events.VisitStatus, lambda: status(chain),
                                    hostile.VISIT_STATUS),
        topics.VISIT_NO_SHOW: Shape(topics.VISIT_NO_SHOW, events.VisitStatus, lambda: status(chain),
                                    hostile.VISIT_STATUS),
        topics.VISIT_CANCELLED: Shape(topics.VISIT_CANCELLED, events.VisitCancelled,
                                      lambda: status(chain, cancelled_at=now_iso()), hostile.VISIT_CANCELLED),
        topics.MEMBERSHIP_SOLD: Shape(topics.MEMBERSHIP_SOLD, events.MembershipSold,
                                      lambda: sale(chain, type_id, "G-0", client=HILDA), hostile.MEMBERSHIP_SOLD),
        topics.NOTIFICATION_DELIVERY: Shape(topics.NOTIFICATION_DELIVERY, DeliveryReceipt,
                                            lambda: receipt(chain, str(uuid.uuid4())), hostile.DELIVERY),
    }


# --- publishing and reading back ----------------------------------------------------------------------


Step = tuple[str, dict[str, Any] | Hostile]


async def play(kafka: Kafka, steps: list[Step]) -> None:
    for topic, step in steps:
        if isinstance(step, Hostile):
            await kafka.publish(topic, step.value, key=HILDA["id"], headers=step.headers)
        else:
            await kafka.publish(topic, step, key=HILDA["id"])


def interleaved(rng: random.Random, goods: list[Step], bads: list[Hostile]) -> list[Step]:
    steps: list[Step] = [*goods, *((b.topic, b) for b in bads)]
    rng.shuffle(steps)
    return steps


END = b"the end of the hostile run"  # not JSON: every group dead-letters it, after the cases before it
X_HEADERS = {"x-error", "x-consumer-group", "x-original-topic", "x-original-partition", "x-original-offset"}


def case_of(chain: Chain, n: int | str) -> bytes:
    return f"{chain.id}:{n}".encode()


async def dead_letters(kafka: Kafka, chain: Chain, topic: str) -> list[Raw]:
    """Our chain's dead letters on `topic`'s DLQ, as Kafka holds them: the marked ones, and any good
    message of ours (none), up to the end marker's of every group that reads `topic`. Every message of
    ours went on Hilda's key: one partition, consumed in order, dead letters relayed in order."""
    def ours(r: Raw) -> bool:
        return (r.header(hostile.MARKER) or b"").startswith(case_of(chain, "")) or \
            f'"chain_id": "{chain.id}"'.encode() in (r.value or b"")

    def every_end(found: list[Raw]) -> bool:
        ends = {r.header("x-consumer-group") for r in found if r.header(hostile.MARKER) == case_of(chain, "end")}
        return ends >= {g.encode() for g in GROUPS[topic]}

    return await read_raw(kafka, topics.dlq(topic), ours, until=every_end, timeout=120)


async def inbox_events(db: asyncpg.Pool, service: str, chain: Chain, topic: str) -> set[str]:
    async with db.acquire() as conn:
        rows = await conn.fetch(f"SELECT key FROM {service}.inbox WHERE chain_id = $1 AND topic = $2 "
                                "AND key LIKE 'event:%'", chain.id, topic)
    return {r["key"].removeprefix("event:") for r in rows}


async def all_alive_and_ready(stack: Stack) -> None:
    for name, proc in stack.services.items():
        assert proc.process.poll() is None, f"{name} died:\n{proc.log_tail()}"
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.get(f"{proc.url}/readyz")
        assert r.status_code == 200, f"{name}: {r.text}"


def error_of(dead: Raw) -> str:
    return (dead.header("x-error") or b"").decode(errors="replace")  # cut at 4,000 bytes: maybe mid-character


# --- the tests ----------------------------------------------------------------------------------------


async def test_a_thousand_bad_messages_are_dead_lettered_and_every_good_one_is_applied(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool
) -> None:
    started = time.monotonic()
    t = await create_type(chain)
    await storage(chain, "st-h")
    await product(chain, "prod-oil")
    await operation(chain, "arrival", "st-h", [{"product_id": "prod-oil", "quantity": STOCK}])
    rng = random.Random(SEED)
    generator = Generator(SEED, chain.id)
    by_topic = shapes(chain, t["id"])
    bad = {topic: generator.many(shape, BAD_PER_TOPIC) for topic, shape in by_topic.items()}
    bad[topics.VISIT_PAID].append(generator.near_the_limit(by_topic[topics.VISIT_PAID], "client.name"))
    visits = [topics.VISIT_PAID, topics.VISIT_ARRIVED, topics.VISIT_NO_SHOW, topics.VISIT_CANCELLED]

    # 1. Sales, among the bad sales and half the bad visits.
    sales = [sale(chain, t["id"], f"G-{i}", client=HILDA) for i in range(SALES)]
    await play(kafka, interleaved(rng, [(topics.MEMBERSHIP_SOLD, s) for s in sales],
                                  bad[topics.MEMBERSHIP_SOLD] + [b for v in visits for b in bad[v][::2]]))
    for i in range(SALES):
        await membership_eventually(chain, f"G-{i}", lambda m: True, timeout=60)

    # 2. Visits, among the other half of the bad visits.
    goods: dict[str, list[dict[str, Any]]] = {
        topics.VISIT_PAID: [paid(chain, f"G-{i % SALES}") for i in range(PAID)],
        topics.VISIT_ARRIVED: [status(chain) for _ in range(STATUSES)],
        topics.VISIT_NO_SHOW: [status(chain) for _ in range(STATUSES)],
        topics.VISIT_CANCELLED: [status(chain, cancelled_at=now_iso()) for _ in range(STATUSES)],
    }
    await play(kafka, interleaved(rng, [(topic, g) for topic, gs in goods.items() for g in gs],
                                  [b for v in visits for b in bad[v][1::2]]))
    await balances_eventually(chain, {("st-h", "prod-oil"): str(STOCK - PAID)})
    print(f"\nvisits applied: {time.monotonic() - started:.1f}s")

    # 3. Receipts for some of the deductions' SMS, among the bad receipts.
    sms = await notices_eventually(chain, lambda ns: sum(n["published_at"] is not None for n in ns) == PAID,
                                   what="the SMS of every deduction", type="membership.deducted", limit=1000)
    delivered = sorted(n["id"] for n in sms)[:RECEIPTS]
    await play(kafka, interleaved(rng, [(topics.NOTIFICATION_DELIVERY, receipt(chain, n)) for n in delivered],
                                  bad[topics.NOTIFICATION_DELIVERY]))
    print(f"receipts published: {time.monotonic() - started:.1f}s")

    # The end markers: on every topic after the rest, on the same key.
    for topic in bad:
        await kafka.publish(topic, END, key=HILDA["id"], headers=[(hostile.MARKER, case_of(chain, "end"))])

    # Every bad message: in its DLQ once per consumer group, its key, bytes and headers untouched, the
    # reason named.
    for topic, hostiles in bad.items():
        dead = await dead_letters(kafka, chain, topic)
        ends = [d for d in dead if d.header(hostile.MARKER) == case_of(chain, "end")]
        assert sorted(d.header("x-consumer-group") or b"" for d in ends) == sorted(g.encode() for g in GROUPS[topic])
        assert all(d.value == END and hostile.NOT_JSON_REASON.explains(error_of(d)) for d in ends)
        dead = [d for d in dead if d not in ends]
        assert all(d.header(hostile.MARKER) for d in dead), "a good message was dead-lettered"
        by_case: dict[bytes | None, list[Raw]] = {}
        for d in dead:
            by_case.setdefault(d.header(hostile.MARKER), []).append(d)
        for h in hostiles:
            letters = by_case.pop(case_of(chain, h.n), [])
            groups = Counter((d.header("x-consumer-group") or b"").decode() for d in letters)
            assert groups == Counter(GROUPS[topic]), f"{h.kind} #{h.n} on {topic}: dead-lettered by {groups}"
            # Header names are text in the outbox: a NUL in one becomes U+FFFD (and only that changes).
            published = [(k.replace("\x00", "\ufffd"), v) for k, v in h.headers]
            for d in letters:
                assert h.expected.explains(error_of(d)), f"{h.kind} #{h.n} on {topic}: {error_of(d)[:300]}"
                assert d.value == h.value, f"{h.kind} #{h.n} on {topic}: bytes changed"
                assert d.key == HILDA["id"].encode(), f"{h.kind} #{h.n} on {topic}: key {d.key!r}"
                assert [(k, v) for k, v in d.headers if not k.startswith("x-")] == published, \
                    f"{h.kind} #{h.n} on {topic}: headers {d.headers!r}"
                assert X_HEADERS <= {k for k, _ in d.headers} and d.header("x-original-topic") == topic.encode()
            # Every group names the same original record.
            assert len({(d.header("x-original-partition"), d.header("x-original-offset")) for d in letters}) == 1
        assert not by_case, f"dead letters of no known case: {list(by_case)[:5]}"
        assert len(dead) == len(hostiles) * len(GROUPS[topic])
    print(f"dead letters read: {time.monotonic() - started:.1f}s")

    # Every good message applied, by every service that reads its topic.
    goods[topics.MEMBERSHIP_SOLD] = sales
    for topic, gs in goods.items():
        for group in GROUPS[topic]:
            assert await inbox_events(db, SERVICE_OF_GROUP[group], chain, topic) == {g["event_id"] for g in gs}, \
                f"{group} on {topic}"
    for i in range(SALES):
        left = 10 - sum(1 for j in range(PAID) if j % SALES == i)
        assert (await get_membership(chain, f"G-{i}")).json()["visits_left"] == left
    assert await balances(chain) == {("st-h", "prod-oil"): str(STOCK - PAID)}
    stats = await loyalty_eventually(chain, HILDA["id"], lambda s: s["visits"] == STATUSES)
    assert (stats["sold"], stats["paid"]) == (f"{1300 * PAID}.00", f"{300 * PAID}.00")
    await notices_eventually(chain, lambda ns: {n["id"] for n in ns if n["status"] == "delivered"} == set(delivered),
                             what="the receipts applied", type="membership.deducted", limit=1000)

    await all_alive_and_ready(chain.stack)
    print(f"\n{generator.made} bad messages, {sum(len(g) for g in goods.values()) + RECEIPTS} good ones: "
          f"{time.monotonic() - started:.1f}s; kinds: {Counter(h.kind for hs in bad.values() for h in hs)}")


async def test_a_message_larger_than_a_topic_takes_is_refused_by_kafka(chain: Chain, kafka: Kafka) -> None:
    """The limit is Kafka's: a booking system cannot publish more than MAX_MESSAGE_BYTES on an inbound
    topic, so no consumer ever sees it (and the DLQ, which takes 64 KiB more, takes whatever it was)."""
    too_big = paid(chain, "G-0", client={**HILDA, "name": "A" * MAX_MESSAGE_BYTES})
    with pytest.raises(MessageSizeTooLargeError):
        await kafka.publish(topics.VISIT_PAID, too_big, key=HILDA["id"])


async def test_a_topic_made_before_the_size_limits_gets_them_and_keeps_its_own_settings(stack: Stack) -> None:
    """`create-topics` on an older cluster (the `make run` demo's): Kafka's 1 MiB default is raised, and
    what an operator set on the topic stays."""
    name = f"legacy-{uuid.uuid4().hex[:8]}"
    client = AIOKafkaAdminClient(bootstrap_servers=stack.settings.kafka_bootstrap_servers)
    await client.start()
    try:
        await client.create_topics([NewTopic(name, 1, 1, topic_configs={"retention.ms": "3600000"})])
        async for attempt in AsyncRetrying(stop=stop_after_delay(10), wait=wait_fixed(0.2), reraise=True):
            with attempt:  # a topic created a moment ago may not be described yet
                assert (await admin.topic_configs(client, [name]))[name]["max.message.bytes"] == ("1048588", False)
        await admin.raise_size_limits(client, [name])
        configs = (await admin.topic_configs(client, [name]))[name]
        assert configs["max.message.bytes"] == (str(MAX_MESSAGE_BYTES), True)
        assert configs["retention.ms"] == ("3600000", True)
    finally:
        await client.delete_topics([name])
        await client.close()


async def test_a_visit_naming_another_chains_membership_card_or_product_changes_nothing_there(
    chain: Chain, kafka: Kafka, stack: Stack, db: asyncpg.Pool
) -> None:
    other = await new_chain(stack, db)
    other_type = await create_type(other)
    sold = await sell(other, kafka, other_type["id"], "X-1", client=HILDA)
    card_type = await create(other, "/card-types", {"name": "Gold", "location_ids": ["loc-1"]})
    other_card = await create(other, "/cards", {"card_type_id": card_type["id"], "client_id": HILDA["id"],
                                                "phone": HILDA["phone"], "number": "N-1"})
    await storage(other, "st-o")
    await product(other, "prod-o")
    await operation(other, "arrival", "st-o", [{"product_id": "prod-o", "quantity": 10}])

    async def snapshot() -> tuple[Any, ...]:
        membership = (await get_membership(other, "X-1")).json()
        return membership, await card(other, other_card["id"]), await balances(other)

    before = await snapshot()
    by_code = chain.event(visit_id="v-x1", client=HILDA, lines=[
        {"kind": "service", "item_id": "svc-massage", "quantity": 1, "sold": "1000", "paid": "0",
         "membership": {"code": "X-1"}}])
    by_id = chain.event(visit_id="v-x2", client=HILDA, lines=[
        {"kind": "service", "item_id": "svc-massage", "quantity": 1, "sold": "1000", "paid": "0",
         "membership": {"id": sold["id"]}}])
    by_card = chain.event(visit_id="v-x3", client=HILDA, loyalty_card_id=other_card["id"], bonus_spent="10",
                          lines=[{"kind": "service", "item_id": "svc-hair", "quantity": 1, "sold": "100",
                                  "paid": "90"}])
    by_product = chain.event(visit_id="v-x4", client=HILDA, lines=[
        {"kind": "product", "item_id": "prod-o", "storage_id": "st-o", "quantity": 1, "sold": "300", "paid": "300"}])
    by_type = sale(chain, other_type["id"], "X-2", client=HILDA)
    for event in (by_code, by_id, by_card, by_product):
        await kafka.publish(topics.VISIT_PAID, event, key=HILDA["id"])
    await kafka.publish(topics.MEMBERSHIP_SOLD, by_type, key=HILDA["id"])

    # Memberships refuses in our chain: the code (or id) is unknown here, and so is the type.
    rejected = await kafka.read(topics.MEMBERSHIP_DEDUCTION_REJECTED, of_chain(chain), count=2, settle=1)
    assert sorted((r["visit_id"], r["reason"]) for r in rejected) == [("v-x1", "unknown_code"),
                                                                      ("v-x2", "unknown_code")]
    [issue] = await kafka.read(topics.MEMBERSHIP_ISSUE_REJECTED, of_chain(chain), settle=1)
    assert (issue["sale_id"], issue["reason"]) == (by_type["sale_id"], "unknown_type")
    # Loyalty and inventory dead-letter what names a card or product they do not have in our chain.
    dead = await kafka.read(topics.dlq(topics.VISIT_PAID), of_chain(chain), count=2, settle=2)
    reasons = {(d["visit_id"], d["_headers"]["x-consumer-group"]): d["_headers"]["x-error"] for d in dead}
    assert set(reasons) == {("v-x3", "perkstream.loyalty"), ("v-x4", "perkstream.inventory")}
    assert "loyalty_card_id: no loyalty card" in reasons["v-x3", "perkstream.loyalty"]
    assert "lines.0.item_id: unknown product prod-o" in reasons["v-x4", "perkstream.inventory"]

    assert await snapshot() == before
    async with other.client("memberships") as http:
        assert [m["code"] for m in (await http.get("/memberships", params={"client_id": HILDA["id"]})).json()] \
               == ["X-1"]
