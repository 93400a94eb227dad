"""A read that takes more than one statement answers from one snapshot: a card's balance and its
transactions always agree, even when a visit's batch commits between the two statements (it did not:
`make test` once saw a card with eight accruals and a balance of 0.00)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import asyncpg
import pytest

from tests.integration.conftest import Chain
from tests.integration.loyalty_helpers import bonus_setup, card, client

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def waiting_on_a_lock(db: asyncpg.Pool) -> bool:
    return bool(
        await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'perkstream-loyalty%' "
            "AND wait_event_type = 'Lock'"
        )
    )


async def test_a_card_and_its_transactions_come_from_one_snapshot(chain: Chain, db: asyncpg.Pool) -> None:
    setup = await bonus_setup(chain, client("una"))
    card_id = setup["card"]["id"]
    async with db.acquire() as conn:
        writer = conn.transaction()
        await writer.start()
        try:
            # The GET reads the card, then waits for its transactions while this transaction accrues
            # 10 points and commits.
            await conn.execute("LOCK TABLE loyalty.card_transactions IN ACCESS EXCLUSIVE MODE")
            read = asyncio.create_task(card(chain, card_id))
            for _ in range(200):
                if await waiting_on_a_lock(db):
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("the GET never reached the transactions")
            await conn.execute("UPDATE loyalty.cards SET balance = balance + 10 WHERE id = $1", card_id)
            await conn.execute(
                "INSERT INTO loyalty.card_transactions (chain_id, card_id, at, kind, amount, balance_after) "
                "VALUES ($1, $2, now(), 'manual', 10, 10)",
                chain.id,
                card_id,
            )
        finally:
            await writer.commit()
    seen = await read
    # Before the commit or after it, but the same moment for both.
    assert Decimal(seen["balance"]) == sum((Decimal(t["amount"]) for t in seen["transactions"]), Decimal(0))
    assert (await card(chain, card_id))["balance"] == "10.00"
