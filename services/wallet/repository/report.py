"""The reports: gift cards by type and location (sold, used, refunded, expired, outstanding), accounts by client
(balance, credit, what came in and went out)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from shared.paging import Page

GIFT_CARDS = """
WITH sold AS (
    SELECT c.type_id, c.location_id, count(*) AS sold, sum(m.amount) AS sold_value, sum(c.price) AS sold_price
    FROM gift_cards c JOIN gift_card_movements m ON m.gift_card_id = c.id AND m.kind = 'issue'
    WHERE c.chain_id = $1
      AND ($2::timestamptz IS NULL OR c.sold_at >= $2) AND ($3::timestamptz IS NULL OR c.sold_at < $3)
    GROUP BY 1, 2
), moved AS (
    SELECT c.type_id, m.location_id,
           coalesce(-sum(m.amount) FILTER (WHERE m.kind = 'charge'), 0) AS used,
           coalesce(sum(m.amount) FILTER (WHERE m.kind = 'refund'), 0) AS refunded
    FROM gift_card_movements m JOIN gift_cards c ON c.id = m.gift_card_id
    WHERE m.chain_id = $1 AND m.kind IN ('charge', 'refund') AND m.location_id IS NOT NULL
      AND ($2::timestamptz IS NULL OR m.at >= $2) AND ($3::timestamptz IS NULL OR m.at < $3)
    GROUP BY 1, 2
), expired AS (
    SELECT c.type_id, c.location_id, count(*) AS expired, coalesce(-sum(m.amount), 0) AS expired_value
    FROM gift_card_movements m JOIN gift_cards c ON c.id = m.gift_card_id
    WHERE m.chain_id = $1 AND m.kind = 'expire'
      AND ($2::timestamptz IS NULL OR m.at >= $2) AND ($3::timestamptz IS NULL OR m.at < $3)
    GROUP BY 1, 2
), outstanding AS (
    SELECT type_id, location_id, count(*) FILTER (WHERE status = 'active') AS active, sum(balance) AS outstanding
    FROM gift_cards WHERE chain_id = $1 GROUP BY 1, 2
), keys AS (
    SELECT type_id, location_id FROM sold UNION SELECT type_id, location_id FROM moved
    UNION SELECT type_id, location_id FROM expired UNION SELECT type_id, location_id FROM outstanding
)
SELECT k.type_id AS gift_card_type_id, t.name AS type_name, k.location_id,
       coalesce(s.sold, 0) AS sold, coalesce(s.sold_value, 0) AS sold_value, coalesce(s.sold_price, 0) AS sold_price,
       coalesce(m.used, 0) AS used, coalesce(m.refunded, 0) AS refunded,
       coalesce(e.expired, 0) AS expired, coalesce(e.expired_value, 0) AS expired_value,
       coalesce(o.active, 0) AS active, coalesce(o.outstanding, 0) AS outstanding
FROM keys k JOIN gift_card_types t ON t.id = k.type_id
LEFT JOIN sold s USING (type_id, location_id) LEFT JOIN moved m USING (type_id, location_id)
LEFT JOIN expired e USING (type_id, location_id) LEFT JOIN outstanding o USING (type_id, location_id)
WHERE ($4::text IS NULL OR k.location_id = $4) AND ($5::uuid IS NULL OR k.type_id = $5)
  AND ($6::text IS NULL OR (t.name, k.type_id, k.location_id) > ($6, $7::uuid, $8::text))
ORDER BY t.name, k.type_id, k.location_id LIMIT $9
"""

ACCOUNTS = """
SELECT a.client_id, a.balance, a.credit_limit,
       coalesce(sum(m.amount) FILTER (WHERE m.amount > 0), 0) AS money_in,
       coalesce(-sum(m.amount) FILTER (WHERE m.amount < 0), 0) AS money_out
FROM accounts a LEFT JOIN account_movements m ON m.chain_id = a.chain_id AND m.client_id = a.client_id
     AND ($2::timestamptz IS NULL OR m.at >= $2) AND ($3::timestamptz IS NULL OR m.at < $3)
     AND ($4::text IS NULL OR m.location_id = $4)
WHERE a.chain_id = $1 AND ($5::text IS NULL OR a.client_id > $5)
GROUP BY a.client_id, a.balance, a.credit_limit
ORDER BY a.client_id LIMIT $6
"""


class ReportQueries:
    conn: asyncpg.Connection
    chain_id: str

    async def gift_card_report(
        self,
        since: datetime | None,
        until: datetime | None,
        location_id: str | None,
        type_id: uuid.UUID | None,
        page: Page,
    ) -> list[asyncpg.Record]:
        rows = await self.conn.fetch(
            GIFT_CARDS,
            self.chain_id,
            since,
            until,
            location_id,
            type_id,
            *page.after(str, uuid.UUID, str),
            page.fetch,
        )
        return page.cut(rows, lambda r: (r["type_name"], r["gift_card_type_id"], r["location_id"]))

    async def account_report(
        self, since: datetime | None, until: datetime | None, location_id: str | None, page: Page
    ) -> list[asyncpg.Record]:
        (after,) = page.after(str)
        rows = await self.conn.fetch(ACCOUNTS, self.chain_id, since, until, location_id, after, page.fetch)
        return page.cut(rows, lambda r: (r["client_id"],))

    async def account_totals(self) -> asyncpg.Record:
        return await self.conn.fetchrow(
            """SELECT coalesce(sum(balance) FILTER (WHERE balance > 0), 0) AS liability,
                      coalesce(-sum(balance) FILTER (WHERE balance < 0), 0) AS owed
               FROM accounts WHERE chain_id = $1""",
            self.chain_id,
        )
