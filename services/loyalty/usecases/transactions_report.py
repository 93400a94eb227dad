"""The loyalty transactions report across the chain: every change of every card's balance (accruals,
spends, burns, manual accruals and write-offs), filtered by period, location, kind and card, in pages or
as CSV, and its totals per kind."""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from services.loyalty import report_repository
from services.loyalty.report_schemas import KINDS, KindTotal, TransactionFilter, TransactionRow, TransactionTotals
from shared.paging import Page

ZERO = Decimal("0.00")


async def transactions_report(
    conn: asyncpg.Connection, chain_id: str, f: TransactionFilter, page: Page
) -> list[TransactionRow]:
    rows = await report_repository.transactions(conn, chain_id, f, page)
    return [TransactionRow.model_validate(dict(r)) for r in rows]


async def transactions_totals(conn: asyncpg.Connection, chain_id: str, f: TransactionFilter) -> TransactionTotals:
    """Every kind (a kind without transactions: zeros), then all of them together."""
    found = {r["kind"]: r for r in await report_repository.totals(conn, chain_id, f)}
    kinds = [
        KindTotal(
            kind=k, count=found[k]["count"], amount=found[k]["amount"], added=found[k]["added"], taken=found[k]["taken"]
        )
        if k in found
        else KindTotal(kind=k, count=0, amount=ZERO, added=ZERO, taken=ZERO)
        for k in KINDS
    ]
    total = KindTotal(
        kind=None,
        count=sum(k.count for k in kinds),
        amount=sum((k.amount for k in kinds), ZERO),
        added=sum((k.added for k in kinds), ZERO),
        taken=sum((k.taken for k in kinds), ZERO),
    )
    return TransactionTotals(kinds=kinds, total=total)
