"""The statements of a consumed batch: each reads or writes one table for the whole batch, whatever its
chains (every row is matched on its (chain_id, ...) pair). Rows a batch changes are locked in a fixed
order (by key), so two replicas applying overlapping batches wait for each other, never deadlock."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.memberships.domain import Charge, Membership, MembershipType
from services.memberships.repository.rows import membership_from_row, type_from_row
from shared.consumer import inbox

ChainKey = tuple[str, str]  # (chain_id, a key within the chain)


def _json(value: Any) -> str:
    return json.dumps(value, default=str)  # as shared.db's jsonb codec writes it


def _pairs(keys: Iterable[ChainKey]) -> tuple[list[str], list[str]]:
    ordered = sorted(set(keys))
    return [c for c, _ in ordered], [k for _, k in ordered]


async def claim_keys(conn: asyncpg.Connection, keys: Iterable[ChainKey], topic: str) -> set[ChainKey]:
    """Claims inbox keys as the consumer does for a message it applies (so that message, when it comes, is a
    duplicate): answers those claimed now (shared.consumer.inbox.claim_keys, which the wallet uses too)."""
    return await inbox.claim_keys(conn, set(keys), topic)


async def policies(conn: asyncpg.Connection, places: Iterable[ChainKey]) -> dict[ChainKey, dict[str, Any]]:
    """The deduction policies of (chain, location)s; a location with none is left out."""
    chains, locations = _pairs(places)
    rows = await conn.fetch(
        """SELECT p.chain_id, p.location_id, p.policy FROM deduction_policies p
           JOIN unnest($1::text[], $2::text[]) AS t(c, l) ON p.chain_id = t.c AND p.location_id = t.l""",
        chains,
        locations,
    )
    return {(r["chain_id"], r["location_id"]): r["policy"] for r in rows}


@dataclass(frozen=True)
class VisitFacts:
    """What one event tells of a visit (`charging`: it may deduct)."""

    chain_id: str
    visit_id: str
    paid: bool = False
    arrived: bool = False
    charging: bool = False


async def upsert_visits(conn: asyncpg.Connection, facts: Sequence[VisitFacts]) -> dict[ChainKey, asyncpg.Record]:
    """What is known of each visit, these events' facts included; the rows stay locked until the transaction
    ends, so the events of one visit apply one at a time."""
    merged: dict[ChainKey, list[bool]] = {}
    for f in facts:
        paid, arrived, charging = merged.setdefault((f.chain_id, f.visit_id), [False, False, False])
        merged[(f.chain_id, f.visit_id)] = [paid or f.paid, arrived or f.arrived, charging or f.charging]
    keys = sorted(merged)
    rows = await conn.fetch(
        """INSERT INTO visits AS v (chain_id, visit_id, paid, arrived, charged)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bool[], $4::bool[], $5::bool[])
           ON CONFLICT (chain_id, visit_id) DO UPDATE SET paid = v.paid OR EXCLUDED.paid,
               arrived = v.arrived OR EXCLUDED.arrived, charged = v.charged OR EXCLUDED.charged
           RETURNING chain_id, visit_id, paid, arrived, charged""",
        [c for c, _ in keys],
        [v for _, v in keys],
        *([merged[k][i] for k in keys] for i in range(3)),
    )
    return {(r["chain_id"], r["visit_id"]): r for r in rows}


async def standing_charges(conn: asyncpg.Connection, visits: Iterable[ChainKey]) -> dict[ChainKey, list[Charge]]:
    """The visits' deductions that no reversal gave back, each visit's in the order they were made."""
    chains, visit_ids = _pairs(visits)
    if not chains:
        return {}
    rows = await conn.fetch(
        """SELECT h.chain_id, h.visit_id, h.id, h.membership_id, h.service_id, h.units,
                  h.detail->>'cause' AS cause, h.at
           FROM membership_history h JOIN unnest($1::text[], $2::text[]) AS t(c, v)
             ON h.chain_id = t.c AND h.visit_id = t.v
           WHERE h.kind = 'deduction'
             AND NOT EXISTS (SELECT 1 FROM membership_history r
                             WHERE r.chain_id = h.chain_id AND r.visit_id = h.visit_id AND r.kind = 'reversal'
                               AND (r.detail->>'reverses')::bigint = h.id)
           ORDER BY h.id""",
        chains,
        visit_ids,
    )
    found: dict[ChainKey, list[Charge]] = {}
    for r in rows:
        found.setdefault((r["chain_id"], r["visit_id"]), []).append(
            Charge(r["id"], str(r["membership_id"]), r["service_id"], r["units"], r["cause"] or "paid", r["at"])
        )
    return found


async def lock_memberships(
    conn: asyncpg.Connection, *, refs: Iterable[ChainKey] = (), clients: Iterable[ChainKey] = ()
) -> list[Membership]:
    """Locks, in id order, the memberships named by `refs` (an id, or a code) and the usable (sold, active)
    ones of `clients`."""
    ref_chains, named = _pairs(refs)
    client_chains, client_ids = _pairs(clients)
    if not ref_chains and not client_chains:
        return []
    ids = [(c, u) for c, r in zip(ref_chains, named, strict=True) if (u := _uuid(r)) is not None]
    rows = await conn.fetch(
        """SELECT m.* FROM memberships m WHERE m.id IN (
               SELECT m1.id FROM memberships m1 JOIN unnest($1::text[], $2::uuid[]) AS t(c, i)
                 ON m1.chain_id = t.c AND m1.id = t.i
               UNION SELECT m2.id FROM memberships m2 JOIN unnest($3::text[], $4::text[]) AS t(c, r)
                 ON m2.chain_id = t.c AND upper(m2.code) = upper(t.r)
               UNION SELECT m3.id FROM memberships m3 JOIN unnest($5::text[], $6::text[]) AS t(c, k)
                 ON m3.chain_id = t.c AND m3.client_id = t.k WHERE m3.status IN ('sold', 'active'))
           ORDER BY m.id FOR UPDATE OF m""",
        [c for c, _ in ids],
        [u for _, u in ids],
        ref_chains,
        named,
        client_chains,
        client_ids,
    )
    return [membership_from_row(r) for r in rows]


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def load_types(conn: asyncpg.Connection, types: Iterable[ChainKey], *, share: bool) -> list[MembershipType]:
    """The types by (chain, id); `share` takes a share lock (in id order): sales go on side by side, but not
    beside a change of the type (whose post-sale rules must see every sale)."""
    chains, type_ids = _pairs(types)
    rows = await conn.fetch(
        """SELECT t.* FROM membership_types t JOIN unnest($1::text[], $2::uuid[]) AS k(c, i)
             ON t.chain_id = k.c AND t.id = k.i ORDER BY t.id"""
        + (" FOR SHARE OF t" if share else ""),
        chains,
        [uuid.UUID(i) for i in type_ids],
    )
    return [type_from_row(r) for r in rows]


async def sales_taken(
    conn: asyncpg.Connection, sales: Iterable[ChainKey], codes: Iterable[ChainKey]
) -> tuple[set[ChainKey], set[ChainKey]]:
    """Of these (chain, sale id)s, those issued already; of these (chain, code)s, those a membership holds
    (codes compare case-insensitively)."""
    sale_chains, sale_ids = _pairs(sales)
    code_chains, given = _pairs(codes)
    rows = await conn.fetch(
        """SELECT 'sale' AS kind, t.c, t.k FROM unnest($1::text[], $2::text[]) AS t(c, k)
           WHERE EXISTS (SELECT 1 FROM memberships m WHERE m.chain_id = t.c AND m.sale_id = t.k)
           UNION ALL
           SELECT 'code', t.c, t.k FROM unnest($3::text[], $4::text[]) AS t(c, k)
           WHERE EXISTS (SELECT 1 FROM memberships m WHERE m.chain_id = t.c AND upper(m.code) = upper(t.k))""",
        sale_chains,
        sale_ids,
        code_chains,
        given,
    )
    return (
        {(r["c"], r["k"]) for r in rows if r["kind"] == "sale"},
        {(r["c"], r["k"]) for r in rows if r["kind"] == "code"},
    )


@dataclass(frozen=True)
class Issued:
    membership: Membership
    sale_id: str
    detail: dict[str, Any]


async def insert_memberships(conn: asyncpg.Connection, issued: Sequence[Issued]) -> int:
    """Inserts sold memberships, each with its `sale` history entry; answers how many were inserted (one
    whose code or sale a concurrent transaction took meanwhile is not)."""
    if not issued:
        return 0
    ms = [i.membership for i in issued]
    return int(
        await conn.fetchval(
            """WITH given AS (
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                                    $7::text[], $8::text[], $9::text[], $10::text[], $11::numeric[],
                                    $12::timestamptz[], $13::timestamptz[], $14::timestamptz[], $15::text[],
                                    $16::text[])
                   WITH ORDINALITY AS g(id, chain_id, type_id, code, sale_id, client_id, phone, location_id,
                                        status, balance, price, sold_at, activated_at, valid_until, client_name,
                                        detail, ord)),
           sold AS (
               INSERT INTO memberships (id, chain_id, type_id, code, sale_id, client_id, phone, location_id,
                   status, balance, price, sold_at, activated_at, valid_until, client_name)
               SELECT id, chain_id, type_id, code, sale_id, client_id, phone, location_id, status, balance::jsonb,
                      price, sold_at, activated_at, valid_until, client_name FROM given ORDER BY ord
               ON CONFLICT DO NOTHING RETURNING id),
           recorded AS (
               INSERT INTO membership_history (chain_id, membership_id, at, kind, balance, detail)
               SELECT g.chain_id, g.id, g.sold_at, 'sale', g.balance::jsonb, g.detail::jsonb
               FROM given g JOIN sold s ON s.id = g.id ORDER BY g.ord)
           SELECT count(*) FROM sold""",
            [uuid.UUID(m.id) for m in ms],
            [m.chain_id for m in ms],
            [uuid.UUID(m.type_id) for m in ms],
            [m.code for m in ms],
            [i.sale_id for i in issued],
            [m.client_id for m in ms],
            [m.phone for m in ms],
            [m.location_id for m in ms],
            [m.status.value for m in ms],
            [_json(m.balance) for m in ms],
            [m.price for m in ms],
            [m.sold_at for m in ms],
            [m.activated_at for m in ms],
            [m.valid_until for m in ms],
            [m.client_name for m in ms],
            [_json(i.detail) for i in issued],
        )
    )


@dataclass(frozen=True)
class Entry:
    """A history entry: what happened to a membership (`balance`: after it)."""

    membership: Membership
    kind: str
    at: datetime
    visit_id: str | None = None
    service_id: str | None = None
    units: int | None = None
    service_cost: Decimal | None = None
    detail: dict[str, Any] | None = None


async def save_memberships(conn: asyncpg.Connection, changed: Sequence[Membership], entries: Sequence[Entry]) -> None:
    """Saves the memberships' states and appends the history entries, in their order: one statement."""
    if not changed:
        return
    hs = [e.membership for e in entries]
    await conn.execute(
        """WITH saved AS (
               UPDATE memberships m SET status = u.status, balance = u.balance::jsonb, activated_at = u.activated_at,
                   valid_until = u.valid_until, frozen_from = u.frozen_from, frozen_until = u.frozen_until,
                   freeze_days_used = u.freeze_days_used, updated_at = now()
               FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],
                           $7::date[], $8::date[], $9::int[])
                   AS u(chain_id, id, status, balance, activated_at, valid_until, frozen_from, frozen_until,
                        freeze_days_used)
               WHERE m.chain_id = u.chain_id AND m.id = u.id)
           INSERT INTO membership_history (chain_id, membership_id, at, kind, visit_id, service_id, units,
               service_cost, balance, detail)
           SELECT chain_id, membership_id, at, kind, visit_id, service_id, units, service_cost, balance::jsonb,
                  detail::jsonb
           FROM unnest($10::text[], $11::uuid[], $12::timestamptz[], $13::text[], $14::text[], $15::text[],
                       $16::int[], $17::numeric[], $18::text[], $19::text[])
               WITH ORDINALITY AS h(chain_id, membership_id, at, kind, visit_id, service_id, units, service_cost,
                                    balance, detail, ord)
           ORDER BY ord""",
        [m.chain_id for m in changed],
        [uuid.UUID(m.id) for m in changed],
        [m.status.value for m in changed],
        [_json(m.balance) for m in changed],
        [m.activated_at for m in changed],
        [m.valid_until for m in changed],
        [m.frozen_from for m in changed],
        [m.frozen_until for m in changed],
        [m.freeze_days_used for m in changed],
        [m.chain_id for m in hs],
        [uuid.UUID(m.id) for m in hs],
        [e.at for e in entries],
        [e.kind for e in entries],
        [e.visit_id for e in entries],
        [e.service_id for e in entries],
        [e.units for e in entries],
        [e.service_cost for e in entries],
        [_json(m.balance) for m in hs],
        [_json(e.detail or {}) for e in entries],
    )
