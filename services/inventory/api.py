"""HTTP routes of the inventory service (under /v1/chains/{chain_id}): routing only."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime

from services.inventory import usecases
from services.inventory.schemas import (
    BomIn,
    BomOut,
    CategoryIn,
    CategoryOut,
    InventorySettingsIn,
    InventorySettingsOut,
    OperationIn,
    OperationOut,
    ProductIn,
    ProductOut,
    ProductPatch,
    StockOut,
    StorageIn,
    StorageOut,
)
from shared.auth import ChainId
from shared.paging import PAGED, Paging
from shared.uow import unit_of_work

router = APIRouter(tags=["inventory"])
IdQuery = Annotated[str | None, Query(min_length=1, max_length=128)]


@router.post("/storages", status_code=201, response_model=StorageOut)
async def create_storage(chain_id: ChainId, body: StorageIn, request: Request) -> StorageOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return StorageOut(**await usecases.create_storage(uow, chain_id, body))


@router.get("/storages", response_model=list[StorageOut], responses=PAGED)
async def list_storages(
    chain_id: ChainId, request: Request, page: Paging, location_id: IdQuery = None
) -> list[StorageOut]:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.list_storages(conn, chain_id, location_id, page)


@router.post("/categories", status_code=201, response_model=CategoryOut)
async def create_category(chain_id: ChainId, body: CategoryIn, request: Request) -> CategoryOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return CategoryOut(**dict(await usecases.create_category(uow, chain_id, body)))


@router.get("/categories", response_model=list[CategoryOut], responses=PAGED)
async def list_categories(chain_id: ChainId, request: Request, page: Paging) -> list[CategoryOut]:
    async with request.app.state.pool.snapshot() as conn:
        return [CategoryOut(**dict(r)) for r in await usecases.list_categories(conn, chain_id, page)]


@router.post("/products", status_code=201, response_model=ProductOut)
async def create_product(chain_id: ChainId, body: ProductIn, request: Request) -> ProductOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return ProductOut.of(await usecases.create_product(uow, chain_id, body))


@router.get("/products", response_model=list[ProductOut], responses=PAGED)
async def list_products(
    chain_id: ChainId,
    request: Request,
    page: Paging,
    category: Annotated[str | None, Query(max_length=200, description="a category's name or id")] = None,
    location_id: Annotated[str | None, Query(max_length=128, description="what is sold there")] = None,
    archived: Annotated[
        bool | None, Query(description="false (default): the sale list; true: hidden ones; omit with all=true for both")
    ] = False,
    all: bool = False,
) -> list[ProductOut]:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.list_products(conn, chain_id, category, location_id, None if all else archived, page)


@router.get("/products/{product_id}", response_model=ProductOut)
async def get_product(chain_id: ChainId, product_id: str, request: Request) -> ProductOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_product(conn, chain_id, product_id)


@router.patch("/products/{product_id}", response_model=ProductOut)
async def update_product(chain_id: ChainId, product_id: str, body: ProductPatch, request: Request) -> ProductOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return ProductOut.of(await usecases.update_product(uow, chain_id, product_id, body))


@router.post("/operations", status_code=201, response_model=OperationOut)
async def post_operation(chain_id: ChainId, body: OperationIn, request: Request) -> OperationOut:
    async with unit_of_work(request.app.state.pool) as uow:
        row = await usecases.post_operation(uow, chain_id, body)
    return OperationOut.model_validate(dict(row))


@router.get("/operations", response_model=list[OperationOut], responses=PAGED)
async def list_operations(
    chain_id: ChainId,
    request: Request,
    page: Paging,
    type: Literal["arrival", "sale", "write_off", "relocation"] | None = None,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    storage_id: IdQuery = None,
    source: Annotated[str | None, Query(max_length=200, description="e.g. visit:v-77")] = None,
) -> list[OperationOut]:
    async with request.app.state.pool.snapshot() as conn:
        rows = await usecases.list_operations(conn, chain_id, type, start, end, storage_id, source, page)
    return [OperationOut.model_validate(dict(r)) for r in rows]


@router.get("/operations/{operation_id}", response_model=OperationOut)
async def get_operation(chain_id: ChainId, operation_id: str, request: Request) -> OperationOut:
    async with request.app.state.pool.snapshot() as conn:
        return OperationOut.model_validate(dict(await usecases.get_operation(conn, chain_id, operation_id)))


@router.get("/stock", response_model=list[StockOut], responses=PAGED)
async def stock(
    chain_id: ChainId,
    request: Request,
    page: Paging,
    storage_id: IdQuery = None,
    product_id: IdQuery = None,
    at: Annotated[AwareDatetime | None, Query(description="the balances as they stood at this moment")] = None,
) -> list[StockOut]:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.stock(conn, chain_id, storage_id, product_id, at, page)


@router.put("/services/{service_id}/bill-of-materials", response_model=BomOut)
async def put_bill_of_materials(chain_id: ChainId, service_id: str, body: BomIn, request: Request) -> BomOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.put_bill_of_materials(uow, chain_id, service_id, body)


@router.get("/services/{service_id}/bill-of-materials", response_model=list[BomOut], responses=PAGED)
async def get_bills_of_materials(chain_id: ChainId, service_id: str, request: Request, page: Paging) -> list[BomOut]:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_bills_of_materials(conn, chain_id, service_id, page)


@router.put("/locations/{location_id}/inventory-settings", response_model=InventorySettingsOut)
async def put_settings(
    chain_id: ChainId, location_id: str, body: InventorySettingsIn, request: Request
) -> InventorySettingsOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.put_settings(uow, chain_id, location_id, body)


@router.get("/locations/{location_id}/inventory-settings", response_model=InventorySettingsOut)
async def get_settings(chain_id: ChainId, location_id: str, request: Request) -> InventorySettingsOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_settings(conn, chain_id, location_id)
