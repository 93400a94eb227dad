"""The SQL of the association of promotions and card types, as the card type side reads and writes it.
The association is stored once, in each promotion's `card_type_ids` (its spec): a card type's
promotions are the promotions that list it. Every statement is scoped by chain_id."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

import asyncpg

from services.loyalty.domain.promotion_links import Linked

# The advisory lock (this id, the chain's hash) every change of the association takes first: a card type's
# promotions, a promotion made or changed. One at a time per chain, each reading what the one before
# wrote (no change lost, no deadlock between the two sides); they are a marketer's clicks, never a load.
_CATALOG_LOCK = 0x6C79  # "ly"


async def lock_catalog(conn: asyncpg.Connection, chain_id: str) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _CATALOG_LOCK, chain_id)


async def linked(
    conn: asyncpg.Connection, chain_id: str, card_type_id: str, wanted: Sequence[str]
) -> dict[str, Linked]:
    """The chain's promotions among `wanted` and those that list the card type, in the order they were made."""
    rows = await conn.fetch(
        """SELECT id, spec->'card_type_ids' AS card_type_ids, coalesce((spec->>'archived')::boolean, false) AS archived
           FROM promotions WHERE chain_id = $1 AND (spec->'card_type_ids' ? $2 OR id = ANY($3::uuid[]))
           ORDER BY created_at, id""",
        chain_id,
        card_type_id,
        [uuid.UUID(p) for p in wanted],
    )
    return {str(r["id"]): Linked(str(r["id"]), tuple(r["card_type_ids"] or ()), r["archived"]) for r in rows}


async def relink(
    conn: asyncpg.Connection, chain_id: str, card_type_id: str, attach: Sequence[str], detach: Sequence[str]
) -> None:
    """Adds the card type to the end of `attach`'s card_type_ids and takes it out of `detach`'s."""
    if attach:
        await conn.execute(
            """UPDATE promotions
               SET spec = jsonb_set(spec, '{card_type_ids}', (spec->'card_type_ids') || to_jsonb($2::text))
               WHERE chain_id = $1 AND id = ANY($3::uuid[])""",
            chain_id,
            card_type_id,
            [uuid.UUID(p) for p in attach],
        )
    if detach:
        await conn.execute(
            """UPDATE promotions
               SET spec = jsonb_set(spec, '{card_type_ids}', (spec->'card_type_ids') - $2::text)
               WHERE chain_id = $1 AND id = ANY($3::uuid[])""",
            chain_id,
            card_type_id,
            [uuid.UUID(p) for p in detach],
        )


async def promotion_ids(conn: asyncpg.Connection, chain_id: str, card_type_ids: Sequence[str]) -> dict[str, list[str]]:
    """Each card type's promotions (those that list it), in the order they were made."""
    rows = await conn.fetch(
        """SELECT t.id AS card_type_id, p.id FROM unnest($2::text[]) AS t(id)
           JOIN promotions p ON p.chain_id = $1 AND p.spec->'card_type_ids' ? t.id
           ORDER BY p.created_at, p.id""",
        chain_id,
        list(card_type_ids),
    )
    found: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        found[r["card_type_id"]].append(str(r["id"]))
    return found
