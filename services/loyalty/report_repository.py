"""The SQL of the loyalty transactions report: a chain's card transactions (each with its card, client
and promotion) by time, filtered, in keyset pages on (at, id) (index card_transactions_report), and
their totals per kind over the same filter. Every statement is scoped by chain_id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.loyalty.report_schemas import TransactionFilter
from shared.db import as_uuid
from shared.paging import Page

# The filter, as $2..$7 of both statements.
_WHERE = """t.chain_id = $1
    AND ($2::timestamptz IS NULL OR t.at >= $2) AND ($3::timestamptz IS NULL OR t.at < $3)
    AND ($4::text IS NULL OR t.location_id = $4) AND ($5::text IS NULL OR t.kind = $5)
    AND ($6::text IS NULL OR c.id = $7::uuid OR c.number = $6)"""
_FROM = "card_transactions t JOIN cards c ON c.chain_id = t.chain_id AND c.id = t.card_id"


def _args(chain_id: str, f: TransactionFilter) -> list[Any]:
    return [chain_id, f.start, f.end, f.location_id, f.kind, f.card, as_uuid(f.card) if f.card else None]


async def transactions(
    conn: asyncpg.Connection, chain_id: str, f: TransactionFilter, page: Page
) -> list[asyncpg.Record]:
    """The filtered transactions, oldest first (by time, then as recorded), a page of them."""
    rows = await conn.fetch(
        f"""SELECT t.id, t.at, t.kind, t.amount, t.balance_after, t.card_id, c.number AS card_number,
                   c.card_type_id, c.client_id, t.location_id, t.visit_id, t.promotion_id,
                   p.spec->>'name' AS promotion_name, t.reason
            FROM {_FROM} LEFT JOIN promotions p ON p.chain_id = t.chain_id AND p.id = t.promotion_id
            WHERE {_WHERE} AND ($8::timestamptz IS NULL OR (t.at, t.id) > ($8, $9::bigint))
            ORDER BY t.at, t.id LIMIT $10""",
        *_args(chain_id, f),
        *page.after(datetime, int),
        page.fetch,
    )
    return page.cut(rows, lambda r: (r["at"], r["id"]))


async def totals(conn: asyncpg.Connection, chain_id: str, f: TransactionFilter) -> list[asyncpg.Record]:
    """Per kind present: how many, the signed sum, the points added and taken."""
    return await conn.fetch(
        f"""SELECT t.kind, count(*) AS count, sum(t.amount) AS amount,
                   sum(greatest(t.amount, 0)) AS added, -sum(least(t.amount, 0)) AS taken
            FROM {_FROM} WHERE {_WHERE} GROUP BY t.kind""",
        *_args(chain_id, f),
    )
