"""The SQL of a card import (usecases/import_cards.py): what the import is compared with, in three
statements, and the new cards, their clients and opening balances written in four at most, whatever the
number of rows."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.loyalty.domain.card_import import ImportedCard, IssuedCard


async def card_types(conn: asyncpg.Connection, chain_id: str, ids: set[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT id FROM card_types WHERE chain_id = $1 AND id = ANY($2::uuid[])", chain_id, [uuid.UUID(i) for i in ids]
    )
    return {str(r["id"]) for r in rows}


async def issued(conn: asyncpg.Connection, chain_id: str, numbers: list[str]) -> dict[str, IssuedCard]:
    rows = await conn.fetch(
        "SELECT id, number, card_type_id, client_id FROM cards WHERE chain_id = $1 AND number = ANY($2::text[])",
        chain_id,
        numbers,
    )
    return {r["number"]: IssuedCard(str(r["id"]), str(r["card_type_id"]), r["client_id"]) for r in rows}


async def cards_per_client(conn: asyncpg.Connection, chain_id: str, client_ids: set[str]) -> dict[str, int]:
    rows = await conn.fetch(
        """SELECT client_id, count(*) AS n FROM cards WHERE chain_id = $1 AND client_id = ANY($2::text[])
           GROUP BY client_id""",
        chain_id,
        sorted(client_ids),
    )
    return {r["client_id"]: r["n"] for r in rows}


async def issue(
    conn: asyncpg.Connection, chain_id: str, cards: list[ImportedCard], at: datetime
) -> dict[str, str] | None:
    """Issues `cards` with their opening balances; answers their ids by number, or None when another
    transaction issued one of the numbers meanwhile (the caller refuses the import, rolling it back)."""
    if not cards:
        return {}
    ids = [uuid.uuid4() for _ in cards]
    rows = await conn.fetch(
        """INSERT INTO cards (id, chain_id, card_type_id, client_id, phone, number, balance, issued_at)
           SELECT id, $1, type, client, phone, number, balance, least(coalesce(issued, $8), $8)
           FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::numeric[],
                       $9::timestamptz[]) AS t(id, type, client, phone, number, balance, issued)
           ON CONFLICT (chain_id, number) DO NOTHING RETURNING id, number""",
        chain_id,
        ids,
        [uuid.UUID(c.card_type_id) for c in cards],
        [c.client_id for c in cards],
        [c.phone for c in cards],
        [c.number for c in cards],
        [c.balance for c in cards],
        at,
        [c.issued_at for c in cards],
    )
    if len(rows) < len(cards):
        return None
    # The clients the cards name (their phones kept for notices), one row each: the last phone given wins.
    phones: dict[str, str | None] = {}
    for c in cards:
        phones[c.client_id] = c.phone or phones.get(c.client_id)
    await conn.execute(
        """INSERT INTO clients (chain_id, client_id, phone)
           SELECT $1, client, phone FROM unnest($2::text[], $3::text[]) AS t(client, phone)
           ON CONFLICT (chain_id, client_id) DO UPDATE SET phone = coalesce(EXCLUDED.phone, clients.phone)""",
        chain_id,
        list(phones),
        list(phones.values()),
    )
    opening = [(card_id, c.balance) for card_id, c in zip(ids, cards, strict=True) if c.balance > 0]
    if opening:
        await conn.execute(
            """INSERT INTO bonus_lots (chain_id, card_id, accrued_at, amount, remaining)
               SELECT $1, card, $3, amount, amount FROM unnest($2::uuid[], $4::numeric[]) AS t(card, amount)""",
            chain_id,
            [i for i, _ in opening],
            at,
            [b for _, b in opening],
        )
        await conn.execute(
            """INSERT INTO card_transactions (chain_id, card_id, at, kind, amount, balance_after, reason)
               SELECT $1, card, $3, 'manual', amount, amount, 'import'
               FROM unnest($2::uuid[], $4::numeric[]) AS t(card, amount)""",
            chain_id,
            [i for i, _ in opening],
            at,
            [b for _, b in opening],
        )
    return {r["number"]: str(r["id"]) for r in rows}
