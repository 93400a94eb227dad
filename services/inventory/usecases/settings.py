"""Bills of materials (a service's consumables) and a location's inventory settings."""

from __future__ import annotations

from services.inventory import domain
from services.inventory.repository import Repository
from services.inventory.schemas import BomIn, BomOut, InventorySettingsIn, InventorySettingsOut
from shared.errors import Invalid
from shared.uow import UnitOfWork


async def put_bill_of_materials(uow: UnitOfWork, chain_id: str, service_id: str, body: BomIn) -> BomOut:
    repo = Repository(uow.conn, chain_id)
    location_id = body.location_id
    if body.storage_id is not None:
        storage = (await repo.storages([body.storage_id])).get(body.storage_id)
        if storage is None:
            raise Invalid("unknown_storage", f"no storage {body.storage_id}", field="storage_id")
        if location_id is not None and storage["location_id"] != location_id:
            raise Invalid(
                "location_mismatch", f"storage {body.storage_id} is at {storage['location_id']}", field="storage_id"
            )
        location_id = storage["location_id"]
    products = await repo.products(i.product_id for i in body.items)
    seen: set[str] = set()
    for n, item in enumerate(body.items):
        product = products.get(item.product_id)
        if product is None:
            raise Invalid("unknown_product", f"no product {item.product_id}", field=f"items.{n}.product_id")
        kind = domain.unit_kind(product)
        if kind is not None:  # stocked, but sold: no service consumes a membership or a gift card
            raise Invalid(
                "unknown_product",
                f"{item.product_id} is a {kind.replace('_', ' ')} product, not a consumable",
                field=f"items.{n}.product_id",
            )
        if item.product_id in seen:
            raise Invalid("duplicate_product", "a product is listed twice", field=f"items.{n}.product_id")
        seen.add(item.product_id)
        problem = domain.quantity_problem(item.quantity, product["unit"])
        if problem:
            raise Invalid("invalid_quantity", problem, field=f"items.{n}.quantity")
    items = [{"product_id": i.product_id, "quantity": domain.quantity_text(i.quantity)} for i in body.items]
    await repo.put_bom(service_id, location_id or "", body.storage_id, items)
    return BomOut.model_validate(
        {"service_id": service_id, "location_id": location_id, "storage_id": body.storage_id, "items": items}
    )


async def put_settings(
    uow: UnitOfWork, chain_id: str, location_id: str, body: InventorySettingsIn
) -> InventorySettingsOut:
    repo = Repository(uow.conn, chain_id)
    if body.consumables_storage_id is not None:
        storage = (await repo.storages([body.consumables_storage_id])).get(body.consumables_storage_id)
        if storage is None or storage["location_id"] != location_id:
            raise Invalid(
                "unknown_storage",
                f"no storage {body.consumables_storage_id} at {location_id}",
                field="consumables_storage_id",
            )
    await repo.put_settings(location_id, body.consumables_on, body.consumables_storage_id)
    return InventorySettingsOut(location_id=location_id, **body.model_dump())
