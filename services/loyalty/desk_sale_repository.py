"""The SQL of desk sales (`inventory.sale_recorded`): one row per operation, read as the visit rows of
the statistics and histories are (`VisitRow.desk_sale`), for a batch (every chain it touches) or one
chain's request. Every statement matches on chain_id with the keys it is given."""

from __future__ import annotations

import uuid
from collections.abc import Collection

import asyncpg

from services.loyalty.domain.visits import VisitRow, desk_sale
from shared.db import columns

Pair = tuple[str, str]  # (chain_id, an id in that chain)
_COLUMNS = "d.chain_id, d.operation_id, d.location_id, d.client_id, d.sold, d.paid, d.sold_at"


def _row(r: asyncpg.Record) -> VisitRow:
    return desk_sale(str(r["operation_id"]), r["location_id"], r["client_id"], r["sold"], r["paid"], r["sold_at"])


async def rows(
    conn: asyncpg.Connection, clients: Collection[Pair], operations: Collection[Pair] = ()
) -> list[tuple[str, VisitRow]]:
    """Every desk sale of `clients` (across the chain), and those of `operations` (whoever's they are)."""
    chains, ids = columns(set(operations), 2)
    found = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM unnest($1::text[], $2::text[]) AS k(c, cl)
            JOIN desk_sales d ON d.chain_id = k.c AND d.client_id = k.cl
            UNION
            SELECT {_COLUMNS} FROM unnest($3::text[], $4::uuid[]) AS k(c, op)
            JOIN desk_sales d ON d.chain_id = k.c AND d.operation_id = k.op""",
        *columns(set(clients), 2),
        chains,
        [uuid.UUID(i) for i in ids],
    )
    return [(r["chain_id"], _row(r)) for r in found]


async def of_clients(
    conn: asyncpg.Connection, chain_id: str, client_ids: Collection[str], location_id: str | None
) -> list[VisitRow]:
    """The desk sales of `client_ids` in one chain, at `location_id` (None: anywhere)."""
    found = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM desk_sales d WHERE d.chain_id = $1 AND d.client_id = ANY($2::text[])
            AND ($3::text IS NULL OR d.location_id = $3)""",
        chain_id,
        list(client_ids),
        location_id,
    )
    return [_row(r) for r in found]


async def save(conn: asyncpg.Connection, new: list[tuple[str, VisitRow]]) -> None:
    """The batch's new desk sales, in key order; one already stored (another replica's) stays as it is."""
    if not new:
        return
    ordered = sorted(new, key=lambda cr: (cr[0], cr[1].visit_id))
    await conn.execute(
        """INSERT INTO desk_sales (chain_id, operation_id, location_id, client_id, sold, paid, sold_at)
           SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::numeric[], $6::numeric[],
                                $7::timestamptz[])
           ON CONFLICT (chain_id, operation_id) DO NOTHING""",
        *columns(
            ((c, uuid.UUID(r.visit_id), r.location_id, r.client_id, r.sold, r.paid, r.paid_at) for c, r in ordered), 7
        ),
    )
