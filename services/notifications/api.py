"""HTTP routes of the notifications service (under /v1/chains/{chain_id}): routing only."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from services.notifications import usecases
from services.notifications.schemas import (
    Locale,
    NoticeOut,
    NoticeStatus,
    NoticeTypeOut,
    OptOutIn,
    OptOutOut,
    SettingsIn,
    SettingsOut,
    TemplateIn,
    TemplateOut,
)
from shared.auth import ChainId
from shared.paging import PAGED, Paging
from shared.uow import unit_of_work

router = APIRouter(tags=["notifications"])
LocationId = Annotated[str, Path(min_length=1, max_length=128)]
ClientId = Annotated[str, Path(min_length=1, max_length=128)]


@router.get("/notifications", response_model=list[NoticeOut], responses=PAGED)
async def list_notifications(
    chain_id: ChainId,
    request: Request,
    page: Paging,
    client_id: Annotated[str | None, Query(max_length=128)] = None,
    status: NoticeStatus | None = None,
    location_id: Annotated[str | None, Query(max_length=128)] = None,
    type: Annotated[str | None, Query(max_length=128)] = None,
) -> list[NoticeOut]:
    async with request.app.state.pool.snapshot() as conn:
        rows = await usecases.list_notices(conn, chain_id, client_id, status, page, location_id, type)
    return [NoticeOut.model_validate(r, from_attributes=True) for r in rows]


@router.put(
    "/locations/{location_id}/notification-settings",
    response_model=SettingsOut,
    summary="A location's channels per notice type, send window, time zone, administrator contact",
)
async def put_location_settings(
    chain_id: ChainId, location_id: LocationId, body: SettingsIn, request: Request
) -> SettingsOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.save_settings(uow, chain_id, location_id, body)


@router.get("/locations/{location_id}/notification-settings", response_model=SettingsOut)
async def get_location_settings(chain_id: ChainId, location_id: LocationId, request: Request) -> SettingsOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_settings(conn, chain_id, location_id)


@router.put(
    "/notification-settings",
    response_model=SettingsOut,
    summary="The chain's default settings, for every location without its own",
)
async def put_chain_settings(chain_id: ChainId, body: SettingsIn, request: Request) -> SettingsOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.save_settings(uow, chain_id, None, body)


@router.get("/notification-settings", response_model=SettingsOut)
async def get_chain_settings(chain_id: ChainId, request: Request) -> SettingsOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_settings(conn, chain_id, None)


@router.get(
    "/templates",
    response_model=list[NoticeTypeOut],
    responses=PAGED,
    summary="Every notice type: placeholders, the shipped English text, the chain's own texts",
)
async def list_templates(chain_id: ChainId, request: Request, page: Paging) -> list[NoticeTypeOut]:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.list_templates(conn, chain_id, page)


@router.put(
    "/templates/{notice_type}",
    response_model=TemplateOut,
    summary="The chain's text for a notice type in a locale (unknown placeholders: 422)",
)
async def put_template(chain_id: ChainId, notice_type: str, body: TemplateIn, request: Request) -> TemplateOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.save_template(uow, chain_id, notice_type, body)


@router.delete("/templates/{notice_type}", status_code=204, summary="Back to the shipped text for that locale")
async def delete_template(
    chain_id: ChainId, notice_type: str, request: Request, locale: Annotated[Locale, Query()] = "en"
) -> Response:
    async with unit_of_work(request.app.state.pool) as uow:
        await usecases.delete_template(uow, chain_id, notice_type, locale)
    return Response(status_code=204)


@router.put(
    "/clients/{client_id}/notification-opt-out",
    response_model=OptOutOut,
    summary="The client's opt-out per channel, chain-wide (false: opted in again)",
)
async def put_opt_out(chain_id: ChainId, client_id: ClientId, body: OptOutIn, request: Request) -> OptOutOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.save_opt_out(uow, chain_id, client_id, body)


@router.get("/clients/{client_id}/notification-opt-out", response_model=OptOutOut)
async def get_opt_out(chain_id: ChainId, client_id: ClientId, request: Request) -> OptOutOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_opt_out(conn, chain_id, client_id)
