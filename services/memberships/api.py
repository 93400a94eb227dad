"""HTTP routes of the memberships service (under /v1/chains/{chain_id}): routing only."""

import uuid
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request
from pydantic import AwareDatetime

from services.memberships import usecases
from services.memberships.report_schemas import SOLD_COLUMNS, SoldRow, StatusFilter
from services.memberships.repository import SoldFilter
from services.memberships.schemas import (
    DeductionPolicyIn,
    EditRequest,
    EligibilityOut,
    FreezeRequest,
    MembershipImportIn,
    MembershipImportOut,
    MembershipOut,
    MembershipTypeIn,
    MembershipTypeOut,
    MembershipTypePatch,
    ReportRow,
    UnfreezeRequest,
)
from shared.auth import ChainId, ReadChainId
from shared.csv_export import CSV_RESPONSE, Format, page_or_csv
from shared.paging import PAGED, Page, Paging
from shared.quote import MembershipsPart, QuotePartIn
from shared.uow import unit_of_work

router = APIRouter(tags=["memberships"])
# Who did it, for the membership's history (a desk user's name; the API key is the chain's).
Who = Annotated[str, Header(alias="X-User", max_length=200)]
Text = Annotated[str, Query(min_length=1, max_length=128)]


def now() -> datetime:
    return datetime.now(UTC)


