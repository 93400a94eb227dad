"""Membership types and the locations' deduction policies: chain-scoped queries."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from services.memberships.domain import MembershipType
from services.memberships.repository.rows import spec_of, type_from_row
from shared.db import as_uuid
from shared.paging import Page


def type_cache(batch: dict[Any, Any], chain_id: str) -> tuple[dict[str, MembershipType | None], set[str]]:
    """The types read in this transaction (None: no such type), and those read under a share lock. With a
    consumer's `uow.batch`, shared by the whole batch, so a batch of 500 visits reads each type once.
    (Consumers never change types; a change made over HTTP meanwhile is seen by the next batch, a fraction
    of a second later.)"""
    return batch.setdefault(("types", chain_id), {}), batch.setdefault(("types-share-locked", chain_id), set())


class Scoped:
    def __init__(self, conn: asyncpg.Connection, chain_id: str, batch: dict[Any, Any] | None = None) -> None:
        self.conn = conn
        self.chain_id = chain_id
        self._types, self._share_locked = type_cache(batch if batch is not None else {}, chain_id)


class TypeQueries(Scoped):
    async def add_type(self, t: MembershipType) -> None:
        await self.conn.execute(
            "INSERT INTO membership_types (id, chain_id, name, price, archived, spec) VALUES ($1,$2,$3,$4,$5,$6)",
            uuid.UUID(t.id),
            self.chain_id,
            t.name,
            t.price,
            t.archived,
            spec_of(t),
        )

    async def get_type(self, type_id: str, *, for_sale: bool = False) -> MembershipType | None:
        """`for_sale` takes a share lock: sales go on side by side, but not beside a change of the type
        (whose post-sale rules must see every sale)."""
        if type_id in self._types and (not for_sale or type_id in self._share_locked):
            return self._types[type_id]  # a share lock taken in this transaction holds until it ends
        tid = as_uuid(type_id)
        row = tid and await self.conn.fetchrow(
            "SELECT * FROM membership_types WHERE chain_id = $1 AND id = $2" + (" FOR SHARE" if for_sale else ""),
            self.chain_id,
            tid,
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
            self.chain_id,
            archived,
            *page.after(str, uuid.UUID),
            page.fetch,
        )
        return [type_from_row(r) for r in page.cut(rows, lambda r: (r["name"], r["id"]))]

    async def update_type(self, t: MembershipType) -> None:
        self._types.pop(t.id, None)
        await self.conn.execute(
            """UPDATE membership_types SET name = $3, price = $4, archived = $5, spec = $6, updated_at = now()
               WHERE chain_id = $1 AND id = $2""",
            self.chain_id,
            uuid.UUID(t.id),
            t.name,
            t.price,
            t.archived,
            spec_of(t),
        )

    async def lock_type(self, type_id: str) -> tuple[MembershipType, bool] | None:
        """The type, locked against a concurrent change or sale, and whether it has been sold."""
        tid = as_uuid(type_id)
        row = tid and await self.conn.fetchrow(
            """SELECT t.*, EXISTS (SELECT 1 FROM memberships m WHERE m.chain_id = $1 AND m.type_id = t.id) AS sold
               FROM membership_types t WHERE t.chain_id = $1 AND t.id = $2 FOR UPDATE OF t""",
            self.chain_id,
            tid,
        )
        return (type_from_row(row), row["sold"]) if row else None

    async def type_names(self) -> set[str]:
        rows = await self.conn.fetch("SELECT name FROM membership_types WHERE chain_id = $1", self.chain_id)
        return {r["name"] for r in rows}

    async def types_by_id(self, type_ids: set[str]) -> dict[str, MembershipType]:
        rows = await self.conn.fetch(
            "SELECT * FROM membership_types WHERE chain_id = $1 AND id = ANY($2::uuid[])",
            self.chain_id,
            [uuid.UUID(t) for t in type_ids],
        )
        return {str(r["id"]): type_from_row(r) for r in rows}

    # --- policies ---

    async def policy(self, location_id: str) -> dict[str, Any] | None:
        return await self.conn.fetchval(
            "SELECT policy FROM deduction_policies WHERE chain_id = $1 AND location_id = $2",
            self.chain_id,
            location_id,
        )

    async def put_policy(self, location_id: str, policy: dict[str, Any]) -> None:
        await self.conn.execute(
            """INSERT INTO deduction_policies (chain_id, location_id, policy) VALUES ($1, $2, $3)
               ON CONFLICT (chain_id, location_id) DO UPDATE SET policy = EXCLUDED.policy, updated_at = now()""",
            self.chain_id,
            location_id,
            policy,
        )
