"""Hostile input: over a thousand generated bad messages (tests/integration/hostile.py), every poison kind
only a consumer (or Kafka) can refuse, and valid messages at every bound, interleaved with good ones of
two chains on every inbound topic.

No consumer dies or hangs (each group's lag returns to zero; the four services stay ready). Every bad
message is in `<topic>.dlq` once per consumer group that is to refuse it (each group that reads its topic,
or the one a slow record overran), with its original key, bytes and headers and its reason in `x-error`
and `x-error-reason`; a message larger than a topic takes is refused by Kafka to the producer and reaches
no one. Every valid one (the good ones, those at the bounds, the slow one where it was not slow) is
applied, and another chain's traffic alongside too. And a visit naming another chain's membership, card
or product changes nothing there: our chain gets the refusal."""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from typing import Any

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from tenacity import AsyncRetrying, stop_after_delay, wait_fixed

from deploy.kafka_io import Kafka
from shared import admin, topics
from shared.topics import MAX_MESSAGE_BYTES
from tests.integration import hostile
from tests.integration.conftest import Chain, Stack, eventually, new_chain, now_iso, of_chain
from tests.integration.helpers import (
    create_type,
    get_membership,
    membership_eventually,
    membership_row_held,
    sale,
    sell,
)
from tests.integration.hostile import Expected, Generator, Hostile, Shape
from tests.integration.hostile_bounds import RECORD_ATTEMPTS, RECORD_SECONDS
from tests.integration.hostile_helpers import (
    END,
    GROUPS,
    SERVICE_OF_GROUP,
    all_alive_and_ready,
    case_of,
    dead_letters,
    end_markers,
    error_of,
    inbox_events,
    interleaved,
    play,
    problems_with,
)
from tests.integration.hostile_messages import (
    HILDA,
    OTTO,
    XENA,
    event_id,
    paid,
    receipt,
    shapes,
    status,
    xena_paid,
    xenas,
)
from tests.integration.inventory_helpers import balances, operation, product, storage
from tests.integration.loyalty_helpers import card, create, loyalty_eventually
from tests.integration.notifications_helpers import notices_eventually
from tests.integration.proof import Raw, read_raw

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SEED = 20261123
BAD_PER_TOPIC = 175  # x 6 topics: 1,050 random bad messages
SALES, PAID, STATUSES, RECEIPTS = 40, 60, 20, 20
THEIR_SALES, THEIR_PAID, THEIR_STATUSES = 5, 10, 5
STOCK = 1000
VISITS = [topics.VISIT_PAID, topics.VISIT_ARRIVED, topics.VISIT_NO_SHOW, topics.VISIT_CANCELLED]
# Valid messages at the bounds that a group refuses, and why; every other group applies them (as it
# applies every other one at the bounds).
REFUSED_AT_BOUNDS = {
    (topics.VISIT_PAID, "at_bounds:longest_texts", "perkstream.inventory"):  # a product it does not have
    Expected("processing failed: ValueError: ", "lines.1.item_id"),
    # points spent (bonus_spent at its largest) by a visit without a card: loyalty's rule
    (topics.VISIT_PAID, "at_bounds:largest_numbers", "perkstream.loyalty"): Expected(
        "processing failed: ValueError: bonus_spent: points spent without a loyalty_card_id"
    ),
}
# Once findings of this suite, now refused by the model (tests/unit/test_inbound_bounds.py): a time whose
# instant is before year 1 in UTC ("0001-01-01T00:00:00+14:00"), which loyalty and notifications could not
# store; and a visit's total past what loyalty's NUMERIC(14,2) holds (a line's amounts are at most
# 4,999,999,999.99, so 200 lines stay below 10**12).


def extremes(generator: Generator, shape: Shape, template: Any) -> list[Hostile]:
    """Every poison, and the valid ones at the bounds, with the refusals expected of them."""
    # A loyalty card it does not have: loyalty refuses the visit (tested elsewhere); its other texts count.
    found = generator.poisons(shape) + generator.at_bounds(shape, template, {"chain_id", "loyalty_card_id"})
    for h in found:
        for (topic, kind, group), expected in REFUSED_AT_BOUNDS.items():
            if (h.topic, h.kind) == (topic, kind):
                h.by_group[group] = expected
    return found


# --- the tests ----------------------------------------------------------------------------------------


