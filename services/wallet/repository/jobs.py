"""What the expiry jobs read and mark: cards past their end, cards near it (a page at a time)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg

from services.wallet.domain import GiftCard
from services.wallet.repository.cards import CARDS
from services.wallet.repository.rows import card_from_row

PAGE = 500
# When a card with a balance is told its end is near.
EXPIRING_NOTICE = timedelta(days=7)

DUE = {
    "expire": "c.status = 'active' AND c.valid_until <= {at}",
    "expiring": "c.status = 'active' AND c.balance > 0 AND c.valid_until > {at} AND c.valid_until <= {at} + {window}"
    " AND c.expiring_noticed_for IS DISTINCT FROM c.valid_until",
}


def _due(job: str, first: int, as_of: datetime) -> tuple[str, list[object]]:
    """The job's condition with its parameters numbered from `first`, and their values."""
    if job == "expiring":
        return DUE[job].format(at=f"${first}", window=f"${first + 1}::interval"), [as_of, EXPIRING_NOTICE]
    return DUE[job].format(at=f"${first}"), [as_of]


async def chains_with_work(conn: asyncpg.Connection, job: str, as_of: datetime) -> list[str]:
    condition, args = _due(job, 1, as_of)
    rows = await conn.fetch(
        f"SELECT DISTINCT c.chain_id FROM gift_cards c WHERE c.valid_until IS NOT NULL AND {condition}", *args
    )
    return [r["chain_id"] for r in rows]


class JobQueries:
    conn: asyncpg.Connection
    chain_id: str

    async def due_cards(self, job: str, as_of: datetime) -> list[GiftCard]:
        """A page of the chain's cards the job is due for, locked (by id)."""
        condition, args = _due(job, 2, as_of)
        rows = await self.conn.fetch(
            f"{CARDS} WHERE c.chain_id = $1 AND c.valid_until IS NOT NULL AND {condition} "
            f"ORDER BY c.id LIMIT {PAGE} FOR UPDATE OF c",
            self.chain_id,
            *args,
        )
        return [card_from_row(r) for r in rows]

    async def mark_expiring_noticed(self, card: GiftCard) -> None:
        await self.conn.execute(
            "UPDATE gift_cards SET expiring_noticed_for = valid_until WHERE chain_id = $1 AND id = $2",
            self.chain_id,
            uuid.UUID(card.id),
        )
