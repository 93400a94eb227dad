"""All SQL of the loyalty service. Every query is scoped by chain_id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg


@dataclass(frozen=True)
class ClientStats:
    sold: Decimal
    paid: Decimal
    visits: int
    last_visit_at: datetime | None


class Repository:
    def __init__(self, conn: asyncpg.Connection, chain_id: str) -> None:
        self.conn = conn
        self.chain_id = chain_id

    async def record_payment(self, visit_id: str, location_id: str, client_id: str, sold: Decimal,
                             paid: Decimal, at: datetime) -> None:
        await self.conn.execute(
            """INSERT INTO visits (chain_id, visit_id, location_id, client_id, sold, paid, paid_at)
               VALUES ($1,$2,$3,$4,$5,$6,$7)
               ON CONFLICT (chain_id, visit_id) DO UPDATE
               SET sold = EXCLUDED.sold, paid = EXCLUDED.paid, paid_at = EXCLUDED.paid_at""",
            self.chain_id, visit_id, location_id, client_id, sold, paid, at,
        )

    async def record_status(self, visit_id: str, location_id: str, client_id: str, status: str,
                            at: datetime, scheduled_at: datetime) -> None:
        # A status reported later than the one we hold replaces it; an older one arriving late does not.
        await self.conn.execute(
            """INSERT INTO visits (chain_id, visit_id, location_id, client_id, status, status_at, scheduled_at)
               VALUES ($1,$2,$3,$4,$5,$6,$7)
               ON CONFLICT (chain_id, visit_id) DO UPDATE
               SET status = EXCLUDED.status, status_at = EXCLUDED.status_at,
                   scheduled_at = EXCLUDED.scheduled_at
               WHERE visits.status_at IS NULL OR visits.status_at <= EXCLUDED.status_at""",
            self.chain_id, visit_id, location_id, client_id, status, at, scheduled_at,
        )

    async def stats(self, client_id: str, location_id: str | None) -> ClientStats:
        row = await self.conn.fetchrow(
            """SELECT coalesce(sum(sold), 0) AS sold, coalesce(sum(paid), 0) AS paid,
                      count(*) FILTER (WHERE status = 'arrived') AS visits,
                      max(coalesce(scheduled_at, status_at)) FILTER (WHERE status = 'arrived') AS last_visit_at
               FROM visits WHERE chain_id = $1 AND client_id = $2
                 AND ($3::text IS NULL OR location_id = $3)""",
            self.chain_id, client_id, location_id,
        )
        return ClientStats(row["sold"], row["paid"], row["visits"], row["last_visit_at"])
