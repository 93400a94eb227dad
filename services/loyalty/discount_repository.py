"""The SQL of chain discount promotions on paid visits: the promotions a batch's discounts read (those
the visits' lines name, archived ones too, and those of the clients' cards) with their creation order,
how many visits each promotion has discounted on each card, and the discounts the batch applied. Every
statement matches on chain_id with the keys it is given."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg

from services.loyalty.domain import Promotion
from services.loyalty.domain.bonus import DISCOUNT_TYPES
from services.loyalty.rows import promotion_from_row
from shared.db import as_uuid, columns

Pair = tuple[str, str]  # (chain_id, an id in that chain)


@dataclass(frozen=True)
class DiscountUse:
    """A discount_uses row: a promotion's discount on one line of a paid visit."""

    chain_id: str
    visit_id: str
    line: int
    location_id: str
    client_id: str
    promotion_id: str
    card_id: str | None
    percent: Decimal
    amount: Decimal
    refused: str | None  # None: applied (it counts for max_uses)
    used_at: datetime


async def promotions(
    conn: asyncpg.Connection, named: Collection[Pair], card_types: Collection[Pair]
) -> list[tuple[str, Promotion]]:
    """The promotions `named` (whatever their state) and the discount promotions of `card_types`, each
    once, in the order they were made (per chain)."""
    ids = [(c, u) for c, i in set(named) if (u := as_uuid(i)) is not None]
    rows = await conn.fetch(
        """SELECT p.chain_id, p.id, p.spec FROM promotions p WHERE p.id IN (
               SELECT x.id FROM unnest($1::text[], $2::uuid[]) AS k(c, i)
               JOIN promotions x ON x.chain_id = k.c AND x.id = k.i
               UNION SELECT x.id FROM unnest($3::text[], $4::text[]) AS k(c, t)
               JOIN promotions x ON x.chain_id = k.c AND x.spec->'card_type_ids' ? k.t
               WHERE x.spec->>'type' = ANY($5::text[]))
           ORDER BY p.chain_id, p.created_at, p.id""",
        *columns(ids, 2),
        *columns(set(card_types), 2),
        list(DISCOUNT_TYPES),
    )
    return [(r["chain_id"], promotion_from_row(r)) for r in rows]


async def uses(conn: asyncpg.Connection, cards: Collection[Pair]) -> Counter[tuple[str, str, str]]:
    """How many visits each promotion has discounted on each card: (chain, card, promotion) -> visits."""
    if not cards:
        return Counter()
    rows = await conn.fetch(
        """SELECT u.chain_id, u.card_id, u.promotion_id, count(DISTINCT u.visit_id) AS n
           FROM unnest($1::text[], $2::uuid[]) AS k(c, i)
           JOIN discount_uses u ON u.chain_id = k.c AND u.card_id = k.i AND u.refused IS NULL
           GROUP BY u.chain_id, u.card_id, u.promotion_id""",
        *columns(((c, uuid.UUID(i)) for c, i in set(cards)), 2),
    )
    return Counter({(r["chain_id"], str(r["card_id"]), str(r["promotion_id"])): r["n"] for r in rows})


async def save(conn: asyncpg.Connection, new: list[DiscountUse]) -> None:
    """The batch's discounts, in key order; a line stored already (a visit paid again) stays as it is."""
    if not new:
        return
    ordered = sorted(new, key=lambda u: (u.chain_id, u.visit_id, u.line))
    await conn.execute(
        """INSERT INTO discount_uses (chain_id, visit_id, line, location_id, client_id, promotion_id, card_id,
               percent, amount, refused, used_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::uuid[], $7::uuid[],
                                $8::numeric[], $9::numeric[], $10::text[], $11::timestamptz[])
           ON CONFLICT (chain_id, visit_id, line) DO NOTHING""",
        *columns(
            (
                (
                    u.chain_id,
                    u.visit_id,
                    u.line,
                    u.location_id,
                    u.client_id,
                    uuid.UUID(u.promotion_id),
                    uuid.UUID(u.card_id) if u.card_id else None,
                    u.percent,
                    u.amount,
                    u.refused,
                    u.used_at,
                )
                for u in ordered
            ),
            11,
        ),
    )
