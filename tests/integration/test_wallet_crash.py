"""The wallet killed in the middle of a burst of paid visits (each paying with a gift card and the
account), its offsets moved back to the burst's start as the worst crash would leave them: the new process
replays the burst and every visit pays exactly once, the card and the account lose nothing and nothing
twice. New behaviour (the wallet service is new in this change)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from aiokafka import TopicPartition

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, eventually, publish
from tests.integration.proof import rewind
from tests.integration.wallet_helpers import (
    account,
    account_eventually,
    by_account,
    by_card,
    create_card_type,
    deposit,
    get_card,
    line,
    sell_card,
    visit,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

BURST = 300
GROUP = "perkstream.wallet"


async def test_a_killed_wallet_replays_a_burst_and_moves_each_payment_once(
    chain: Chain, kafka: Kafka, stack: Stack, db: asyncpg.Pool
) -> None:
    card = "G-CRASH"
    await sell_card(chain, kafka, (await create_card_type(chain, par_value="100000"))["id"], card)
    await deposit(chain, kafka, "10000")
    await account_eventually(chain, lambda a: a["balance"] == "10000.00")
    visits = [visit(chain, line(paid="110", payments=[by_card(card, "100"), by_account("10")])) for _ in range(BURST)]

    async def paid() -> int:
        return await db.fetchval(
            "SELECT count(DISTINCT visit_id) FROM wallet.visit_payments WHERE chain_id = $1", chain.id
        )

    await asyncio.gather(*(publish(kafka, topics.VISIT_PAID, v) for v in visits))
    await eventually(paid, lambda n: n > 0, timeout=30, what="the first payments")
    stack.kill("wallet")  # mid-burst: no graceful stop, no last commit
    burst = await kafka.read_to_end(topics.VISIT_PAID, lambda m: m.get("chain_id") == chain.id)
    assert len(burst) == BURST
    starts: dict[TopicPartition, int] = {}
    for m in burst:
        tp = TopicPartition(topics.VISIT_PAID, m["_partition"])
        starts[tp] = min(starts.get(tp, m["_offset"]), m["_offset"])
    await rewind(kafka, GROUP, starts)
    before_crash = await paid()
    assert 0 < before_crash < BURST, "the crash came after the burst: nothing was proven"
    stack.revive("wallet")

    await eventually(paid, lambda n: n == BURST, timeout=90, what="the burst replayed")
    final = await get_card(chain, card)
    assert final is not None and final["balance"] == f"{100000 - 100 * BURST}.00"
    assert (await account(chain))["balance"] == f"{10000 - 10 * BURST}.00"
    moves = await db.fetch(
        "SELECT kind, count(*) AS n FROM wallet.account_movements WHERE chain_id = $1 GROUP BY kind ORDER BY kind",
        chain.id,
    )
    assert [(m["kind"], m["n"]) for m in moves] == [("charge", BURST), ("top_up", 1)]
    charged = await kafka.read(topics.GIFT_CARD_CHARGED, lambda m: m.get("chain_id") == chain.id, count=BURST)
    # The relay publishes at least once (always with the event's id): one event per visit.
    by_visit: dict[str, set[str]] = {}
    for m in charged:
        by_visit.setdefault(m["visit_id"], set()).add(m["event_id"])
    assert set(by_visit) == {v["visit_id"] for v in visits} and all(len(ids) == 1 for ids in by_visit.values())
