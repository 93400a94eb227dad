"""The catalog: storages (per location), categories, products (per chain, or per location)."""

from __future__ import annotations

import uuid

import asyncpg

from services.inventory import domain
from services.inventory.repository import Repository
from services.inventory.schemas import CategoryIn, ProductIn, ProductPatch, StorageIn
from shared.errors import Conflict, Invalid, NotFound
from shared.uow import UnitOfWork


async def create_storage(uow: UnitOfWork, chain_id: str, body: StorageIn) -> dict[str, str]:
    storage_id = body.id or str(uuid.uuid4())
    if not await Repository(uow.conn, chain_id).add_storage(storage_id, body.location_id, body.name):
        raise Conflict("storage_exists", f"storage {storage_id} already exists", field="id")
    return {"id": storage_id, "location_id": body.location_id, "name": body.name}


async def create_category(uow: UnitOfWork, chain_id: str, body: CategoryIn) -> asyncpg.Record:
    row = await Repository(uow.conn, chain_id).add_category(body.name)
    if row is None:
        raise Conflict("category_exists", f"category {body.name} already exists", field="name")
    return row


async def create_product(uow: UnitOfWork, chain_id: str, body: ProductIn) -> asyncpg.Record:
    repo = Repository(uow.conn, chain_id)
    if body.category_id is not None and not await repo.category_exists(body.category_id):
        raise Invalid("unknown_category", f"no category {body.category_id}", field="category_id")
    if body.unit == "pcs" and body.min_stock is not None and body.min_stock != body.min_stock.to_integral_value():
        raise Invalid("invalid_quantity", "pieces are counted in whole numbers", field="min_stock")
    product_id = body.id or str(uuid.uuid4())
    if not await repo.add_product({**body.model_dump(), "id": product_id}):
        raise Conflict("product_exists", f"product {product_id} already exists", field="id")
    row = await repo.product(product_id)
    assert row is not None
    return row


CLEARABLE = frozenset({"category_id", "barcode", "min_stock"})  # a product's fields a PATCH may set to null


async def update_product(uow: UnitOfWork, chain_id: str, product_id: str, body: ProductPatch) -> asyncpg.Record:
    repo = Repository(uow.conn, chain_id)
    product = await repo.product(product_id)
    if product is None:
        raise NotFound("product_not_found", f"no product {product_id}")
    # A null clears what may be empty (category, barcode, minimum stock) and leaves the rest as it is.
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None or k in CLEARABLE}
    kind = domain.unit_kind(product)
    if kind is not None and set(changes) & {"name", "sale_price", "archived"}:
        raise Conflict(
            f"{kind}_product",
            f"a {kind.replace('_', ' ')} product follows its type: change the type",
            field=sorted(set(changes) & {"name", "sale_price", "archived"})[0],
        )
    if changes.get("category_id") is not None and not await repo.category_exists(changes["category_id"]):
        raise Invalid("unknown_category", f"no category {changes['category_id']}", field="category_id")
    await repo.update_product(product_id, changes)
    row = await repo.product(product_id)
    assert row is not None
    return row
