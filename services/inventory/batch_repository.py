"""The SQL of a consumed batch (and of recording operations): one statement per table for the whole
batch, whose records may belong to many chains. Every row is named by its chain_id with its key (the
arrays are zipped by `unnest`), so no statement reaches past the chains the batch names."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.inventory.domain import BillOfMaterials
from services.inventory.repository import bill_of
from shared.db import columns as _columns

# (chain_id, storage_id, product_id): a stock row.
StockKey = tuple[str, str, str]


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)  # as shared/db.py encodes jsonb


class BatchRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    # --- reference data, read once per batch ---

    async def settings(self, locations: Iterable[tuple[str, str]]) -> dict[tuple[str, str], asyncpg.Record]:
        """(chain, location) -> its inventory settings, where it has any."""
        rows = await self.conn.fetch(
            """SELECT chain_id, location_id, consumables_on, consumables_storage_id FROM location_settings
               WHERE (chain_id, location_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))""",
            *_columns(set(locations), 2),
        )
        return {(r["chain_id"], r["location_id"]): r for r in rows}

    async def bills(self, wanted: Iterable[tuple[str, str, str]]) -> dict[str, list[BillOfMaterials]]:
        """chain -> its bills of these (chain, service, location) ('' for the chain-wide bill)."""
        wanted = set(wanted)
        if not wanted:
            return {}
        rows = await self.conn.fetch(
            """SELECT chain_id, service_id, location_id, storage_id, items FROM bills_of_materials
               WHERE (chain_id, service_id, location_id) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))
               ORDER BY chain_id, service_id, location_id""",
            *_columns(wanted, 3),
        )
        found: dict[str, list[BillOfMaterials]] = {}
        for r in rows:
            found.setdefault(r["chain_id"], []).append(bill_of(r))
        return found

    async def storages(
        self, ids: Iterable[tuple[str, str]], locations: Iterable[tuple[str, str]]
    ) -> list[asyncpg.Record]:
        """The storages named by (chain, id), and every storage of the (chain, location)s."""
        return await self.conn.fetch(
            """SELECT chain_id, id, location_id FROM storages
               WHERE (chain_id, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
                  OR (chain_id, location_id) IN (SELECT * FROM unnest($3::text[], $4::text[]))""",
            *_columns(set(ids), 2),
            *_columns(set(locations), 2),
        )

    async def products(
        self,
        ids: Iterable[tuple[str, str]],
        membership_types: Iterable[tuple[str, uuid.UUID]],
        gift_card_types: Iterable[tuple[str, uuid.UUID]] = (),
    ) -> list[asyncpg.Record]:
        """The products named by (chain, id), and every product of the (chain, membership type)s and
        (chain, gift card type)s."""
        ids, membership_types, gift_card_types = set(ids), set(membership_types), set(gift_card_types)
        if not ids and not membership_types and not gift_card_types:
            return []
        return await self.conn.fetch(
            """SELECT chain_id, id, name, unit, cost_price, min_stock, location_id, membership_type_id,
                      gift_card_type_id FROM products
               WHERE (chain_id, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
                  OR (chain_id, membership_type_id) IN (SELECT * FROM unnest($3::text[], $4::uuid[]))
                  OR (chain_id, gift_card_type_id) IN (SELECT * FROM unnest($5::text[], $6::uuid[]))""",
            *_columns(ids, 2),
            *_columns(membership_types, 2),
            *_columns(gift_card_types, 2),
        )

    # --- consumables written off ---

    async def claim_consumables(self, wanted: Iterable[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        """Marks these (chain, visit, service) as written off; answers those that were not already (the
        primary key makes a second claim, concurrent or later, a no-op). In key order: two batches
        claiming the same rows wait for each other, never deadlock."""
        wanted = sorted(set(wanted))
        if not wanted:
            return set()
        rows = await self.conn.fetch(
            """INSERT INTO consumables_done (chain_id, visit_id, service_id)
               SELECT c, v, s FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(c, v, s, n)
               ORDER BY t.n ON CONFLICT DO NOTHING RETURNING chain_id, visit_id, service_id""",
            *_columns(wanted, 3),
        )
        return {(r["chain_id"], r["visit_id"], r["service_id"]) for r in rows}

    # --- operations and stock ---

    async def add_operations(
        self,
        rows: list[
            tuple[
                uuid.UUID,
                str,
                str,
                str | None,
                str | None,
                str | None,
                str,
                dict[str, Any] | None,
                str | None,
                list[dict[str, Any]],
                datetime,
            ]
        ],
    ) -> dict[tuple[str, uuid.UUID], int]:
        """Records the documents (id, chain, type, location, storage, to_storage, source, client, comment,
        lines, occurred_at), numbered in the order given; answers (chain, id) -> number of those recorded
        now (an id its chain has recorded before records nothing)."""
        if not rows:
            return {}
        recorded = await self.conn.fetch(
            """INSERT INTO operations (id, chain_id, type, location_id, storage_id, to_storage_id, source, client,
                   comment, lines, occurred_at)
               SELECT i, c, ty, l, s, ts, so, cl::jsonb, co, li::jsonb, at FROM unnest($1::uuid[], $2::text[],
                   $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                   $11::timestamptz[]) WITH ORDINALITY AS t(i, c, ty, l, s, ts, so, cl, co, li, at, n)
               ORDER BY t.n ON CONFLICT (chain_id, id) DO NOTHING RETURNING chain_id, id, number""",
            # jsonb travels as text here: a list inside an array parameter would be read as a dimension
            *_columns(((*r[:7], _json(r[7]), r[8], _json(r[9]), r[10]) for r in rows), 11),
        )
        return {(r["chain_id"], r["id"]): r["number"] for r in recorded}

    async def lock_stock(self, keys: Iterable[StockKey]) -> dict[StockKey, Decimal]:
        """The balances of these stock rows, each locked (FOR UPDATE) until the transaction ends, in key
        order (two batches wait for each other, never deadlock). A row not there yet is made (balance 0)
        and locked alike: a row made meanwhile by another transaction is waited for, not missed."""
        keys = sorted(set(keys))
        if not keys:
            return {}
        rows = await self.conn.fetch(
            """INSERT INTO stock AS s (chain_id, storage_id, product_id, balance)
               SELECT c, st, p, 0 FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(c, st, p, n)
               ORDER BY t.n
               ON CONFLICT (chain_id, storage_id, product_id) DO UPDATE SET balance = s.balance
               RETURNING chain_id, storage_id, product_id, balance""",
            *_columns(keys, 3),
        )
        return {(r["chain_id"], r["storage_id"], r["product_id"]): r["balance"] for r in rows}

    async def set_stock(self, balances: dict[StockKey, Decimal]) -> None:
        """Writes the balances of locked stock rows."""
        if not balances:
            return
        await self.conn.execute(
            """UPDATE stock AS s SET balance = t.b, updated_at = now()
               FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[]) AS t(c, st, p, b)
               WHERE s.chain_id = t.c AND s.storage_id = t.st AND s.product_id = t.p""",
            *_columns(((c, s, p, b) for (c, s, p), b in sorted(balances.items())), 4),
        )

    async def add_movements(self, rows: list[tuple[str, str, str, uuid.UUID, Decimal, datetime]]) -> None:
        """The ledger: (chain, storage, product, operation, delta, occurred_at) per movement."""
        if not rows:
            return
        await self.conn.execute(
            """INSERT INTO movements (chain_id, storage_id, product_id, operation_id, delta, occurred_at)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::numeric[],
                   $6::timestamptz[])""",
            *_columns(rows, 6),
        )
