"""HTTP routes of the gateway's webhook side: routing only. Connections and their deliveries under
/v1/chains/{chain_id} (a chain's key: `write` to change, `read` to look), and the receiver the booking
system posts to, /v1/webhooks/{connection_id}, authenticated by the connection's secret."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from services.gateway import usecases
from services.gateway.booking_api import ApiDown, ApiRefused
from services.gateway.webhook_schemas import (
    BackfillIn,
    BackfillOut,
    ConnectionCreatedOut,
    ConnectionIn,
    ConnectionOut,
    ConnectionPatch,
    DeliveryOut,
    DeliveryState,
    ReceivedOut,
    ReplayIn,
    ReplayOut,
)
from shared.auth import ChainId
from shared.paging import PAGED, Paging
from shared.uow import unit_of_work

router = APIRouter(tags=["booking systems"])
receiver = APIRouter(tags=["webhooks"])
Secret = Annotated[str | None, Query(max_length=200, description="The connection's secret (or a bearer token)")]
Bearer = Annotated[str | None, Header(alias="Authorization", max_length=300)]


@router.post(
    "/connections",
    status_code=201,
    response_model=ConnectionCreatedOut,
    summary="Connect an Altegio or YCLIENTS account: its locations, API tokens, membership types",
)
async def create_connection(chain_id: ChainId, body: ConnectionIn, request: Request) -> ConnectionCreatedOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.create_connection(uow, chain_id, body)


@router.get("/connections", response_model=list[ConnectionOut], responses=PAGED)
async def list_connections(chain_id: ChainId, request: Request, page: Paging) -> list[ConnectionOut]:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.list_connections(conn, chain_id, page)


@router.get("/connections/{connection_id}", response_model=ConnectionOut)
async def get_connection(chain_id: ChainId, connection_id: uuid.UUID, request: Request) -> ConnectionOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_connection(conn, chain_id, connection_id)


@router.patch(
    "/connections/{connection_id}",
    response_model=ConnectionOut,
    summary="Change a connection (locations and membership_types are replaced whole)",
)
async def update_connection(
    chain_id: ChainId, connection_id: uuid.UUID, body: ConnectionPatch, request: Request
) -> ConnectionOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.update_connection(uow, chain_id, connection_id, body)


@router.get(
    "/connections/{connection_id}/deliveries",
    response_model=list[DeliveryOut],
    responses=PAGED,
    summary="What the booking system sent, oldest first, and what became of each",
)
async def list_deliveries(
    chain_id: ChainId, connection_id: uuid.UUID, request: Request, page: Paging, state: DeliveryState | None = None
) -> list[DeliveryOut]:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.list_deliveries(conn, chain_id, connection_id, state, page)


@router.post(
    "/connections/{connection_id}/deliveries/replay",
    response_model=ReplayOut,
    summary="Apply kept (or waiting, or ignored) deliveries again, after a fix",
)
async def replay_deliveries(chain_id: ChainId, connection_id: uuid.UUID, body: ReplayIn, request: Request) -> ReplayOut:
    async with unit_of_work(request.app.state.pool) as uow:
        out = await usecases.replay_deliveries(uow, chain_id, connection_id, body)
    request.app.state.deliveries.kick()
    return out


@router.post(
    "/connections/{connection_id}/backfill",
    response_model=BackfillOut,
    summary="Read back from their API the records changed in a period (for webhooks never retried)",
)
async def backfill(chain_id: ChainId, connection_id: uuid.UUID, body: BackfillIn, request: Request) -> BackfillOut:
    out = await usecases.backfill(
        request.app.state.pool, chain_id, connection_id, body, request.app.state.deliveries.apis
    )
    request.app.state.deliveries.kick()
    return out


@receiver.post(
    "/v1/webhooks/{connection_id}",
    response_model=ReceivedOut,
    summary="Where Altegio / YCLIENTS post their webhooks: stored at once, applied in the background",
)
async def receive(
    connection_id: uuid.UUID, request: Request, secret: Secret = None, authorization: Bearer = None
) -> ReceivedOut:
    given = secret or (
        authorization[7:].strip() if authorization and authorization.lower().startswith("bearer ") else None
    )
    duplicate = await usecases.receive(request.app.state.pool, connection_id, given, await request.body())
    request.app.state.deliveries.kick()
    return ReceivedOut(duplicate=duplicate)


async def api_down(_: Request, exc: Exception) -> JSONResponse:
    """Their API cannot answer now (a backfill): a passing state, retry later."""
    return JSONResponse(
        {"error": "booking_api_unavailable", "message": str(exc)}, status_code=503, headers={"Retry-After": "30"}
    )


async def api_refused(_: Request, exc: Exception) -> JSONResponse:
    """Their API refuses the connection's request for good (its tokens, say): the connection needs a fix."""
    return JSONResponse({"error": "booking_api_refused", "message": str(exc)}, status_code=409)


ERRORS = {ApiDown: api_down, ApiRefused: api_refused}
