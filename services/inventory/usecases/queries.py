"""Reads: the catalog, stock (now or at a moment), operations, bills of materials, settings."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.inventory.repository import Repository
from services.inventory.schemas import BomOut, InventorySettingsOut, ProductOut, StockOut, StorageOut
from shared.errors import NotFound
from shared.paging import Page


async def list_storages(
    conn: asyncpg.Connection, chain_id: str, location_id: str | None, page: Page
) -> list[StorageOut]:
    return [StorageOut(**dict(r)) for r in await Repository(conn, chain_id).list_storages(location_id, page)]


async def list_categories(conn: asyncpg.Connection, chain_id: str, page: Page) -> list[asyncpg.Record]:
    return await Repository(conn, chain_id).list_categories(page)


async def list_products(
    conn: asyncpg.Connection,
    chain_id: str,
    category: str | None,
    location_id: str | None,
    archived: bool | None,
    page: Page,
) -> list[ProductOut]:
    rows = await Repository(conn, chain_id).list_products(category, location_id, archived, page)
    return [ProductOut.of(r) for r in rows]


async def get_product(conn: asyncpg.Connection, chain_id: str, product_id: str) -> ProductOut:
    row = await Repository(conn, chain_id).product(product_id)
    if row is None:
        raise NotFound("product_not_found", f"no product {product_id}")
    return ProductOut.of(row)


async def stock(
    conn: asyncpg.Connection,
    chain_id: str,
    storage_id: str | None,
    product_id: str | None,
    at: datetime | None,
    page: Page,
) -> list[StockOut]:
    repo = Repository(conn, chain_id)
    rows = await (repo.stock_at(at, storage_id, product_id, page) if at else repo.stock(storage_id, product_id, page))
    return [
        StockOut(**dict(r), low=r["balance"] < 0 or (r["min_stock"] is not None and r["balance"] < r["min_stock"]))
        for r in rows
    ]


async def list_operations(
    conn: asyncpg.Connection,
    chain_id: str,
    op_type: str | None,
    start: datetime | None,
    end: datetime | None,
    storage_id: str | None,
    source: str | None,
    page: Page,
) -> list[asyncpg.Record]:
    return await Repository(conn, chain_id).operations(op_type, start, end, storage_id, source, page)


async def get_operation(conn: asyncpg.Connection, chain_id: str, op_id: str) -> asyncpg.Record:
    try:
        row = await Repository(conn, chain_id).operation(uuid.UUID(op_id))
    except ValueError:
        row = None
    if row is None:
        raise NotFound("operation_not_found", f"no operation {op_id}")
    return row


async def get_bills_of_materials(conn: asyncpg.Connection, chain_id: str, service_id: str, page: Page) -> list[BomOut]:
    boms = await Repository(conn, chain_id).bills_of(service_id, page)
    return [
        BomOut.model_validate(
            {
                "service_id": b.service_id,
                "location_id": b.location_id or None,
                "storage_id": b.storage_id,
                "items": [{"product_id": i.product_id, "quantity": i.quantity} for i in b.items],
            }
        )
        for b in boms
    ]


async def get_settings(conn: asyncpg.Connection, chain_id: str, location_id: str) -> InventorySettingsOut:
    row = await Repository(conn, chain_id).settings(location_id)
    if row is None:
        return InventorySettingsOut(location_id=location_id)
    return InventorySettingsOut(**dict(row))
