"""The SQL of the loyalty service's requests and jobs (the visit batches' is in batch_repository.py,
which this one reuses where a statement is the same). Every query is scoped by chain_id (the few that
look across chains, for the scheduled jobs and the background recalculation, only find which chains
have work)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.loyalty import batch_repository as batch
from services.loyalty import desk_sale_repository as desks
from services.loyalty.card_repository import CardRepository
from services.loyalty.domain import LoyaltyState, Program, Stats
from services.loyalty.domain.visits import stats_of
from services.loyalty.rows import (
    STATE_COLUMNS,
    VISIT_COLUMNS,
    program_from_spec,
    state_from_row,
    visit_from_row,
)

# --- across chains: which chains have work (jobs for every chain, the background recalculation) ---


async def chains_with_programs(conn: asyncpg.Connection) -> list[str]:
    return [r["chain_id"] for r in await conn.fetch("SELECT DISTINCT chain_id FROM programs")]


async def chains_with_lots_due(conn: asyncpg.Connection, as_of: datetime) -> list[str]:
    rows = await conn.fetch(
        """SELECT DISTINCT chain_id FROM bonus_lots
           WHERE remaining > 0 AND (burns_at <= $1 OR (notice_at <= $1 AND noticed_at IS NULL))""",
        as_of,
    )
    return [r["chain_id"] for r in rows]


async def next_running_recalc(conn: asyncpg.Connection) -> asyncpg.Record | None:
    """The oldest running recalculation nobody else is working on, locked for this transaction."""
    return await conn.fetchrow(
        """SELECT * FROM program_recalcs WHERE status = 'running' ORDER BY id
           FOR UPDATE SKIP LOCKED LIMIT 1"""
    )


class Repository(CardRepository):
    """The location program's SQL (visits, statistics, the program, the clients' states, recalculations);
    the cards' and points' is inherited from CardRepository (card_repository.py)."""

    # --- visits and statistics -------------------------------------------------------------

    async def remember_client(self, client_id: str, phone: str | None, name: str | None) -> None:
        await self.conn.execute(
            """INSERT INTO clients (chain_id, client_id, phone, name) VALUES ($1,$2,$3,$4)
               ON CONFLICT (chain_id, client_id) DO UPDATE
               SET phone = coalesce(EXCLUDED.phone, clients.phone), name = coalesce(EXCLUDED.name, clients.name)""",
            self.chain_id,
            client_id,
            phone,
            name,
        )

    async def clients(self, client_ids: list[str]) -> dict[str, asyncpg.Record]:
        rows = await self.conn.fetch(
            "SELECT client_id, phone, name FROM clients WHERE chain_id = $1 AND client_id = ANY($2::text[])",
            self.chain_id,
            client_ids,
        )
        return {r["client_id"]: r for r in rows}

    async def stats(self, client_id: str, location_id: str | None) -> Stats:
        rows = await self.conn.fetch(
            f"""SELECT {VISIT_COLUMNS} FROM visits WHERE chain_id = $1 AND client_id = $2
                AND ($3::text IS NULL OR location_id = $3)""",
            self.chain_id,
            client_id,
            location_id,
        )
        sales = await desks.of_clients(self.conn, self.chain_id, [client_id], location_id)
        return stats_of([*(visit_from_row(r) for r in rows), *sales])

    async def location_stats(self, location_id: str, client_ids: list[str]) -> dict[str, Stats]:
        rows = await self.conn.fetch(
            f"""SELECT {VISIT_COLUMNS} FROM visits
                WHERE chain_id = $1 AND location_id = $2 AND client_id = ANY($3::text[])""",
            self.chain_id,
            location_id,
            client_ids,
        )
        visits = [visit_from_row(r) for r in rows] + await desks.of_clients(
            self.conn, self.chain_id, client_ids, location_id
        )
        return {c: stats_of(v for v in visits if v.client_id == c) for c in {v.client_id for v in visits}}

    async def location_clients_page(self, location_id: str, after: str, limit: int) -> list[str]:
        rows = await self.conn.fetch(
            """(SELECT DISTINCT client_id FROM visits WHERE chain_id = $1 AND location_id = $2 AND client_id > $3
                ORDER BY client_id LIMIT $4)
               UNION  -- a client who only bought at the desk is the location's client too
               (SELECT DISTINCT client_id FROM desk_sales WHERE chain_id = $1 AND location_id = $2 AND client_id > $3
                ORDER BY client_id LIMIT $4)
               ORDER BY client_id LIMIT $4""",
            self.chain_id,
            location_id,
            after,
            limit,
        )
        return [r["client_id"] for r in rows]

    async def inactive_clients_page(
        self, location_id: str, periods: list[int], as_of: datetime, after: str, limit: int
    ) -> list[str]:
        """Clients of the location who, by `as_of`, have been away one of `periods` (days) since a moment
        after their state was last calculated: the only ones the passing of time can change."""
        rows = await self.conn.fetch(
            """WITH last AS (
                   SELECT client_id, coalesce(max(coalesce(scheduled_at, status_at)) FILTER (WHERE status = 'arrived'),
                                              max(paid_at)) AS at
                   FROM visits WHERE chain_id = $1 AND location_id = $2 AND client_id > $3 GROUP BY client_id)
               SELECT last.client_id FROM last
               LEFT JOIN client_loyalty l ON l.chain_id = $1 AND l.location_id = $2 AND l.client_id = last.client_id
               WHERE EXISTS (SELECT 1 FROM unnest($4::int[]) AS d(days),
                                  LATERAL (SELECT last.at + make_interval(days => d.days) AS crossed) AS c
                             WHERE c.crossed <= $5 AND (l.calculated_at IS NULL OR l.calculated_at < c.crossed))
               ORDER BY last.client_id LIMIT $6""",
            self.chain_id,
            location_id,
            after,
            periods,
            as_of,
            limit,
        )
        return [r["client_id"] for r in rows]

    # --- the location program and the clients' state ----------------------------------------

    async def save_program(self, location_id: str, spec: dict[str, Any]) -> None:
        """Waits for the batches applying visits at the location (batch_repository.LOCATION_LOCK)."""
        lock = batch.LOCATION_LOCK.format(c="$1::text", l="$2::text")
        await self.conn.execute(f"SELECT pg_advisory_xact_lock({lock})", self.chain_id, location_id)
        await self.conn.execute(
            """INSERT INTO programs (chain_id, location_id, spec) VALUES ($1,$2,$3)
               ON CONFLICT (chain_id, location_id) DO UPDATE SET spec = EXCLUDED.spec, updated_at = now()""",
            self.chain_id,
            location_id,
            spec,
        )

    async def program_spec(self, location_id: str) -> dict[str, Any] | None:
        return await self.conn.fetchval(
            "SELECT spec FROM programs WHERE chain_id = $1 AND location_id = $2", self.chain_id, location_id
        )

    async def program(self, location_id: str) -> Program | None:
        spec = await self.program_spec(location_id)
        return program_from_spec(spec) if spec is not None else None

    async def programs(self) -> dict[str, Program]:
        rows = await self.conn.fetch("SELECT location_id, spec FROM programs WHERE chain_id = $1", self.chain_id)
        return {r["location_id"]: program_from_spec(r["spec"]) for r in rows}

    async def lock_states(self, location_id: str, client_ids: list[str], as_of: datetime) -> dict[str, LoyaltyState]:
        """The clients' current state, their rows locked (created when missing) in client order."""
        states = await batch.lock_states(self.conn, [(self.chain_id, location_id, c) for c in client_ids], as_of)
        return {client_id: state for (_, _, client_id), state in states.items()}

    async def save_states(self, location_id: str, states: dict[str, LoyaltyState]) -> None:
        await batch.save_states(self.conn, {(self.chain_id, location_id, c): s for c, s in states.items()})

    async def state(self, location_id: str, client_id: str) -> LoyaltyState | None:
        r = await self.conn.fetchrow(
            f"""SELECT {STATE_COLUMNS} FROM client_loyalty
               WHERE chain_id = $1 AND location_id = $2 AND client_id = $3""",
            self.chain_id,
            location_id,
            client_id,
        )
        return state_from_row(r) if r else None

    # --- background recalculations -----------------------------------------------------------

    async def start_recalc(self, location_id: str) -> int:
        await self.conn.execute(
            """UPDATE program_recalcs SET status = 'superseded', finished_at = now()
               WHERE chain_id = $1 AND location_id = $2 AND status = 'running'""",
            self.chain_id,
            location_id,
        )
        return await self.conn.fetchval(
            "INSERT INTO program_recalcs (chain_id, location_id) VALUES ($1,$2) RETURNING id",
            self.chain_id,
            location_id,
        )

    async def advance_recalc(self, recalc_id: int, cursor: str, clients: int, changed: int, done: bool) -> None:
        await self.conn.execute(
            """UPDATE program_recalcs SET cursor = $3, clients_done = clients_done + $4, changed = changed + $5,
                   status = CASE WHEN $6 THEN 'done' ELSE status END,
                   finished_at = CASE WHEN $6 THEN now() ELSE finished_at END
               WHERE chain_id = $1 AND id = $2""",
            self.chain_id,
            recalc_id,
            cursor,
            clients,
            changed,
            done,
        )

    async def last_recalc(self, location_id: str) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            """SELECT status, clients_done, changed, started_at, finished_at FROM program_recalcs
               WHERE chain_id = $1 AND location_id = $2 ORDER BY id DESC LIMIT 1""",
            self.chain_id,
            location_id,
        )
