"""All SQL of the memberships service. Every query is scoped by chain_id."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.memberships.domain import (
    Charge,
    Membership,
    MembershipType,
    Status,
    TypeService,
    Validity,
    VisitRecord,
)
from shared.db import as_uuid
from shared.paging import Page


def type_from_row(row: asyncpg.Record) -> MembershipType:
    spec = row["spec"]
    return MembershipType(
        id=str(row["id"]), chain_id=row["chain_id"], name=row["name"], price=row["price"],
        archived=row["archived"], balance=spec["balance"],
        services=tuple(TypeService(s["service_id"], s.get("category_id"), s.get("visits"))
                       for s in spec["services"]),
        total_visits=spec.get("total_visits"),
        validity=Validity(**spec["validity"]),
        auto_activation_days=spec.get("auto_activation_days"),
        freeze_allowed=spec["freeze"]["allowed"], freeze_max_days=spec["freeze"]["max_days"],
        allow_without_code=spec["allow_without_code"],
        recalculate_service_cost=spec["recalculate_service_cost"], editing=spec["editing"],
        online_sale=spec["online_sale"], location_ids=tuple(spec["location_ids"]),
        notify_days_before_expiry=spec.get("notify_days_before_expiry"),
        notify_visits_left=spec.get("notify_visits_left"),
    )


def spec_of(t: MembershipType) -> dict[str, Any]:
    return {
        "balance": t.balance,
        "services": [asdict(s) for s in t.services],
        "total_visits": t.total_visits,
        "validity": asdict(t.validity),
        "auto_activation_days": t.auto_activation_days,
        "freeze": {"allowed": t.freeze_allowed, "max_days": t.freeze_max_days},
        "allow_without_code": t.allow_without_code,
        "recalculate_service_cost": t.recalculate_service_cost,
        "editing": t.editing,
        "online_sale": t.online_sale,
        "location_ids": list(t.location_ids),
        "notify_days_before_expiry": t.notify_days_before_expiry,
        "notify_visits_left": t.notify_visits_left,
    }


def membership_from_row(row: asyncpg.Record) -> Membership:
    return Membership(
        id=str(row["id"]), chain_id=row["chain_id"], type_id=str(row["type_id"]), code=row["code"],
        client_id=row["client_id"], phone=row["phone"], location_id=row["location_id"],
        status=Status(row["status"]), balance=dict(row["balance"]), price=row["price"],
        sold_at=row["sold_at"], activated_at=row["activated_at"], valid_until=row["valid_until"],
        client_name=row["client_name"], frozen_from=row["frozen_from"], frozen_until=row["frozen_until"],
        freeze_days_used=row["freeze_days_used"],
    )


class Repository:
    def __init__(self, conn: asyncpg.Connection, chain_id: str, batch: dict[Any, Any] | None = None) -> None:
        self.conn = conn
        self.chain_id = chain_id
        # Types read in this transaction; with a consumer's `uow.batch`, shared by the whole batch, so a
        # batch of 500 visits reads each type once. (Consumers never change types; a change made over
        # HTTP meanwhile is seen by the next batch, a fraction of a second later.)
        batch = batch if batch is not None else {}
        self._types: dict[str, MembershipType | None] = batch.setdefault(("types", chain_id), {})
        self._share_locked: set[str] = batch.setdefault(("types-share-locked", chain_id), set())

    # --- types ---

    async def add_type(self, t: MembershipType) -> None:
        await self.conn.execute(
            "INSERT INTO membership_types (id, chain_id, name, price, archived, spec) VALUES ($1,$2,$3,$4,$5,$6)",
            uuid.UUID(t.id), self.chain_id, t.name, t.price, t.archived, spec_of(t),
        )

    async def get_type(self, type_id: str, *, for_sale: bool = False) -> MembershipType | None:
        """`for_sale` takes a share lock: sales go on side by side, but not beside a change of the type
        (whose post-sale rules must see every sale)."""
        if type_id in self._types and (not for_sale or type_id in self._share_locked):
            return self._types[type_id]  # a share lock taken in this transaction holds until it ends
        tid = as_uuid(type_id)
        row = tid and await self.conn.fetchrow(
            "SELECT * FROM membership_types WHERE chain_id = $1 AND id = $2" + (" FOR SHARE" if for_sale else ""),
            self.chain_id, tid,
        )
        if for_sale:
            self._share_locked.add(type_id)
        self._types[type_id] = type_from_row(row) if row else None
        return self._types[type_id]

    async def list_types(self, archived: bool, page: Page) -> list[MembershipType]:
        rows = await self.conn.fetch(
            """SELECT * FROM membership_types WHERE chain_id = $1 AND archived = $2
                 AND ($3::text IS NULL OR (name, id) > ($3, $4::uuid))
               ORDER BY name, id LIMIT $5""",
            self.chain_id, archived, *page.after(str, uuid.UUID), page.fetch,
        )
        return [type_from_row(r) for r in page.cut(rows, lambda r: (r["name"], r["id"]))]

    async def update_type(self, t: MembershipType) -> None:
        self._types.pop(t.id, None)
        await self.conn.execute(
            """UPDATE membership_types SET name = $3, price = $4, archived = $5, spec = $6, updated_at = now()
               WHERE chain_id = $1 AND id = $2""",
            self.chain_id, uuid.UUID(t.id), t.name, t.price, t.archived, spec_of(t),
        )

    async def lock_type(self, type_id: str) -> tuple[MembershipType, bool] | None:
        """The type, locked against a concurrent change or sale, and whether it has been sold."""
        tid = as_uuid(type_id)
        row = tid and await self.conn.fetchrow(
            """SELECT t.*, EXISTS (SELECT 1 FROM memberships m WHERE m.chain_id = $1 AND m.type_id = t.id) AS sold
               FROM membership_types t WHERE t.chain_id = $1 AND t.id = $2 FOR UPDATE OF t""", self.chain_id, tid
        )
        return (type_from_row(row), row["sold"]) if row else None

    async def type_names(self) -> set[str]:
        rows = await self.conn.fetch("SELECT name FROM membership_types WHERE chain_id = $1", self.chain_id)
        return {r["name"] for r in rows}

    async def types_by_id(self, type_ids: set[str]) -> dict[str, MembershipType]:
        rows = await self.conn.fetch(
            "SELECT * FROM membership_types WHERE chain_id = $1 AND id = ANY($2::uuid[])",
            self.chain_id, [uuid.UUID(t) for t in type_ids],
        )
        return {str(r["id"]): type_from_row(r) for r in rows}

    # --- policies ---

    async def policy(self, location_id: str) -> dict[str, Any] | None:
        return await self.conn.fetchval(  # type: ignore[no-any-return]
            "SELECT policy FROM deduction_policies WHERE chain_id = $1 AND location_id = $2",
            self.chain_id, location_id,
        )

    async def put_policy(self, location_id: str, policy: dict[str, Any]) -> None:
        await self.conn.execute(
            """INSERT INTO deduction_policies (chain_id, location_id, policy) VALUES ($1, $2, $3)
               ON CONFLICT (chain_id, location_id) DO UPDATE SET policy = EXCLUDED.policy, updated_at = now()""",
            self.chain_id, location_id, policy,
        )

    # --- memberships ---

    async def client_memberships(self, client_id: str) -> list[Membership]:
        """The client's usable memberships, locked in id order (a fixed order: no deadlocks)."""
        rows = await self.conn.fetch(
            """SELECT * FROM memberships WHERE chain_id = $1 AND client_id = $2
                 AND status IN ('sold', 'active') ORDER BY id FOR UPDATE""",
            self.chain_id, client_id,
        )
        return [membership_from_row(r) for r in rows]

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
            self.chain_id, as_of, as_uuid(after) if after else None, limit,
        )
        return [membership_from_row(r) for r in rows]

    async def mark_all(self, marks: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Sets each (membership id, mark); answers those set now for the first time."""
        rows = await self.conn.fetch(
            """INSERT INTO membership_marks (chain_id, membership_id, mark)
               SELECT $1, m, k FROM unnest($2::uuid[], $3::text[]) AS t(m, k)
               ON CONFLICT DO NOTHING RETURNING membership_id, mark""",
            self.chain_id, [uuid.UUID(m) for m, _ in marks], [k for _, k in marks],
        )
        return {(str(r["membership_id"]), r["mark"]) for r in rows}

    async def mark(self, membership_id: str, mark: str) -> bool:
        """True the first time `mark` is set on the membership."""
        return bool(await self.conn.fetchval(
            """INSERT INTO membership_marks (chain_id, membership_id, mark) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING true""",
            self.chain_id, uuid.UUID(membership_id), mark,
        ))

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
            self.chain_id, start, end, *page.after(str, uuid.UUID), page.fetch,
        )
        return page.cut(rows, lambda r: (r["name"], r["type_id"]))

    async def add_membership(self, m: Membership, sale_id: str, detail: dict[str, Any]) -> bool:
        """Inserts a sold membership and its `sale` history entry in one statement; False (and nothing
        written) when its code is already taken in the chain."""
        inserted = await self.conn.fetchval(
            """WITH sold AS (
                   INSERT INTO memberships (id, chain_id, type_id, code, sale_id, client_id, phone, location_id,
                       status, balance, price, sold_at, activated_at, valid_until, client_name)
                   VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
                   ON CONFLICT DO NOTHING RETURNING id, balance),
               recorded AS (
                   INSERT INTO membership_history (chain_id, membership_id, at, kind, balance, detail)
                   SELECT $2, id, $12, 'sale', balance, $16 FROM sold)
               SELECT count(*) FROM sold""",
            uuid.UUID(m.id), self.chain_id, uuid.UUID(m.type_id), m.code, sale_id, m.client_id, m.phone,
            m.location_id, m.status.value, m.balance, m.price, m.sold_at, m.activated_at, m.valid_until,
            m.client_name, detail,
        )
        return bool(inserted)

    async def sale_issued(self, sale_id: str) -> bool:
        return bool(await self.conn.fetchval(
            "SELECT true FROM memberships WHERE chain_id = $1 AND sale_id = $2", self.chain_id, sale_id
        ))

    async def claim(self, key: str, topic: str) -> bool:
        """Claims an inbox key of this service as its consumer does for a message it applies (so that
        message, when it comes, is a duplicate): True when the key was not there yet. Waits for a
        transaction claiming it right now, so one of the two applies it."""
        return bool(await self.conn.fetchval(
            "INSERT INTO inbox (chain_id, key, topic) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true",
            self.chain_id, key, topic,
        ))

    async def code_taken(self, code: str) -> bool:
        return bool(await self.conn.fetchval(
            "SELECT true FROM memberships WHERE chain_id = $1 AND upper(code) = upper($2)", self.chain_id, code
        ))

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
            self.chain_id, code_or_id,
        )
        return membership_from_row(row) if row else None

    async def find(self, client_id: str | None, phone: str | None, page: Page) -> list[Membership]:
        """The latest sold first."""
        rows = await self.conn.fetch(
            """SELECT * FROM memberships WHERE chain_id = $1
                 AND ($2::text IS NULL OR client_id = $2) AND ($3::text IS NULL OR phone = $3)
                 AND ($4::timestamptz IS NULL OR sold_at < $4 OR (sold_at = $4 AND id > $5::uuid))
               ORDER BY sold_at DESC, id LIMIT $6""",
            self.chain_id, client_id, phone, *page.after(datetime, uuid.UUID), page.fetch,
        )
        return [membership_from_row(r) for r in page.cut(rows, lambda r: (r["sold_at"], r["id"]))]

    _UPDATE = """UPDATE memberships SET status = $3, balance = $4, activated_at = $5, valid_until = $6,
                     frozen_from = $7, frozen_until = $8, freeze_days_used = $9, updated_at = now()
                 WHERE chain_id = $1 AND id = $2"""

    async def save(self, m: Membership, kind: str | None = None, at: datetime | None = None, *,
                   visit_id: str | None = None, service_id: str | None = None, units: int | None = None,
                   service_cost: Decimal | None = None, detail: dict[str, Any] | None = None) -> None:
        """Saves the membership and, with `kind`, the history entry of what happened to it: one statement,
        one round trip (this is on the path of every deduction)."""
        state = (self.chain_id, uuid.UUID(m.id), m.status.value, m.balance, m.activated_at, m.valid_until,
                 m.frozen_from, m.frozen_until, m.freeze_days_used)
        if kind is None:
            await self.conn.execute(self._UPDATE, *state)
            return
        await self.conn.execute(
            f"""WITH saved AS ({self._UPDATE} RETURNING id)
                INSERT INTO membership_history (chain_id, membership_id, at, kind, visit_id, service_id, units,
                    service_cost, balance, detail)
                SELECT $1, id, $10, $11, $12, $13, $14, $15, $4, $16 FROM saved""",
            *state, at, kind, visit_id, service_id, units, service_cost, detail or {},
        )

    # --- visits (one charge per visit) ---

    async def visit(self, visit_id: str, *, paid: bool = False, arrived: bool = False,
                    charging: bool = False) -> VisitRecord:
        """What is known of the visit, this event's facts included (`charging`: it may deduct); the visit's
        row stays locked until the transaction ends, so the events of one visit apply one at a time. The
        charges standing against it are read only where one may ever have been made."""
        row = await self.conn.fetchrow(
            """INSERT INTO visits AS v (chain_id, visit_id, paid, arrived, charged) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (chain_id, visit_id) DO UPDATE SET paid = v.paid OR EXCLUDED.paid,
                   arrived = v.arrived OR EXCLUDED.arrived, charged = v.charged OR EXCLUDED.charged
               RETURNING paid, arrived, charged""",
            self.chain_id, visit_id, paid, arrived, charging,
        )
        charges = await self.standing_charges(visit_id) if row["charged"] else ()
        return VisitRecord(paid=row["paid"], arrived=row["arrived"], charges=charges)

    async def standing_charges(self, visit_id: str) -> tuple[Charge, ...]:
        """The visit's deductions that no reversal gave back, in the order they were made."""
        rows = await self.conn.fetch(
            """SELECT h.id, h.membership_id, h.service_id, h.units, h.detail->>'cause' AS cause, h.at
               FROM membership_history h
               WHERE h.chain_id = $1 AND h.visit_id = $2 AND h.kind = 'deduction'
                 AND NOT EXISTS (SELECT 1 FROM membership_history r
                                 WHERE r.chain_id = $1 AND r.visit_id = $2 AND r.kind = 'reversal'
                                   AND (r.detail->>'reverses')::bigint = h.id)
               ORDER BY h.id""",
            self.chain_id, visit_id,
        )
        return tuple(Charge(r["id"], str(r["membership_id"]), r["service_id"], r["units"], r["cause"] or "paid",
                            r["at"]) for r in rows)

    async def history(self, membership_id: str) -> list[asyncpg.Record]:
        return (await self.histories([membership_id])).get(membership_id, [])

    async def histories(self, membership_ids: list[str]) -> dict[str, list[asyncpg.Record]]:
        """The histories of several memberships in one query, each in the order it happened."""
        rows = await self.conn.fetch(
            """SELECT membership_id, at, kind, visit_id, service_id, units, service_cost, balance, detail
               FROM membership_history WHERE chain_id = $1 AND membership_id = ANY($2::uuid[]) ORDER BY id""",
            self.chain_id, [uuid.UUID(i) for i in membership_ids],
        )
        found: dict[str, list[asyncpg.Record]] = {}
        for r in rows:
            found.setdefault(str(r["membership_id"]), []).append(r)
        return found


async def chains_with_work(conn: asyncpg.Connection, job: str, as_of: datetime) -> list[str]:
    """The chains a scheduled job has work in, across chains on purpose (the job then runs chain by
    chain, each through a chain-scoped Repository)."""
    rows = await conn.fetch(
        f"""SELECT DISTINCT m.chain_id FROM memberships m JOIN membership_types t ON t.id = m.type_id
            WHERE {Repository.DUE[job].format(as_of="$1")}""",
        as_of,
    )
    return [r["chain_id"] for r in rows]