async def test_every_kind_of_bad_message_is_dead_lettered_with_its_reason_and_every_valid_one_applied(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool, stack: Stack
) -> None:
    started = time.monotonic()
    other = await new_chain(stack, db)
    t, their_type = await create_type(chain), await create_type(other)
    for shelf, item, stock in (("st-h", "prod-oil", STOCK), ("st-x", "prod-x", 20_000)):
        await storage(chain, shelf)
        await product(chain, item)
        await operation(chain, "arrival", shelf, [{"product_id": item, "quantity": stock}])
    rng = random.Random(SEED)
    generator = Generator(SEED, chain.id, HILDA["id"].encode())
    by_topic = shapes(chain, t["id"])
    random_bad = {topic: generator.many(shape, BAD_PER_TOPIC) for topic, shape in by_topic.items()}
    random_bad[topics.VISIT_PAID].append(generator.near_the_limit(by_topic[topics.VISIT_PAID], "client.name"))
    extreme = xenas(chain, t["id"], [])
    more = {
        topic: extremes(generator, shape, extreme[topic])
        for topic, shape in by_topic.items()
        if topic != topics.NOTIFICATION_DELIVERY
    }
    keys = {other.id: OTTO["id"]}

    # 1. Sales (ours, Xena's two, the other chain's), among the bad sales and half the random bad visits.
    sales = [sale(chain, t["id"], f"G-{i}", client=HILDA) for i in range(SALES)]
    sales += [sale(chain, t["id"], code, client=XENA) for code in ("SLOW-1", "X-1")]
    theirs: dict[str, list[dict[str, Any]]] = {
        topics.MEMBERSHIP_SOLD: [sale(other, their_type["id"], f"O-{i}", client=OTTO) for i in range(THEIR_SALES)]
    }
    await play(
        kafka,
        interleaved(
            rng,
            [(topics.MEMBERSHIP_SOLD, s) for s in sales + theirs[topics.MEMBERSHIP_SOLD]],
            random_bad[topics.MEMBERSHIP_SOLD]
            + more[topics.MEMBERSHIP_SOLD]
            + [b for v in VISITS for b in random_bad[v][::2]],
        ),
        HILDA["id"],
        keys,
    )
    for s in sales:
        await membership_eventually(chain, s["code"], lambda m: True, timeout=90)
    for s in theirs[topics.MEMBERSHIP_SOLD]:
        await membership_eventually(other, s["code"], lambda m: True, timeout=60)
    print(f"\nsales applied: {time.monotonic() - started:.1f}s")

    # 2. Visits, among the rest of the bad ones, the poisons and the extreme ones; a visit of Xena's that
    # memberships cannot apply in time (the test holds her membership's row), sales reusing event ids.
    goods: dict[str, list[dict[str, Any]]] = {
        topics.MEMBERSHIP_SOLD: sales,
        topics.VISIT_PAID: [paid(chain, f"G-{i % SALES}") for i in range(PAID)],
        topics.VISIT_ARRIVED: [status(chain) for _ in range(STATUSES)],
        topics.VISIT_NO_SHOW: [status(chain) for _ in range(STATUSES)],
        topics.VISIT_CANCELLED: [status(chain, cancelled_at=now_iso()) for _ in range(STATUSES)],
    }
    theirs[topics.VISIT_PAID] = [
        paid(
            other,
            f"O-{i % THEIR_SALES}",
            client=OTTO,
            lines=[
                {
                    "kind": "service",
                    "item_id": "svc-massage",
                    "quantity": 1,
                    "sold": "1000",
                    "paid": "0",
                    "membership": {"code": f"O-{i % THEIR_SALES}"},
                }
            ],
        )
        for i in range(THEIR_PAID)
    ]
    theirs[topics.VISIT_ARRIVED] = [status(other, "O-0", client=OTTO) for _ in range(THEIR_STATUSES)]
    overran = Expected(f"timeout: took longer than {RECORD_SECONDS:g} s, {RECORD_ATTEMPTS} attempts")
    slow = generator.slow(
        by_topic[topics.VISIT_PAID], xena_paid(chain, t["id"], "SLOW-1"), {"perkstream.memberships": overran}
    )
    reused = [generator.reused(by_topic[topics.MEMBERSHIP_SOLD], sales[1], {"code": "RU-1"})]
    async with membership_row_held(stack, chain, "SLOW-1"):
        steps = [(topic, g) for topic, gs in goods.items() if topic in VISITS for g in gs]
        steps += [(topic, g) for topic, gs in theirs.items() if topic in VISITS for g in gs]
        await play(
            kafka,
            interleaved(rng, steps, [b for v in VISITS for b in random_bad[v][1::2] + more[v]] + [slow, *reused]),
            HILDA["id"],
            keys,
        )
        # Every good visit's bottle sold (exactly those: checked once every dead letter is accounted for).
        await eventually(
            lambda: balances(chain),
            lambda b: int(b[("st-h", "prod-oil")]) <= STOCK - PAID,
            timeout=60,
            what="the good visits' stock",
        )
        # Memberships gives up on the slow visit (after its attempts), and goes on.
        await read_raw(
            kafka,
            topics.dlq(topics.VISIT_PAID),
            lambda r: r.header(hostile.MARKER) == case_of(chain, slow.n),
            until=bool,
            timeout=180,
        )
    print(f"visits applied, the slow one refused: {time.monotonic() - started:.1f}s")

    # 3. Receipts for some of the deductions' SMS, among the bad receipts; visits reusing event ids.
    # (At least) every good visit's SMS sent: none more is proven with the memberships' visits left, below.
    sms = await notices_eventually(
        chain,
        lambda ns: sum(n["published_at"] is not None for n in ns) >= PAID,
        what="the SMS of every deduction",
        type="membership.deducted",
        client_id=HILDA["id"],
        limit=1000,
    )
    delivered = sorted(n["id"] for n in sms)[:RECEIPTS]
    goods[topics.NOTIFICATION_DELIVERY] = [receipt(chain, n) for n in delivered]
    failing = xenas(chain, t["id"], sorted(n["id"] for n in sms)[RECEIPTS:])[topics.NOTIFICATION_DELIVERY]
    more[topics.NOTIFICATION_DELIVERY] = extremes(generator, by_topic[topics.NOTIFICATION_DELIVERY], failing)
    reused += [generator.reused(by_topic[v], goods[v][0], {"visit_id": f"v-reused-{i}"}) for i, v in enumerate(VISITS)]
    await play(
        kafka,
        interleaved(
            rng,
            [(topics.NOTIFICATION_DELIVERY, r) for r in goods[topics.NOTIFICATION_DELIVERY]],
            random_bad[topics.NOTIFICATION_DELIVERY] + more[topics.NOTIFICATION_DELIVERY] + reused[1:],
        ),
        HILDA["id"],
    )
    await end_markers(kafka, chain, HILDA["id"])
    print(f"everything published: {time.monotonic() - started:.1f}s")

    cases: dict[str, list[Hostile]] = {topic: random_bad[topic] + more[topic] for topic in GROUPS}
    for h in [slow, *reused]:
        cases[h.topic].append(h)
    problems: list[str] = []
    checked = 0  # dead letters

    # Every bad message: in its DLQ once per group that is to refuse it, its key, bytes and headers
    # untouched, the reason named; nothing else of ours there, up to every group's end marker.
    for topic, hostiles in cases.items():
        dead = await dead_letters(kafka, chain, topic)
        ends = [d for d in dead if d.header(hostile.MARKER) == case_of(chain, "end")]
        assert sorted(d.header("x-consumer-group") or b"" for d in ends) == sorted(g.encode() for g in GROUPS[topic])
        assert all(d.value == END and hostile.NOT_JSON_REASON.explains(error_of(d)) for d in ends)
        by_case: dict[bytes | None, list[Raw]] = {}
        for d in dead:
            if d not in ends:
                by_case.setdefault(d.header(hostile.MARKER), []).append(d)
        for h in hostiles:
            letters = by_case.pop(case_of(chain, h.n), [])
            problems += problems_with(h, letters)
            checked += len(letters)
        problems += [
            f"{topic}: dead letters of no known case: {error_of(d)[:200]}" for ds in by_case.values() for d in ds
        ]
    print(f"dead letters read: {time.monotonic() - started:.1f}s")

    # Every valid message applied by every group that is to apply it (its event in the group's inbox), and
    # none that is refused; the other chain's all applied.
    for topic, hostiles in cases.items():
        ours = {event_id(topic, g) for g in goods.get(topic, ())}
        valid = [h for h in hostiles if h.event_id and not h.too_large and h.family != "event_id_reused"]
        for group in GROUPS[topic]:
            applied = ours | {h.event_id for h in valid if h.expect(group) is None}
            found = await inbox_events(db, SERVICE_OF_GROUP[group], chain, topic) & (ours | {h.event_id for h in valid})
            if found != applied:
                kinds = {h.event_id: h.kind for h in valid}
                problems.append(
                    f"{group} on {topic}: applied but refused {[kinds.get(e) for e in found - applied]}, "
                    f"not applied {[kinds.get(e, e) for e in applied - found]}"
                )
            if topic in theirs:
                got = await inbox_events(db, SERVICE_OF_GROUP[group], other, topic)
                if got != {g["event_id"] for g in theirs[topic]}:
                    problems.append(f"{group} on {topic}: the other chain's {len(got)} of {len(theirs[topic])}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])

    for i in range(SALES):
        left = 10 - sum(1 for j in range(PAID) if j % SALES == i)
        assert (await get_membership(chain, f"G-{i}")).json()["visits_left"] == left
    for i in range(THEIR_SALES):
        left = 10 - sum(1 for j in range(THEIR_PAID) if j % THEIR_SALES == i)
        assert (await get_membership(other, f"O-{i}")).json()["visits_left"] == left
    assert (await get_membership(chain, "SLOW-1")).json()["visits_left"] == 10  # memberships refused it
    assert (await get_membership(chain, "RU-1")).status_code == 404
    assert (await balances(chain))[("st-h", "prod-oil")] == str(STOCK - PAID)
    stats = await loyalty_eventually(chain, HILDA["id"], lambda s: s["visits"] == STATUSES)
    assert (stats["sold"], stats["paid"]) == (f"{1300 * PAID}.00", f"{300 * PAID}.00")
    await notices_eventually(
        chain,
        lambda ns: {n["id"] for n in ns if n["status"] == "delivered"} == set(delivered),
        what="the receipts applied",
        type="membership.deducted",
        client_id=HILDA["id"],
        limit=1000,
    )

    # Nothing left behind: every group's lag back to zero, every service alive and ready.
    await eventually(
        lambda: kafka.lag(sorted(SERVICE_OF_GROUP)),
        lambda lag: not any(lag.values()),
        timeout=120,
        what="every group's lag at zero",
    )
    await all_alive_and_ready(chain.stack)
    every = [h for hs in cases.values() for h in hs]
    at_bounds = [h for h in every if h.family == "at_bounds"]
    print(
        f"\n{len(every)} hostile messages, {checked} dead letters; {len(at_bounds)} valid at the bounds "
        f"({sum(bool(h.by_group) for h in at_bounds)} refused by a group); "
        f"{sum(map(len, goods.values())) + sum(map(len, theirs.values()))} good ones: "
        f"{time.monotonic() - started:.1f}s\nfamilies: {Counter(h.family for h in every)}\n"
        f"kinds: {Counter(h.kind for h in every)}"
    )


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
    other_card = await create(
        other,
        "/cards",
        {"card_type_id": card_type["id"], "client_id": HILDA["id"], "phone": HILDA["phone"], "number": "N-1"},
    )
    await storage(other, "st-o")
    await product(other, "prod-o")
    await operation(other, "arrival", "st-o", [{"product_id": "prod-o", "quantity": 10}])

    async def snapshot() -> tuple[Any, ...]:
        membership = (await get_membership(other, "X-1")).json()
        return membership, await card(other, other_card["id"]), await balances(other)

    before = await snapshot()
    by_code = chain.event(
        visit_id="v-x1",
        client=HILDA,
        lines=[
            {
                "kind": "service",
                "item_id": "svc-massage",
                "quantity": 1,
                "sold": "1000",
                "paid": "0",
                "membership": {"code": "X-1"},
            }
        ],
    )
    by_id = chain.event(
        visit_id="v-x2",
        client=HILDA,
        lines=[
            {
                "kind": "service",
                "item_id": "svc-massage",
                "quantity": 1,
                "sold": "1000",
                "paid": "0",
                "membership": {"id": sold["id"]},
            }
        ],
    )
    by_card = chain.event(
        visit_id="v-x3",
        client=HILDA,
        loyalty_card_id=other_card["id"],
        bonus_spent="10",
        lines=[{"kind": "service", "item_id": "svc-hair", "quantity": 1, "sold": "100", "paid": "90"}],
    )
    by_product = chain.event(
        visit_id="v-x4",
        client=HILDA,
        lines=[
            {"kind": "product", "item_id": "prod-o", "storage_id": "st-o", "quantity": 1, "sold": "300", "paid": "300"}
        ],
    )
    by_type = sale(chain, other_type["id"], "X-2", client=HILDA)
    for event in (by_code, by_id, by_card, by_product):
        await kafka.publish(topics.VISIT_PAID, event, key=HILDA["id"])
    await kafka.publish(topics.MEMBERSHIP_SOLD, by_type, key=HILDA["id"])

    # Memberships refuses in our chain: the code (or id) is unknown here, and so is the type.
    rejected = await kafka.read(topics.MEMBERSHIP_DEDUCTION_REJECTED, of_chain(chain), count=2, settle=1)
    assert sorted((r["visit_id"], r["reason"]) for r in rejected) == [
        ("v-x1", "unknown_code"),
        ("v-x2", "unknown_code"),
    ]
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
        assert [m["code"] for m in (await http.get("/memberships", params={"client_id": HILDA["id"]})).json()] == [
            "X-1"
        ]