def as_time(value: datetime | date | None) -> datetime | None:
    """A date means its start (UTC)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time.min, UTC)


# --- membership types -----------------------------------------------------------------------------


@router.post("/membership-types", status_code=201, response_model=MembershipTypeOut)
async def create_membership_type(chain_id: ChainId, body: MembershipTypeIn, request: Request) -> MembershipTypeOut:
    async with unit_of_work(request.app.state.pool) as uow:
        t = await usecases.create_type(uow, chain_id, body)
    return MembershipTypeOut.of(t)


@router.get("/membership-types", response_model=list[MembershipTypeOut], responses=PAGED)
async def list_membership_types(
    chain_id: ChainId, request: Request, page: Paging, archived: bool = False
) -> list[MembershipTypeOut]:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.list_types(conn, chain_id, archived, page)


@router.get("/membership-types/{type_id}", response_model=MembershipTypeOut)
async def get_membership_type(chain_id: ChainId, type_id: str, request: Request) -> MembershipTypeOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_type(conn, chain_id, type_id)


@router.patch(
    "/membership-types/{type_id}",
    response_model=MembershipTypeOut,
    responses={409: {"description": "A post-sale rule forbids it (the reason says the way out)"}},
)
async def change_membership_type(
    chain_id: ChainId, type_id: str, body: MembershipTypePatch, request: Request
) -> MembershipTypeOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return MembershipTypeOut.of(await usecases.update_type(uow, chain_id, type_id, body))


@router.post("/membership-types/{type_id}/duplicate", status_code=201, response_model=MembershipTypeOut)
async def duplicate_membership_type(chain_id: ChainId, type_id: str, request: Request) -> MembershipTypeOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return MembershipTypeOut.of(await usecases.duplicate_type(uow, chain_id, type_id))


@router.post("/membership-types/{type_id}/archive", response_model=MembershipTypeOut)
async def archive_membership_type(chain_id: ChainId, type_id: str, request: Request) -> MembershipTypeOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return MembershipTypeOut.of(await usecases.set_archived(uow, chain_id, type_id, True))


@router.post("/membership-types/{type_id}/restore", response_model=MembershipTypeOut)
async def restore_membership_type(chain_id: ChainId, type_id: str, request: Request) -> MembershipTypeOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return MembershipTypeOut.of(await usecases.set_archived(uow, chain_id, type_id, False))


# --- memberships ----------------------------------------------------------------------------------


@router.post(
    "/memberships/import",
    response_model=MembershipImportOut,
    response_model_exclude_none=True,
    summary="Memberships sold before the chain came to us, up to 1,000 at once: each issued as its "
    "membership.sold would be, each sale once",
)
async def import_memberships(chain_id: ChainId, body: MembershipImportIn, request: Request) -> MembershipImportOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.import_memberships(uow, chain_id, body)


@router.get("/memberships", response_model=list[MembershipOut], responses=PAGED)
async def find_memberships(
    chain_id: ChainId,
    request: Request,
    page: Paging,
    client_id: Annotated[str | None, Query(max_length=128)] = None,
    phone: Annotated[str | None, Query(max_length=32)] = None,
) -> list[MembershipOut]:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.find_memberships(conn, chain_id, client_id, phone, page)


@router.get("/memberships/{code_or_id}", response_model=MembershipOut)
async def get_membership(chain_id: ChainId, code_or_id: str, request: Request) -> MembershipOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_membership(conn, chain_id, code_or_id)


@router.get("/memberships/{code_or_id}/eligibility", response_model=EligibilityOut)
async def membership_eligibility(
    chain_id: ChainId,
    code_or_id: str,
    request: Request,
    service_id: Text,
    location_id: Text,
    phone: Annotated[str | None, Query(max_length=32)] = None,
) -> EligibilityOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.eligibility(conn, chain_id, code_or_id, service_id, location_id, phone, now())


@router.post("/memberships/{code_or_id}/freeze", response_model=MembershipOut)
async def freeze_membership(
    chain_id: ChainId, code_or_id: str, body: FreezeRequest, request: Request, who: Who = "api"
) -> MembershipOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.freeze(uow, chain_id, code_or_id, body.from_, body.days, now(), who, body.reason)


@router.post("/memberships/{code_or_id}/unfreeze", response_model=MembershipOut)
async def unfreeze_membership(
    chain_id: ChainId,
    code_or_id: str,
    request: Request,
    who: Who = "api",
    body: Annotated[UnfreezeRequest | None, Body()] = None,
) -> MembershipOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.unfreeze(uow, chain_id, code_or_id, now(), who, body.reason if body else None)


@router.patch("/memberships/{code_or_id}", response_model=MembershipOut)
async def edit_membership(
    chain_id: ChainId,
    code_or_id: str,
    body: EditRequest,
    request: Request,
    who: Who = "api",
    location_id: Annotated[str | None, Header(alias="X-Location-Id", max_length=128)] = None,
) -> MembershipOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.edit(uow, chain_id, code_or_id, body, location_id, now(), who)


# --- policies and reports -------------------------------------------------------------------------


@router.put("/locations/{location_id}/deduction-policy", response_model=DeductionPolicyIn)
async def put_deduction_policy(
    chain_id: ChainId, location_id: str, body: DeductionPolicyIn, request: Request
) -> DeductionPolicyIn:
    async with unit_of_work(request.app.state.pool) as uow:
        await usecases.put_policy(uow.conn, chain_id, location_id, body.model_dump(mode="json"))
    return body


@router.get("/locations/{location_id}/deduction-policy", response_model=DeductionPolicyIn)
async def get_deduction_policy(chain_id: ChainId, location_id: str, request: Request) -> DeductionPolicyIn:
    async with request.app.state.pool.snapshot() as conn:
        return DeductionPolicyIn.model_validate(await usecases.get_policy(conn, chain_id, location_id))


@router.get("/reports/memberships", response_model=list[ReportRow], responses=PAGED)
async def membership_report(
    chain_id: ChainId,
    request: Request,
    page: Paging,
    start: Annotated[AwareDatetime | date | None, Query(alias="from", description="a date or a time")] = None,
    end: Annotated[AwareDatetime | date | None, Query(alias="to", description="exclusive")] = None,
) -> list[ReportRow]:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.report(conn, chain_id, as_time(start), as_time(end), page)


@router.get(
    "/reports/memberships/sold",
    response_model=list[SoldRow],
    responses={**PAGED, **CSV_RESPONSE},
    summary="The memberships sold, one row each (JSON pages, or CSV: Accept: text/csv or format=csv)",
)
async def memberships_sold_report(
    chain_id: ChainId,
    request: Request,
    page: Paging,
    start: Annotated[
        AwareDatetime | date | None, Query(alias="from", description="sold at or after: a date or a time")
    ] = None,
    end: Annotated[AwareDatetime | date | None, Query(alias="to", description="sold before (exclusive)")] = None,
    location_id: Annotated[str | None, Query(min_length=1, max_length=128, description="the place of sale")] = None,
    membership_type_id: uuid.UUID | None = None,
    status: StatusFilter | None = None,
    format: Format | None = None,
) -> Any:
    f = SoldFilter(as_time(start), as_time(end), location_id, membership_type_id, status)

    async def read(page: Page) -> list[SoldRow]:
        async with request.app.state.pool.snapshot() as conn:
            return await usecases.sold_report(conn, chain_id, f, page)

    return await page_or_csv(request, page, format, read, SOLD_COLUMNS, filename="memberships-sold.csv")


@router.post(
    "/checkout/quote-part",
    response_model=MembershipsPart,
    summary="The checkout quote's memberships part (the gateway's POST .../checkout/quote asks it): changes nothing",
)
async def checkout_quote_part(chain_id: ReadChainId, body: QuotePartIn, request: Request) -> MembershipsPart:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.quote_part(conn, chain_id, body)
