"""What the time-driven jobs read and mark: chain-scoped queries."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.memberships.domain import Membership
from services.memberships.repository.rows import membership_from_row
from services.memberships.repository.types import Scoped
from shared.db import as_uuid


class JobQueries(Scoped):
    # What each time-driven job looks at: only rows that may be due, so a run stays small however many
    # memberships a chain holds. The domain decides for each row; these only narrow the scan.
    DUE = {  # {as_of}: the job's moment, a query parameter
        "auto_activation": """m.status = 'sold' AND t.spec->>'auto_activation_days' IS NOT NULL
                              AND m.sold_at + make_interval(days => (t.spec->>'auto_activation_days')::int)
                                  <= {as_of}""",
        "expiry": "m.status IN ('sold', 'active', 'frozen') AND m.valid_until <= {as_of}",
        # domain.expiring_soon, less the states told already (their marks, as jobs.expiring_mark writes
        # them): a membership told once is not read again until its state changes.
        "expiring_notices": """m.status IN ('sold', 'active') AND CASE
                                 WHEN coalesce({ending}, false) THEN NOT EXISTS (
                                     SELECT 1 FROM membership_marks k WHERE k.membership_id = m.id
                                       AND k.mark = 'expiring:valid_until:' || {valid_until_text})
                                 ELSE t.spec->>'notify_visits_left' IS NOT NULL
                                     AND {visits_left} BETWEEN 1 AND (t.spec->>'notify_visits_left')::int
                                     AND NOT EXISTS (
                                         SELECT 1 FROM membership_marks k WHERE k.membership_id = m.id
                                           AND k.mark = 'expiring:visits_left:' || {visits_left})
                               END""".format(
            ending="""t.spec->>'notify_days_before_expiry' IS NOT NULL AND m.valid_until > {as_of} AND m.valid_until
                      <= {as_of} + make_interval(days => (t.spec->>'notify_days_before_expiry')::int)""",
            # Python's isoformat() of the UTC time asyncpg reads: microseconds only when there are some.
            valid_until_text="""to_char(m.valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                || CASE to_char(m.valid_until AT TIME ZONE 'UTC', 'US') WHEN '000000' THEN ''
                   ELSE '.' || to_char(m.valid_until AT TIME ZONE 'UTC', 'US') END || '+00:00'""",
            visits_left="(SELECT coalesce(sum(value::int), 0) FROM jsonb_each_text(m.balance))",
        ),
        # Phones stored before they were stored in E.164 (migration 0006's index), less those no number.
        "phones": """m.phone IS NOT NULL AND m.phone !~ '^\\+[1-9][0-9]{{4,14}}$' AND NOT EXISTS (
                         SELECT 1 FROM membership_marks k
                         WHERE k.membership_id = m.id AND k.mark = 'phone:not_a_number')
                     AND {as_of}::timestamptz IS NOT NULL""",  # whenever it runs
        "freezes": """m.status IN ('sold', 'active', 'frozen') AND m.frozen_from IS NOT NULL
                      AND (m.frozen_from <= {as_of}::timestamptz::date AND m.frozen_until > {as_of}::timestamptz::date
                           OR (m.status = 'frozen' AND m.frozen_until <= {as_of}::timestamptz::date))""",
    }
    PAGE = 1000

    async def due(self, job: str, as_of: datetime, after: str | None = None, limit: int = PAGE) -> list[Membership]:
        """A page of a job's candidates in id order (from past `after`, the last id of the page before),
        locked; rows a deduction holds right now are skipped (the next run takes them)."""
        rows = await self.conn.fetch(
            f"""SELECT m.* FROM memberships m JOIN membership_types t ON t.id = m.type_id
                WHERE m.chain_id = $1 AND ({self.DUE[job].format(as_of="$2")}) AND ($3::uuid IS NULL OR m.id > $3)
                ORDER BY m.id LIMIT $4 FOR UPDATE OF m SKIP LOCKED""",
            self.chain_id,
            as_of,
            as_uuid(after) if after else None,
            limit,
        )
        return [membership_from_row(r) for r in rows]

    async def mark_all(self, marks: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Sets each (membership id, mark); answers those set now for the first time."""
        rows = await self.conn.fetch(
            """INSERT INTO membership_marks (chain_id, membership_id, mark)
               SELECT $1, m, k FROM unnest($2::uuid[], $3::text[]) AS t(m, k)
               ON CONFLICT DO NOTHING RETURNING membership_id, mark""",
            self.chain_id,
            [uuid.UUID(m) for m, _ in marks],
            [k for _, k in marks],
        )
        return {(str(r["membership_id"]), r["mark"]) for r in rows}

    async def set_phones(self, phones: list[tuple[str, str]]) -> None:
        """Sets each (membership id, phone)."""
        await self.conn.execute(
            """UPDATE memberships m SET phone = t.phone, updated_at = now()
               FROM unnest($2::uuid[], $3::text[]) AS t(id, phone) WHERE m.chain_id = $1 AND m.id = t.id""",
            self.chain_id,
            [uuid.UUID(m) for m, _ in phones],
            [p for _, p in phones],
        )

    async def mark(self, membership_id: str, mark: str) -> bool:
        """True the first time `mark` is set on the membership."""
        return bool(
            await self.conn.fetchval(
                """INSERT INTO membership_marks (chain_id, membership_id, mark) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING true""",
                self.chain_id,
                uuid.UUID(membership_id),
                mark,
            )
        )


async def chains_with_work(conn: asyncpg.Connection, job: str, as_of: datetime) -> list[str]:
    """The chains a scheduled job has work in, across chains on purpose (the job then runs chain by
    chain, each through a chain-scoped Repository)."""
    rows = await conn.fetch(
        f"""SELECT DISTINCT m.chain_id FROM memberships m JOIN membership_types t ON t.id = m.type_id
            WHERE {JobQueries.DUE[job].format(as_of="$1")}""",
        as_of,
    )
    return [r["chain_id"] for r in rows]
