"""Nothing lost, nothing twice, under faults that land on work in flight.

1. A stream of paid visits (each with its arrival) is played in one chain while the faults happen, each
   caught on work in flight (tests/integration/faults_helpers.py), in a random order:
   - every service killed (SIGKILL) twice: once frozen after its database commit and before its offset
     commit (its batch stored, its offsets not: at least one record applied past the group's committed
     offsets), once at its commit (its transaction rolled back: records consumed and not committed);
     after each revival the new process consumes at least every record its predecessor left
     uncommitted and counts at least the applied ones as duplicates (its own /metrics);
   - the Kafka broker killed (SIGKILL) while a consumer holds a consumed batch at its commit;
   - PostgreSQL killed (SIGKILL, every process) while a consumer's COMMIT is in progress (that consumer
     retries its batch) and right after another's COMMIT was acknowledged (what it stored survives).
   The end state must be what the visits played make (visits left and deductions per membership,
   accruals and spends per card and its balance, sold and paid per client, stock, the visits'
   inventory operations, notices per type), and equal, exactly, to that of a calm twin chain that
   played the same stream without faults; one event per visit on the deducted and accrued topics, one
   notice per (source event, channel) on the SMS topic; no dead letter. Stored value too
   (tests/integration/faults_wallet.py): every client holds a gift card and a deposit and pays part of
   every visit's oil with both; each card and account must hold exactly what the visits leave, one movement
   and one charge event per visit on each, no payment rejected, as in the calm twin.
2. PostgreSQL unreachable for ~30 s: the consumers retry with backoff, holding their offsets (the
   consumer group's committed offsets do not move); /readyz answers 503 and the API 503; nothing goes
   to a DLQ; everything catches up after.

These tests run on a stack of their own (their own broker, database server and service processes),
since they kill them: the rest of the suite never sees a fault.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from deploy import local, scenario
from deploy.kafka_io import Kafka
from shared import topics
from tests.integration import faults_wallet
from tests.integration.conftest import (
    SERVICES,
    Chain,
    Stack,
    keep_or_remove,
    new_chain,
    new_state_dir,
    running_stack,
)
from tests.integration.faults_helpers import install_gates, remove_gates
from tests.integration.state import Snapshot, diff, snapshot
from tests.integration.storm_helpers import Storm, play_paced

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CLIENTS = 100  # ten visits each and more: every discount and level step of the program is crossed
# Visits per second while the faults happen, as long as they last (and at least MIN_VISITS): a pace the
# services keep up with on a loaded machine, so that each revived process replays seconds of work, not
# a backlog of minutes.
PACE = 10
MIN_VISITS, MOST_VISITS = 1000, 20_000
SEED = 20261123
GROUPS = [f"perkstream.{s}" for s in SERVICES]
# The scenario's set-up (deploy/scenario.py): what each membership, shelf and room starts with.
VISITS, OIL_STOCK, LOTION_STOCK, LOTION_PER_VISIT = 1000, 10_000_000, 100_000_000, 30


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
    events = {
        m["event_id"]: str(m.get("visit_id")) for m in await kafka.read_to_end(topic) if m.get("chain_id") == chain.id
    }
    return Counter(events.values())


def unlike_the_visits(snap: Snapshot, plan: scenario.Plan, played: int) -> list[str]:
    """Where a chain's state differs from what `played` visits of `plan` make (scenario.visits: client
    i has every visit n with n % clients == i; every other visit of hers from her second on spends 5
    points): the totals, derived from the stream alone. Empty: nowhere."""
    wrong = []
    for i in range(plan.clients):
        visits = played // plan.clients + (i < played % plan.clients)
        client = plan.client(i)["id"]
        mine = snap["clients"][client]
        [membership], [card] = mine["memberships"], mine["cards"]
        transactions = Counter(t["kind"] for t in card["transactions"])
        notices = Counter(n["type"] for n in mine["notices"])
        got = {
            "visits_left": membership["visits_left"],
            "deductions": sum(h["kind"] == "deduction" for h in membership["history"]),
            "accruals": transactions["accrual"],
            "spends": transactions["spend"],
            "balance": Decimal(card["balance"]) == sum(Decimal(t["amount"]) for t in card["transactions"]),
            "sold": Decimal(mine["loyalty"]["sold"]),
            "paid": Decimal(mine["loyalty"]["paid"]),
            "deducted notices": notices[topics.MEMBERSHIP_DEDUCTED],
            "accrued notices": notices[topics.LOYALTY_BONUS_ACCRUED],
            "spent notices": notices[topics.LOYALTY_BONUS_SPENT],
        }
        want = {
            "visits_left": VISITS - visits,
            "deductions": visits,
            "accruals": visits,
            "spends": visits // 2,
            "balance": True,
            "sold": visits * (Decimal(scenario.VISIT_PRICE) + Decimal(scenario.OIL_PRICE)),
            "paid": visits * Decimal(scenario.OIL_PRICE),
            "deducted notices": visits,
            "accrued notices": visits,
            "spent notices": visits // 2,
        }
        wrong += [f"{client} {k}: {got[k]} != {v} ({visits} visits)" for k, v in want.items() if got[k] != v]
    stock = {(s["storage_id"], s["product_id"]): Decimal(s["balance"]) for s in snap["stock"]}
    for where, left in (
        ((scenario.SHELF, scenario.OIL), OIL_STOCK - played),
        ((scenario.ROOM, scenario.LOTION), LOTION_STOCK - LOTION_PER_VISIT * played),
    ):
        if stock.get(where) != left:
            wrong.append(f"stock {where}: {stock.get(where)} != {left}")
    from_visits = sum(op["source"].startswith("visit:") for op in snap["operations"])
    if from_visits != 2 * played:  # the oil sold, the lotion written off
        wrong.append(f"operations from visits: {from_visits} != {2 * played}")
    return wrong


# --- the tests ---------------------------------------------------------------------------------------


async def test_kills_on_work_in_flight_lose_nothing_and_apply_nothing_twice(faulty: Stack, faulty_kafka: Kafka) -> None:
    kafka, plan, rng = faulty_kafka, scenario.Plan(CLIENTS, tag="f"), random.Random(SEED)
    calm, stormy = await new_chain(faulty), await new_chain(faulty)
    for chain in (calm, stormy):
        await scenario.set_up(plan, chain.id, chain.key, faulty.urls(), kafka)
        await faults_wallet.set_up(plan, chain, kafka)

    # The storm first: visits stream in for as long as the faults last; then the calm chain plays as many.
    await install_gates(faulty.settings.database_url)
    stop = asyncio.Event()
    stream = asyncio.create_task(
        play_paced(
            kafka,
            faults_wallet.with_payments(plan, scenario.visits(plan, stormy.id, MOST_VISITS)),
            PACE,
            stop,
            MIN_VISITS,
        )
    )
    try:
        faults = await Storm(faulty, kafka, rng).run()
    finally:
        stop.set()
        played = await stream
    await remove_gates(faulty.settings.database_url)
    await scenario.publish(kafka, faults_wallet.with_payments(plan, scenario.visits(plan, calm.id, played)))
    await settled(faulty, kafka)

    expected = await snapshot(calm.id, calm.key, faulty.urls(), plan)
    after_storm = await snapshot(stormy.id, stormy.key, faulty.urls(), plan)
    wrong = unlike_the_visits(after_storm, plan, played)
    assert not wrong, (f"{len(wrong)} differences from the visits played", wrong[:20], faults)
    assert after_storm == expected, (faults, diff(expected, after_storm))
    assert unlike_the_visits(expected, plan, played) == []  # the derivation holds for the calm twin too
    assert await dead_letters(kafka, stormy) == []
    for topic in (topics.MEMBERSHIP_DEDUCTED, topics.LOYALTY_BONUS_ACCRUED):
        per_visit = await one_event_per_visit(kafka, stormy, topic)
        assert len(per_visit) == played and set(per_visit.values()) == {1}, topic
    sms = [m for m in await kafka.read_to_end(topics.NOTIFICATION_SMS) if m.get("chain_id") == stormy.id]
    by_source: dict[str, set[str]] = {}
    for m in sms:
        by_source.setdefault(m["source_event_id"], set()).add(m["notification_id"])
    assert all(len(ids) == 1 for ids in by_source.values()), "a source event texted twice"
    calm_sms = {
        m["source_event_id"] for m in await kafka.read_to_end(topics.NOTIFICATION_SMS) if m.get("chain_id") == calm.id
    }
    assert len(by_source) == len(calm_sms) > played

    # The stored value: each paying visit moved the card and the account once, as in the calm chain.
    wallet = await faults_wallet.wallet_state(plan, stormy)
    wrong = faults_wallet.unlike_the_payments(wallet, plan, played)
    assert not wrong, (f"{len(wrong)} wallet differences from the visits played", wrong[:20], faults)
    assert wallet == await faults_wallet.wallet_state(plan, calm), faults
    paying = faults_wallet.paying_visits(plan, played)
    for topic, per_visit in (await faults_wallet.charged_per_visit(kafka, stormy)).items():
        assert len(per_visit) == paying and set(per_visit.values()) == {1}, (topic, len(per_visit), paying)
    assert await faults_wallet.rejected(kafka, stormy) == []


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
            api = await http.get(
                f"{faulty.url('memberships')}/v1/chains/{chain.id}/memberships/{plan.code(0)}",
                headers={"Authorization": f"Bearer {chain.key}"},
            )
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
            counts[service] = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("perkstream_batch_retries_total{")
            )
    return counts
