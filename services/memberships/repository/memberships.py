"""Memberships and their history: chain-scoped queries."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.memberships.domain import Membership
from services.memberships.repository.rows import membership_from_row
from services.memberships.repository.types import Scoped
from shared.db import as_uuid
from shared.paging import Page


class MembershipQueries(Scoped):
    async def report(self, start: datetime | None, end: datetime | None, page: Page) -> list[asyncpg.Record]:
        """A row per type with sales in [start, end), a page of types at a time."""
        rows = await self.conn.fetch(
            """WITH sold AS (
                   SELECT * FROM memberships WHERE chain_id = $1
                     AND ($2::timestamptz IS NULL OR sold_at >= $2) AND ($3::timestamptz IS NULL OR sold_at < $3)),
               used AS (  -- a reversal gives its deduction's visits back
                   SELECT h.membership_id, sum(CASE h.kind WHEN 'reversal' THEN -h.units ELSE h.units END) AS units
                   FROM membership_history h JOIN sold s ON s.id = h.membership_id
                   WHERE h.kind IN ('deduction', 'reversal') GROUP BY h.membership_id)
               SELECT t.id AS type_id, t.name, count(s.id) AS sold, coalesce(sum(s.price), 0) AS revenue,
                      coalesce(sum(u.units), 0) AS visits_used,
                      coalesce(sum((SELECT sum(value::int) FROM jsonb_each_text(s.balance))), 0) AS visits_remaining,
                      count(*) FILTER (WHERE s.status = 'sold') AS unused,
                      count(*) FILTER (WHERE s.status = 'active') AS active,
                      count(*) FILTER (WHERE s.status = 'frozen') AS frozen,
                      count(*) FILTER (WHERE s.status = 'expired') AS expired,
                      count(*) FILTER (WHERE s.status = 'exhausted') AS exhausted
               FROM membership_types t JOIN sold s ON s.type_id = t.id LEFT JOIN used u ON u.membership_id = s.id
               WHERE t.chain_id = $1 AND ($4::text IS NULL OR (t.name, t.id) > ($4, $5::uuid))
               GROUP BY t.id, t.name ORDER BY t.name, t.id LIMIT $6""",
            self.chain_id,
            start,
            end,
            *page.after(str, uuid.UUID),
            page.fetch,
        )
        return page.cut(rows, lambda r: (r["name"], r["type_id"]))

    async def get(self, code_or_id: str, *, lock: bool = False) -> Membership | None:
        """By id (a UUID) or by code; `lock` takes the row lock that serializes deductions."""
        suffix = " FOR UPDATE" if lock else ""
        mid = as_uuid(code_or_id)
        if mid is not None:
            row = await self.conn.fetchrow(
                "SELECT * FROM memberships WHERE chain_id = $1 AND id = $2" + suffix, self.chain_id, mid
            )
            if row:
                return membership_from_row(row)
        row = await self.conn.fetchrow(
            "SELECT * FROM memberships WHERE chain_id = $1 AND upper(code) = upper($2)" + suffix,
            self.chain_id,
            code_or_id,
        )
        return membership_from_row(row) if row else None

    async def find(self, client_id: str | None, phone: str | None, page: Page) -> list[Membership]:
        """The latest sold first."""
        rows = await self.conn.fetch(
            """SELECT * FROM memberships WHERE chain_id = $1
                 AND ($2::text IS NULL OR client_id = $2) AND ($3::text IS NULL OR phone = $3)
                 AND ($4::timestamptz IS NULL OR sold_at < $4 OR (sold_at = $4 AND id > $5::uuid))
               ORDER BY sold_at DESC, id LIMIT $6""",
            self.chain_id,
            client_id,
            phone,
            *page.after(datetime, uuid.UUID),
            page.fetch,
        )
        return [membership_from_row(r) for r in page.cut(rows, lambda r: (r["sold_at"], r["id"]))]

    _UPDATE = """UPDATE memberships SET status = $3, balance = $4, activated_at = $5, valid_until = $6,
                     frozen_from = $7, frozen_until = $8, freeze_days_used = $9, updated_at = now()
                 WHERE chain_id = $1 AND id = $2"""

    async def save(
        self,
        m: Membership,
        kind: str | None = None,
        at: datetime | None = None,
        *,
        visit_id: str | None = None,
        service_id: str | None = None,
        units: int | None = None,
        service_cost: Decimal | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Saves the membership and, with `kind`, the history entry of what happened to it: one statement,
        one round trip (this is on the path of every deduction)."""
        state = (
            self.chain_id,
            uuid.UUID(m.id),
            m.status.value,
            m.balance,
            m.activated_at,
            m.valid_until,
            m.frozen_from,
            m.frozen_until,
            m.freeze_days_used,
        )
        if kind is None:
            await self.conn.execute(self._UPDATE, *state)
            return
        await self.conn.execute(
            f"""WITH saved AS ({self._UPDATE} RETURNING id)
                INSERT INTO membership_history (chain_id, membership_id, at, kind, visit_id, service_id, units,
                    service_cost, balance, detail)
                SELECT $1, id, $10, $11, $12, $13, $14, $15, $4, $16 FROM saved""",
            *state,
            at,
            kind,
            visit_id,
            service_id,
            units,
            service_cost,
            detail or {},
        )

    async def history(self, membership_id: str) -> list[asyncpg.Record]:
        return (await self.histories([membership_id])).get(membership_id, [])

    async def histories(self, membership_ids: list[str]) -> dict[str, list[asyncpg.Record]]:
        """The histories of several memberships in one query, each in the order it happened."""
        rows = await self.conn.fetch(
            """SELECT membership_id, at, kind, visit_id, service_id, units, service_cost, balance, detail
               FROM membership_history WHERE chain_id = $1 AND membership_id = ANY($2::uuid[]) ORDER BY id""",
            self.chain_id,
            [uuid.UUID(i) for i in membership_ids],
        )
        found: dict[str, list[asyncpg.Record]] = {}
        for r in rows:
            found.setdefault(str(r["membership_id"]), []).append(r)
        return found
