"""The report of memberships sold: one row per membership, chain-scoped, by keyset (the latest sold first,
read from the memberships_page index), each with what its history says it used."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.memberships.repository.types import Scoped
from shared.paging import Page


@dataclass(frozen=True)
class SoldFilter:
    start: datetime | None = None  # sold at or after
    end: datetime | None = None  # sold before
    location_id: str | None = None  # the place of sale
    type_id: uuid.UUID | None = None
    status: str | None = None


class ReportQueries(Scoped):
    async def sold(self, f: SoldFilter, page: Page) -> list[asyncpg.Record]:
        """A page of the memberships sold that `f` lets through, the latest first, each with its type's name
        and price and its standing deductions (a reversal gives its deduction back): their visits and the
        sum of their service costs (null where none had one)."""
        rows = await self.conn.fetch(
            """SELECT m.*, t.name AS type_name, t.price AS cost, coalesce(u.units, 0) AS visits_used,
                      u.debited
               FROM memberships m JOIN membership_types t ON t.id = m.type_id
               LEFT JOIN LATERAL (
                   SELECT sum(h.units) AS units, sum(h.service_cost) AS debited FROM membership_history h
                   WHERE h.membership_id = m.id AND h.kind = 'deduction' AND NOT EXISTS (
                       SELECT 1 FROM membership_history r WHERE r.membership_id = m.id AND r.kind = 'reversal'
                         AND (r.detail->>'reverses')::bigint = h.id)) u ON true
               WHERE m.chain_id = $1 AND t.chain_id = $1
                 AND ($2::timestamptz IS NULL OR m.sold_at >= $2) AND ($3::timestamptz IS NULL OR m.sold_at < $3)
                 AND ($4::text IS NULL OR m.location_id = $4) AND ($5::uuid IS NULL OR m.type_id = $5)
                 AND ($6::text IS NULL OR m.status = $6)
                 AND ($7::timestamptz IS NULL OR m.sold_at < $7 OR (m.sold_at = $7 AND m.id > $8::uuid))
               ORDER BY m.sold_at DESC, m.id LIMIT $9""",
            self.chain_id,
            f.start,
            f.end,
            f.location_id,
            f.type_id,
            f.status,
            *page.after(datetime, uuid.UUID),
            page.fetch,
        )
        return page.cut(rows, lambda r: (r["sold_at"], r["id"]))
