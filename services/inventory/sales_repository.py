"""The SQL of membership and gift card units sold and of the codes in use in each chain, per kind
(`domain.MEMBERSHIP`, `domain.GIFT_CARD`: a namespace each) (batch_repository.py's sibling: every row named by
its chain_id with its key, so no statement reaches past the chains it names)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.inventory.membership_rules import Holder
from shared.db import columns, hold_keys

# (chain, kind, code as given, sale id): a unit's code.
CodeClaim = tuple[str, str, str, str]
# (chain, kind, code as given): a code of a kind in a chain.
CodeRef = tuple[str, str, str]
# (kind, chain, sale id, operation, line, unit, amount, refused reason or None, refused at or None): a unit sold.
SaleRow = tuple[str, str, str, uuid.UUID, int, int, Decimal, str | None, datetime | None]


class SalesRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    # --- codes in use ---

    async def claim_codes(self, claims: Iterable[CodeClaim]) -> dict[CodeRef, Holder]:
        """Claims each code for its sale where no sale of its chain holds it (the first claim of a code in
        the order given wins); answers who holds each code now, by (chain, kind, code as given). Rows are
        inserted in key order: two transactions claiming the same codes wait for each other, never
        deadlock; one that claimed a code first is waited for, then seen holding it."""
        claims = list(claims)
        if not claims:
            return {}
        await self.conn.execute(
            """INSERT INTO membership_codes (chain_id, kind, code_key, sale_id)
               SELECT DISTINCT ON (c, kind, upper(k)) c, kind, upper(k), s
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(c, kind, k, s, n)
               ORDER BY c, kind, upper(k), n
               ON CONFLICT (chain_id, kind, code_key) DO NOTHING""",
            *columns(claims, 4),
        )
        return await self.holders((c, kind, k) for c, kind, k, _ in claims)

    async def holders(self, codes: Iterable[CodeRef]) -> dict[CodeRef, Holder]:
        """Who holds these (chain, kind, code as given), where anyone does."""
        codes = set(codes)
        if not codes:
            return {}
        rows = await self.conn.fetch(
            """SELECT t.c, t.kind, t.k, m.sale_id, m.issued
               FROM unnest($1::text[], $2::text[], $3::text[]) AS t(c, kind, k)
               JOIN membership_codes m ON m.chain_id = t.c AND m.kind = t.kind AND m.code_key = upper(t.k)""",
            *columns(codes, 3),
        )
        return {(r["c"], r["kind"], r["k"]): Holder(r["sale_id"], r["issued"]) for r in rows}

    async def codes_issued(self, issued: Iterable[CodeClaim]) -> None:
        """Codes of issued memberships (`membership.issued`) and gift cards (`gift_card.issued`), whoever sold
        them: held by their sale for good (the issuing service never gives a code twice), whichever sale
        claimed it before."""
        issued = list(issued)
        if not issued:
            return
        await self.conn.execute(
            """INSERT INTO membership_codes AS m (chain_id, kind, code_key, sale_id, issued)
               SELECT DISTINCT ON (c, kind, upper(k)) c, kind, upper(k), s, true
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(c, kind, k, s, n)
               ORDER BY c, kind, upper(k), n
               ON CONFLICT (chain_id, kind, code_key) DO UPDATE SET sale_id = EXCLUDED.sale_id, issued = true
               WHERE m.sale_id <> EXCLUDED.sale_id OR NOT m.issued""",
            *columns(issued, 4),
        )

    async def release_code(self, chain_id: str, kind: str, sale_id: str) -> None:
        """A refused sale holds no code (unless its unit was issued: then it was not refused)."""
        await self.conn.execute(
            "DELETE FROM membership_codes WHERE chain_id = $1 AND kind = $2 AND sale_id = $3 AND NOT issued",
            chain_id,
            kind,
            sale_id,
        )

    # --- units sold ---

    async def add_sales(self, rows: list[SaleRow]) -> None:
        """The units of recorded operations; a sale id recorded before (a visit replayed past the inbox)
        keeps its first row."""
        if not rows:
            return
        await self.conn.execute(
            """INSERT INTO membership_sales (kind, chain_id, sale_id, operation_id, line, unit, amount,
                   refused_reason, refused_at)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::int[], $6::int[],
                   $7::numeric[], $8::text[], $9::timestamptz[])
               ON CONFLICT (chain_id, sale_id) DO NOTHING""",
            *columns(rows, 9),
        )

    async def refuse_sale(
        self, chain_id: str, kind: str, sale_id: str, reason: str, at: datetime
    ) -> asyncpg.Record | None:
        """Marks a unit of `kind` sold refused; answers it (operation, line, unit, amount), or None where it
        is not one of this service's, or was refused before."""
        return await self.conn.fetchrow(
            """UPDATE membership_sales SET refused_reason = $4, refused_at = $5
               WHERE chain_id = $1 AND kind = $2 AND sale_id = $3 AND refused_reason IS NULL
               RETURNING operation_id, line, unit, amount""",
            chain_id,
            kind,
            sale_id,
            reason,
            at,
        )

    async def sale_recorded(self, chain_id: str, kind: str, sale_id: str) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT 1 FROM membership_sales WHERE chain_id = $1 AND kind = $2 AND sale_id = $3",
                chain_id,
                kind,
                sale_id,
            )
        )

    # --- rejections that came before their sale (parked_refusals) ---

    async def hold_units(self, units: Collection[tuple[str, str, str]]) -> None:
        """The (chain, kind, sale id) units held until commit, by the transaction recording their sale
        (before any other lock of its batch) and by one applying a rejection of one of them: a rejection
        that comes while its sale is being recorded waits for it (then finds the unit and refuses it), and
        a sale recorded while a rejection is being parked waits for it (then takes the parked one)."""
        await hold_keys(self.conn, "inventory-unit", units)

    async def park_refusal(self, chain_id: str, kind: str, sale_id: str, event: dict[str, Any]) -> bool:
        """Keeps the first rejection of a unit not recorded yet; answers whether this one was kept."""
        status = await self.conn.execute(
            """INSERT INTO parked_refusals (chain_id, kind, sale_id, event) VALUES ($1, $2, $3, $4)
               ON CONFLICT DO NOTHING""",
            chain_id,
            kind,
            sale_id,
            event,
        )
        return bool(status == "INSERT 0 1")

    async def take_parked(self, units: Iterable[tuple[str, str, str]]) -> list[tuple[str, dict[str, Any]]]:
        """Removes and answers (kind, event) of the rejections parked for these (chain, kind, sale id)."""
        keys = set(units)
        if not keys:
            return []
        rows = await self.conn.fetch(
            """DELETE FROM parked_refusals p USING unnest($1::text[], $2::text[], $3::text[]) AS k(c, kd, s)
               WHERE p.chain_id = k.c AND p.kind = k.kd AND p.sale_id = k.s
               RETURNING p.kind, p.event, p.sale_id""",
            *columns(sorted(keys), 3),
        )
        return [(r["kind"], r["event"]) for r in sorted(rows, key=lambda r: r["sale_id"])]

    async def operation_for_update(self, chain_id: str, op_id: uuid.UUID) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            """SELECT id, number, type, location_id, storage_id, source, lines FROM operations
               WHERE chain_id = $1 AND id = $2 FOR UPDATE""",
            chain_id,
            op_id,
        )

    async def set_lines(self, chain_id: str, op_id: uuid.UUID, lines: list[dict[str, Any]]) -> None:
        await self.conn.execute(
            "UPDATE operations SET lines = $3 WHERE chain_id = $1 AND id = $2", chain_id, op_id, lines
        )
