"""HTTP routes of the memberships service (under /v1/chains/{chain_id}): routing only."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.memberships import usecases
from services.memberships.schemas import MembershipOut, MembershipTypeIn, MembershipTypeOut
from shared.auth import ChainId
from shared.uow import unit_of_work

router = APIRouter(tags=["memberships"])


@router.post("/membership-types", status_code=201, response_model=MembershipTypeOut)
async def create_membership_type(chain_id: ChainId, body: MembershipTypeIn, request: Request) -> MembershipTypeOut:
    async with unit_of_work(request.app.state.pool) as uow:
        t = await usecases.create_type(uow, chain_id, body)
    return MembershipTypeOut.of(t)


@router.get("/membership-types", response_model=list[MembershipTypeOut])
async def list_membership_types(chain_id: ChainId, request: Request,
                                archived: bool = False) -> list[MembershipTypeOut]:
    async with request.app.state.pool.acquire() as conn:
        return await usecases.list_types(conn, chain_id, archived)


@router.get("/membership-types/{type_id}", response_model=MembershipTypeOut)
async def get_membership_type(chain_id: ChainId, type_id: str, request: Request) -> MembershipTypeOut:
    async with request.app.state.pool.acquire() as conn:
        return await usecases.get_type(conn, chain_id, type_id)


@router.get("/memberships", response_model=list[MembershipOut], response_model_exclude_none=True)
async def find_memberships(
    chain_id: ChainId, request: Request,
    client_id: Annotated[str | None, Query(max_length=128)] = None,
    phone: Annotated[str | None, Query(max_length=32)] = None,
) -> list[MembershipOut]:
    async with request.app.state.pool.acquire() as conn:
        return await usecases.find_memberships(conn, chain_id, client_id, phone)


@router.get("/memberships/{code_or_id}", response_model=MembershipOut)
async def get_membership(chain_id: ChainId, code_or_id: str, request: Request) -> MembershipOut:
    async with request.app.state.pool.acquire() as conn:
        return await usecases.get_membership(conn, chain_id, code_or_id)
