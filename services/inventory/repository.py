"""All SQL of the inventory service. Every query is scoped by chain_id."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.inventory.domain import UNIT_KINDS, BillOfMaterials, Line
from shared.paging import Page

PRODUCT_COLUMNS = """p.id, p.name, p.category_id, c.name AS category, p.unit, p.sale_price, p.cost_price, p.barcode,
    p.min_stock, p.location_id, p.membership_type_id, p.gift_card_type_id, p.allow_without_code, p.archived"""
OPERATION_COLUMNS = """id, number, type, location_id, storage_id, to_storage_id, source, client, comment, lines,
    occurred_at"""


class Repository:
    def __init__(self, conn: asyncpg.Connection, chain_id: str) -> None:
        self.conn = conn
        self.chain_id = chain_id

    # --- storages ---

    async def add_storage(self, storage_id: str, location_id: str, name: str) -> bool:
        return bool(
            await self.conn.fetchval(
                """INSERT INTO storages (chain_id, id, location_id, name) VALUES ($1,$2,$3,$4)
               ON CONFLICT DO NOTHING RETURNING true""",
                self.chain_id,
                storage_id,
                location_id,
                name,
            )
        )

    async def storages(self, ids: Iterable[str]) -> dict[str, asyncpg.Record]:
        rows = await self.conn.fetch(
            "SELECT id, location_id, name FROM storages WHERE chain_id = $1 AND id = ANY($2::text[])",
            self.chain_id,
            list(set(ids)),
        )
        return {r["id"]: r for r in rows}

    async def storage_ids_at(self, location_id: str, limit: int) -> list[str]:
        """Up to `limit` storages of the location (enough to know whether it has only one)."""
        rows = await self.conn.fetch(
            "SELECT id FROM storages WHERE chain_id = $1 AND location_id = $2 ORDER BY id LIMIT $3",
            self.chain_id,
            location_id,
            limit,
        )
        return [r["id"] for r in rows]

    async def list_storages(self, location_id: str | None, page: Page | None = None) -> list[asyncpg.Record]:
        page = page or Page()
        rows = await self.conn.fetch(
            """SELECT id, location_id, name FROM storages WHERE chain_id = $1
                 AND ($2::text IS NULL OR location_id = $2)
                 AND ($3::text IS NULL OR (location_id, name, id) > ($3, $4::text, $5::text))
               ORDER BY location_id, name, id LIMIT $6""",
            self.chain_id,
            location_id,
            *page.after(str, str, str),
            page.fetch,
        )
        return page.cut(rows, lambda r: (r["location_id"], r["name"], r["id"]))

    # --- categories ---

    async def add_category(self, name: str) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            """INSERT INTO categories (chain_id, id, name) VALUES ($1,$2,$3)
               ON CONFLICT DO NOTHING RETURNING id, name""",
            self.chain_id,
            uuid.uuid4(),
            name,
        )

    async def ensure_category(self, name: str) -> uuid.UUID:
        await self.conn.execute(
            """INSERT INTO categories (chain_id, id, name) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING""",
            self.chain_id,
            uuid.uuid4(),
            name,
        )
        return await self.conn.fetchval(
            "SELECT id FROM categories WHERE chain_id = $1 AND lower(name) = lower($2)", self.chain_id, name
        )

    async def category_exists(self, category_id: uuid.UUID) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT true FROM categories WHERE chain_id = $1 AND id = $2", self.chain_id, category_id
            )
        )

    async def list_categories(self, page: Page) -> list[asyncpg.Record]:
        rows = await self.conn.fetch(
            """SELECT id, name, lower(name) AS sort_name FROM categories WHERE chain_id = $1
                 AND ($2::text IS NULL OR (lower(name), id) > ($2, $3::uuid))
               ORDER BY lower(name), id LIMIT $4""",
            self.chain_id,
            *page.after(str, uuid.UUID),
            page.fetch,
        )
        return page.cut(rows, lambda r: (r["sort_name"], r["id"]))

    # --- products ---

    async def add_product(self, p: dict[str, Any]) -> bool:
        return bool(
            await self.conn.fetchval(
                """INSERT INTO products (chain_id, id, name, category_id, unit, sale_price, cost_price, barcode,
                   min_stock, location_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
               ON CONFLICT DO NOTHING RETURNING true""",
                self.chain_id,
                p["id"],
                p["name"],
                p["category_id"],
                p["unit"],
                p["sale_price"],
                p["cost_price"],
                p["barcode"],
                p["min_stock"],
                p["location_id"],
            )
        )

    async def update_product(self, product_id: str, changes: dict[str, Any]) -> bool:
        allowed = ("name", "category_id", "sale_price", "cost_price", "barcode", "min_stock", "archived")
        sets = [(k, v) for k, v in changes.items() if k in allowed]
        if not sets:
            return await self.product(product_id) is not None
        assignments = ", ".join(f"{k} = ${i + 3}" for i, (k, _) in enumerate(sets))
        result = await self.conn.execute(
            f"UPDATE products SET {assignments}, updated_at = now() WHERE chain_id = $1 AND id = $2",
            self.chain_id,
            product_id,
            *(v for _, v in sets),
        )
        return result.endswith(" 1")

    async def product(self, product_id: str) -> asyncpg.Record | None:
        return (await self.products([product_id])).get(product_id)

    async def products(self, ids: Iterable[str]) -> dict[str, asyncpg.Record]:
        rows = await self.conn.fetch(
            f"""SELECT {PRODUCT_COLUMNS} FROM products p LEFT JOIN categories c
                   ON c.chain_id = p.chain_id AND c.id = p.category_id
                WHERE p.chain_id = $1 AND p.id = ANY($2::text[])""",
            self.chain_id,
            list(set(ids)),
        )
        return {r["id"]: r for r in rows}

    async def list_products(
        self, category: str | None, location_id: str | None, archived: bool | None, page: Page
    ) -> list[asyncpg.Record]:
        """`category`: a category's name or id; `location_id`: what can be sold there (the chain's
        products and that location's own); `archived`: None for both. The chain's products ('' sorts
        before any location id) before a location's own of the same name."""
        rows = await self.conn.fetch(
            f"""SELECT {PRODUCT_COLUMNS}, lower(p.name) AS sort_name, coalesce(p.location_id, '') AS sort_location
                FROM products p LEFT JOIN categories c ON c.chain_id = p.chain_id AND c.id = p.category_id
                WHERE p.chain_id = $1
                  AND ($2::text IS NULL OR lower(c.name) = lower($2) OR c.id::text = $2)
                  AND ($3::text IS NULL OR p.location_id IS NULL OR p.location_id = $3)
                  AND ($4::boolean IS NULL OR p.archived = $4)
                  AND ($5::text IS NULL
                       OR (lower(p.name), coalesce(p.location_id, ''), p.id) > ($5, $6::text, $7::text))
                ORDER BY lower(p.name), coalesce(p.location_id, ''), p.id LIMIT $8""",
            self.chain_id,
            category,
            location_id,
            archived,
            *page.after(str, str, str),
            page.fetch,
        )
        return page.cut(rows, lambda r: (r["sort_name"], r["sort_location"], r["id"]))

    async def type_products(self, kind: str, type_id: uuid.UUID) -> list[asyncpg.Record]:
        """The products of a membership or gift card type (`kind`)."""
        column, _ = UNIT_KINDS[kind]
        return await self.conn.fetch(
            f"SELECT id, location_id, archived, source_at FROM products WHERE chain_id = $1 AND {column} = $2",
            self.chain_id,
            type_id,
        )

    async def upsert_type_products(
        self, kind: str, type_id: uuid.UUID, rows: list[dict[str, Any]], at: datetime
    ) -> None:
        """Creates or updates the products of a membership or gift card type (name, price, archived),
        unless a later event of the type was already applied to that product."""
        column, _ = UNIT_KINDS[kind]
        await self.conn.executemany(
            f"""INSERT INTO products (chain_id, id, name, category_id, unit, sale_price, cost_price, location_id,
                   {column}, allow_without_code, archived, source_at)
               VALUES ($1,$2,$3,$4,'pcs',$5,0,$6,$7,$8,$9,$10)
               ON CONFLICT (chain_id, id) DO UPDATE SET name = EXCLUDED.name, sale_price = EXCLUDED.sale_price,
                   allow_without_code = EXCLUDED.allow_without_code, archived = EXCLUDED.archived,
                   source_at = EXCLUDED.source_at, updated_at = now()
               WHERE products.source_at IS NULL OR products.source_at <= EXCLUDED.source_at""",
            [
                (
                    self.chain_id,
                    r["id"],
                    r["name"],
                    r["category_id"],
                    r["price"],
                    r["location_id"],
                    type_id,
                    r["allow_without_code"],
                    r["archived"],
                    at,
                )
                for r in rows
            ],
        )

    # --- stock ---

    async def stock(self, storage_id: str | None, product_id: str | None, page: Page) -> list[asyncpg.Record]:
        rows = await self.conn.fetch(
            """SELECT s.storage_id, st.location_id, s.product_id, p.name AS product_name, p.unit, s.balance,
                      p.min_stock, lower(p.name) AS sort_name
               FROM stock s JOIN products p ON p.chain_id = s.chain_id AND p.id = s.product_id
               LEFT JOIN storages st ON st.chain_id = s.chain_id AND st.id = s.storage_id
               WHERE s.chain_id = $1 AND ($2::text IS NULL OR s.storage_id = $2)
                 AND ($3::text IS NULL OR s.product_id = $3)
                 AND ($4::text IS NULL OR (s.storage_id, lower(p.name), s.product_id) > ($4, $5::text, $6::text))
               ORDER BY s.storage_id, lower(p.name), s.product_id LIMIT $7""",
            self.chain_id,
            storage_id,
            product_id,
            *page.after(str, str, str),
            page.fetch,
        )
        return page.cut(rows, _stock_key)

    async def stock_at(
        self, at: datetime, storage_id: str | None, product_id: str | None, page: Page
    ) -> list[asyncpg.Record]:
        """Balances as they stood at `at`: the ledger's movements that happened at or before it."""
        rows = await self.conn.fetch(
            """SELECT m.storage_id, st.location_id, m.product_id, p.name AS product_name, p.unit,
                      sum(m.delta) AS balance, p.min_stock, lower(p.name) AS sort_name
               FROM movements m JOIN products p ON p.chain_id = m.chain_id AND p.id = m.product_id
               LEFT JOIN storages st ON st.chain_id = m.chain_id AND st.id = m.storage_id
               WHERE m.chain_id = $1 AND m.occurred_at <= $2 AND ($3::text IS NULL OR m.storage_id = $3)
                 AND ($4::text IS NULL OR m.product_id = $4)
                 AND ($5::text IS NULL OR (m.storage_id, lower(p.name), m.product_id) > ($5, $6::text, $7::text))
               GROUP BY m.storage_id, st.location_id, m.product_id, p.name, p.unit, p.min_stock
               ORDER BY m.storage_id, lower(p.name), m.product_id LIMIT $8""",
            self.chain_id,
            at,
            storage_id,
            product_id,
            *page.after(str, str, str),
            page.fetch,
        )
        return page.cut(rows, _stock_key)

    # --- operations ---

    async def operation(self, op_id: uuid.UUID) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            f"SELECT {OPERATION_COLUMNS} FROM operations WHERE chain_id = $1 AND id = $2", self.chain_id, op_id
        )

    async def operations(
        self,
        op_type: str | None,
        start: datetime | None,
        end: datetime | None,
        storage_id: str | None,
        source: str | None,
        page: Page,
    ) -> list[asyncpg.Record]:
        rows = await self.conn.fetch(
            f"""SELECT {OPERATION_COLUMNS} FROM operations
               WHERE chain_id = $1 AND ($2::text IS NULL OR type = $2)
                 AND ($3::timestamptz IS NULL OR occurred_at >= $3) AND ($4::timestamptz IS NULL OR occurred_at < $4)
                 AND ($5::text IS NULL OR storage_id = $5 OR to_storage_id = $5)
                 AND ($6::text IS NULL OR source = $6)
                 AND ($7::timestamptz IS NULL OR (occurred_at, number) > ($7, $8::bigint))
               ORDER BY occurred_at, number LIMIT $9""",
            self.chain_id,
            op_type,
            start,
            end,
            storage_id,
            source,
            *page.after(datetime, int),
            page.fetch,
        )
        return page.cut(rows, lambda r: (r["occurred_at"], r["number"]))

    # --- bills of materials, settings ---

    async def put_bom(
        self, service_id: str, location_id: str, storage_id: str | None, items: list[dict[str, Any]]
    ) -> None:
        if not items:
            await self.conn.execute(
                "DELETE FROM bills_of_materials WHERE chain_id = $1 AND service_id = $2 AND location_id = $3",
                self.chain_id,
                service_id,
                location_id,
            )
            return
        await self.conn.execute(
            """INSERT INTO bills_of_materials (chain_id, service_id, location_id, storage_id, items)
               VALUES ($1,$2,$3,$4,$5) ON CONFLICT (chain_id, service_id, location_id)
               DO UPDATE SET storage_id = EXCLUDED.storage_id, items = EXCLUDED.items, updated_at = now()""",
            self.chain_id,
            service_id,
            location_id,
            storage_id,
            items,
        )

    async def bills_of(self, service_id: str, page: Page) -> list[BillOfMaterials]:
        """A service's bills, one per location ('': the chain-wide one, first)."""
        rows = await self.conn.fetch(
            """SELECT service_id, location_id, storage_id, items FROM bills_of_materials
               WHERE chain_id = $1 AND service_id = $2 AND ($3::text IS NULL OR location_id > $3)
               ORDER BY location_id LIMIT $4""",
            self.chain_id,
            service_id,
            *page.after(str),
            page.fetch,
        )
        return [bill_of(r) for r in page.cut(rows, lambda r: (r["location_id"],))]

    async def put_settings(self, location_id: str, consumables_on: str, storage_id: str | None) -> None:
        await self.conn.execute(
            """INSERT INTO location_settings (chain_id, location_id, consumables_on, consumables_storage_id)
               VALUES ($1,$2,$3,$4) ON CONFLICT (chain_id, location_id) DO UPDATE SET
               consumables_on = EXCLUDED.consumables_on, consumables_storage_id = EXCLUDED.consumables_storage_id,
               updated_at = now()""",
            self.chain_id,
            location_id,
            consumables_on,
            storage_id,
        )

    async def settings(self, location_id: str) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            """SELECT location_id, consumables_on, consumables_storage_id FROM location_settings
               WHERE chain_id = $1 AND location_id = $2""",
            self.chain_id,
            location_id,
        )


def bill_of(r: asyncpg.Record) -> BillOfMaterials:
    return BillOfMaterials(
        r["service_id"],
        r["location_id"],
        r["storage_id"],
        tuple(Line(i["product_id"], Decimal(str(i["quantity"]))) for i in r["items"]),
    )


def _stock_key(r: asyncpg.Record) -> tuple[str, str, str]:
    return r["storage_id"], r["sort_name"], r["product_id"]
