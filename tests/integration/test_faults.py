"""Nothing lost, nothing twice, under faults.

1. A stream of paid visits (each with its arrival) is played twice on the same plan: calmly in one chain,
   and in another while every service is killed with SIGKILL at random moments (twice each) and
   restarted, the Kafka broker is restarted once and PostgreSQL is restarted once. Both chains must end
   in the same state, exactly: every membership balance and history, every card balance and
   transaction, every stock level, the notices; one notice per (source event, channel) on the topic; no
   dead letter for any of these good messages.
2. PostgreSQL unreachable for ~30 s: the consumers retry with backoff, holding their offsets (the
   consumer group's committed offsets do not move); /readyz answers 503 and the API 503; nothing goes
   to a DLQ; everything catches up after.

These tests run on a stack of their own (their own broker, database server and service processes),
since they stop and kill them: the rest of the suite never sees a fault.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiokafka.errors import KafkaError

from deploy import local, processes, scenario
from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import (
    SERVICES,
    Chain,
    Stack,
    keep_or_remove,
    new_chain,
    new_state_dir,
    running_stack,
)
from tests.integration.state import diff, snapshot

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CLIENTS = 200
PACE = 25  # visits per second while the faults happen: the stream lasts as long as the faults do
MIN_VISITS, MOST_VISITS = 1000, 20_000
SEED = 20261123
GROUPS = [f"perkstream.{s}" for s in SERVICES]


@pytest.fixture(scope="module")
def faulty(request: pytest.FixtureRequest) -> Iterator[Stack]:
    state = new_state_dir()
    try:
        with running_stack(state) as running:
            yield running
    finally:
        keep_or_remove(state, request)


@pytest_asyncio.fixture(loop_scope="session")
async def faulty_kafka(faulty: Stack) -> AsyncIterator[Kafka]:
    async with Kafka(faulty.settings.kafka_bootstrap_servers) as k:
        yield k


# --- the stream and the faults ---------------------------------------------------------------------


async def play_paced(kafka: Kafka, visits: Iterable[scenario.Visit], pace: float, until: asyncio.Event) -> int:
    """Publishes at `pace` visits a second until `until` is set; answers how many it published. What the
    broker refused while it was down is sent again (a retried send may land twice: the inboxes make
    that harmless)."""
    started = time.monotonic()
    sent = 0
    for n, visit in enumerate(visits):
        if until.is_set():
            break
        await asyncio.sleep(max(0.0, started + n / pace - time.monotonic()))
        while True:
            try:
                await scenario.publish(kafka, [visit])
                break
            except KafkaError:
                await asyncio.sleep(0.5)
        sent += 1
    return sent


def fault_plan(rng: random.Random) -> list[tuple[str, str]]:
    """Each service killed twice, the broker and the database restarted once, in a random order."""
    plan = [("kill", s) for s in SERVICES for _ in range(2)] + [("restart", "kafka"), ("restart", "postgres")]
    rng.shuffle(plan)
    return plan


def apply_fault(stack: Stack, fault: tuple[str, str]) -> None:
    kind, what = fault
    assert stack.servers is not None
    if kind == "kill":
        stack.kill(what)
        stack.revive(what)
        return
    if what == "kafka":
        local.stop_kafka(stack.servers)
        local.start_kafka(stack.servers)
    else:
        local.stop_postgres(stack.servers)
        local.start_postgres(stack.servers)
    processes.wait_ready(list(stack.services.values()), timeout=120)


async def storm(stack: Stack, rng: random.Random) -> list[str]:
    """The faults, one after the other, each at a random moment; answers what was done, and when."""
    done, started = [], time.monotonic()
    for fault in fault_plan(rng):
        await asyncio.sleep(rng.uniform(0.5, 3.0))
        await asyncio.to_thread(apply_fault, stack, fault)
        done.append(f"{time.monotonic() - started:5.1f}s {' '.join(fault)}")
    return done


# --- waiting until everything is done ------------------------------------------------------------


async def settled(stack: Stack, kafka: Kafka, stalled_after: float = 120, timeout: float = 900) -> None:
    """Every consumer group has read everything and every outbox is empty, twice in a row. Slow is fine
    (a loaded machine); stuck is not: no progress for `stalled_after` seconds fails."""
    started = last_progress = time.monotonic()
    quiet, least = 0, None
    while quiet < 2:
        now = time.monotonic()
        if now - last_progress > stalled_after or now - started > timeout:
            for service in stack.services.values():  # each writes its tasks' stacks to its log
                service.process.send_signal(signal.SIGUSR1)
            raise AssertionError(f"no progress for {now - last_progress:.0f}s: lag {await kafka.lag(GROUPS)}")
        await asyncio.sleep(1)
        lag = await kafka.lag(GROUPS)
        conn = await asyncpg.connect(stack.settings.database_url)
        try:
            pending = sum([await conn.fetchval(f"SELECT count(*) FROM {s}.outbox") for s in SERVICES])
        finally:
            await conn.close()
        left = sum(lag.values()) + pending
        if least is None or left < least:
            least, last_progress = left, time.monotonic()
        quiet = quiet + 1 if left == 0 else 0


async def dead_letters(kafka: Kafka, chain: Chain) -> list[dict[str, Any]]:
    def ours(m: dict[str, Any]) -> bool:
        return m.get("chain_id") == chain.id or chain.id in m.get("_raw", "")

    found = []
    for topic in (*topics.INBOUND, *topics.DOMAIN):
        found += await kafka.read_to_end(topics.dlq(topic), ours)
    return found


async def one_event_per_visit(kafka: Kafka, chain: Chain, topic: str) -> Counter[str]:
    """How many distinct events `topic` carries per visit of the chain (the relay may publish an event
    twice, always with its event_id: that is one event)."""
    events = {m["event_id"]: m.get("visit_id") for m in await kafka.read_to_end(topic) if m.get("chain_id") == chain.id}
    return Counter(events.values())


# --- the tests ---------------------------------------------------------------------------------------


async def test_crashes_and_restarts_end_in_the_state_of_a_calm_run(faulty: Stack, faulty_kafka: Kafka) -> None:
    kafka, plan, rng = faulty_kafka, scenario.Plan(CLIENTS, tag="f"), random.Random(SEED)
    calm, stormy = await new_chain(faulty), await new_chain(faulty)
    for chain in (calm, stormy):
        await scenario.set_up(plan, chain.id, chain.key, faulty.urls(), kafka)

    # The storm first: visits stream in for as long as the faults last; then the calm chain plays as many.
    stop = asyncio.Event()
    stream = asyncio.create_task(play_paced(kafka, scenario.visits(plan, stormy.id, MOST_VISITS), PACE, stop))
    faults = await storm(faulty, rng)
    stop.set()
    played = await stream
    assert played >= MIN_VISITS, f"{played} visits: the stream was too short to prove anything"
    await scenario.publish(kafka, scenario.visits(plan, calm.id, played))
    await settled(faulty, kafka)

    expected = await snapshot(calm.id, calm.key, faulty.urls(), plan)
    after_storm = await snapshot(stormy.id, stormy.key, faulty.urls(), plan)
    assert after_storm == expected, (faults, diff(expected, after_storm))
    assert await dead_letters(kafka, stormy) == []
    for topic in (topics.MEMBERSHIP_DEDUCTED, topics.LOYALTY_BONUS_ACCRUED):
        per_visit = await one_event_per_visit(kafka, stormy, topic)
        assert len(per_visit) == played and set(per_visit.values()) == {1}, topic
    sms = [m for m in await kafka.read_to_end(topics.NOTIFICATION_SMS) if m.get("chain_id") == stormy.id]
    by_source: dict[str, set[str]] = {}
    for m in sms:
        by_source.setdefault(m["source_event_id"], set()).add(m["notification_id"])
    assert all(len(ids) == 1 for ids in by_source.values()), "a source event texted twice"
    calm_sms = {m["source_event_id"] for m in await kafka.read_to_end(topics.NOTIFICATION_SMS)
                if m.get("chain_id") == calm.id}
    assert len(by_source) == len(calm_sms) > played


async def test_postgres_unreachable_for_30_seconds(faulty: Stack, faulty_kafka: Kafka) -> None:
    kafka, plan = faulty_kafka, scenario.Plan(50, tag="pg")
    chain = await new_chain(faulty)
    await scenario.set_up(plan, chain.id, chain.key, faulty.urls(), kafka)
    before, during = list(scenario.visits(plan, chain.id, 100)), list(scenario.visits(plan, chain.id, 200, 100))
    await scenario.publish(kafka, before)
    await settled(faulty, kafka)
    committed = await kafka.committed(GROUPS)
    retries = await batch_retries(faulty)
    assert faulty.servers is not None

    await asyncio.to_thread(local.stop_postgres, faulty.servers)
    down_since = time.monotonic()
    await scenario.publish(kafka, during)
    async with httpx.AsyncClient(timeout=5) as http:
        while time.monotonic() - down_since < 30:
            for service in SERVICES:
                ready = await http.get(f"{faulty.url(service)}/readyz")
                assert ready.status_code == 503 and ready.json()["checks"]["postgres"] is False, ready.text
            api = await http.get(f"{faulty.url('memberships')}/v1/chains/{chain.id}/memberships/{plan.code(0)}",
                                 headers={"Authorization": f"Bearer {chain.key}"})
            assert api.status_code == 503, api.text  # not a 500: the client may retry
            await asyncio.sleep(2)
    assert await kafka.committed(GROUPS) == committed, "an offset moved while nothing could be stored"
    await asyncio.to_thread(local.start_postgres, faulty.servers)

    await settled(faulty, kafka)
    retried = {s: (await batch_retries(faulty))[s] - retries[s] for s in SERVICES}
    # Backoff, not a hot loop: a few retries in 30 s by each service the visits reached (notifications'
    # work comes from the others' outboxes, which waited for the database too).
    assert all(1 <= retried[s] <= 30 for s in ("memberships", "loyalty", "inventory")), retried
    assert retried["notifications"] <= 30, retried
    assert await dead_letters(kafka, chain) == []
    async with chain.client("memberships") as http:
        mine = (await http.get(f"/memberships/{plan.code(0)}")).json()
    assert sum(1 for h in mine["history"] if h["kind"] == "deduction") == 300 // plan.clients
    async with chain.client("loyalty") as http:
        card = (await http.get(f"/cards/{plan.card_number(0)}")).json()
    assert sum(1 for t in card["transactions"] if t["kind"] == "accrual") == 300 // plan.clients


async def batch_retries(stack: Stack) -> dict[str, float]:
    counts = {}
    async with httpx.AsyncClient(timeout=5) as http:
        for service in SERVICES:
            text = (await http.get(f"{stack.url(service)}/metrics")).text
            counts[service] = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                                  if line.startswith("perkstream_batch_retries_total{"))
    return counts

