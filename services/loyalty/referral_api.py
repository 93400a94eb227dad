"""HTTP routes of the referral program (under /v1/chains/{chain_id}): routing only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from services.loyalty import usecases
from services.loyalty.api import ReportEnd, ReportStart, _report_filter
from services.loyalty.domain.referrals import MAX_CODE_LENGTH
from services.loyalty.referral_schemas import (
    REFERRAL_COLUMNS,
    ReferralCodeOut,
    ReferralIn,
    ReferralOfferOut,
    ReferralOut,
    ReferralProgramIn,
    ReferralProgramOut,
    ReferralRow,
)
from shared.auth import ChainId
from shared.csv_export import CSV_RESPONSE, Format, page_or_csv
from shared.events import VisitReferral
from shared.paging import PAGED, Page, Paging
from shared.uow import unit_of_work

router = APIRouter(tags=["loyalty"])
ClientId = Annotated[str, Path(min_length=1, max_length=128)]


@router.put(
    "/referral-program",
    response_model=ReferralProgramOut,
    summary="Set the chain's referral program: the invitee's discount on their first paid visit, the "
    "referrer's cashback on their card of `card_type_id`",
)
async def put_referral_program(chain_id: ChainId, body: ReferralProgramIn, request: Request) -> ReferralProgramOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.save_referral_program(uow, chain_id, body)


@router.get("/referral-program", response_model=ReferralProgramOut)
async def get_referral_program(chain_id: ChainId, request: Request) -> ReferralProgramOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_referral_program(conn, chain_id)


@router.post(
    "/referrals",
    status_code=201,
    response_model=ReferralOut,
    summary="Record who referred a new client (by the referrer's client id or code); 409 with the reason "
    "when a rule refuses it (program_disabled, unknown_code, self_referral, already_referred, already_a_client)",
)
async def record_referral(chain_id: ChainId, body: ReferralIn, request: Request) -> ReferralOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.record_referral(uow, chain_id, body, datetime.now(UTC))


@router.get(
    "/clients/{client_id}/referral-code",
    response_model=ReferralCodeOut,
    summary="The client's referral code in the chain: made on the first ask, the same ever after",
)
async def referral_code(chain_id: ChainId, client_id: ClientId, request: Request) -> ReferralCodeOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.referral_code(uow, chain_id, client_id)


@router.get(
    "/clients/{client_id}/referral-offer",
    response_model=ReferralOfferOut,
    summary="The referral discount the client would get on the visit about to be paid (their first paid "
    "visit only), or why none; the checkout quote's rule",
)
async def referral_offer(
    chain_id: ChainId,
    client_id: ClientId,
    request: Request,
    code: Annotated[str | None, Query(min_length=1, max_length=MAX_CODE_LENGTH)] = None,
    referrer_client_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    phone: Annotated[str | None, Query(max_length=32)] = None,
    visit_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> ReferralOfferOut:
    """`code` or `referrer_client_id`: the referral the visit will name (a client not referred yet);
    `visit_id`: the visit about to be paid (the client's arrival for it is not an earlier visit)."""
    try:
        named = VisitReferral(code=code, referrer_client_id=referrer_client_id) if code or referrer_client_id else None
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc
    async with request.app.state.pool.snapshot() as conn:
        offer = await usecases.referral_offer_for(conn, chain_id, client_id, named, phone, visit_id)
    return ReferralOfferOut(client_id=client_id, percent=offer.percent, code=offer.code, reason=offer.reason)


@router.get(
    "/reports/referrals",
    response_model=list[ReferralRow],
    responses={**PAGED, **CSV_RESPONSE},
    summary="The chain's referrals recorded in the period, oldest first: referrer, invitee, source, first "
    "visit, the reward's status and amount (JSON pages, or CSV: Accept: text/csv or format=csv)",
)
async def referrals_report(
    chain_id: ChainId,
    request: Request,
    page: Paging,
    start: ReportStart = None,
    end: ReportEnd = None,
    format: Format | None = None,
) -> Any:
    f = _report_filter(start, end, None, None, None)

    async def read(page: Page) -> list[ReferralRow]:
        async with request.app.state.pool.snapshot() as conn:
            return await usecases.referrals_report(conn, chain_id, f.start, f.end, page)

    return await page_or_csv(request, page, format, read, REFERRAL_COLUMNS, filename="referrals.csv")
