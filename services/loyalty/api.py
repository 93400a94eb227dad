"""HTTP routes of the loyalty service (under /v1/chains/{chain_id}): routing only."""

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from services.loyalty import usecases
from services.loyalty.bonus_schemas import (
    CardImportIn,
    CardImportOut,
    CardIn,
    CardOut,
    CardTypeIn,
    CardTypeOut,
    CardTypePatch,
    ManualTransactionIn,
    PromotionIn,
    PromotionOut,
)
from services.loyalty.manual_schemas import ManualIn
from services.loyalty.report_schemas import (
    TRANSACTION_COLUMNS,
    Kind,
    TransactionFilter,
    TransactionRow,
    TransactionTotals,
)
from services.loyalty.schemas import ClientLoyaltyOut, ProgramIn, ProgramOut
from shared.auth import ChainId, ReadChainId
from shared.csv_export import CSV_RESPONSE, Format, page_or_csv
from shared.events import Time
from shared.paging import PAGED, Page, Paging
from shared.quote import LoyaltyPart, QuotePartIn
from shared.uow import unit_of_work

router = APIRouter(tags=["loyalty"])
LocationId = Annotated[str | None, Query(max_length=128)]


# --- the location program -----------------------------------------------------------------------


@router.put(
    "/locations/{location_id}/loyalty-program",
    response_model=ProgramOut,
    summary="Save the location program; every client of the location is recalculated in the background",
)
async def put_program(chain_id: ChainId, location_id: str, body: ProgramIn, request: Request) -> ProgramOut:
    async with unit_of_work(request.app.state.pool) as uow:
        out = await usecases.save_program(uow, chain_id, location_id, body)
    request.app.state.recalc.kick()
    return out


@router.get(
    "/locations/{location_id}/loyalty-program",
    response_model=ProgramOut,
    summary="The location program, and how far the recalculation of its clients got",
)
async def get_program(chain_id: ChainId, location_id: str, request: Request) -> ProgramOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_program(conn, chain_id, location_id)


@router.get("/clients/{client_id}/loyalty", response_model=ClientLoyaltyOut)
async def client_loyalty(
    chain_id: ChainId, client_id: str, request: Request, location_id: LocationId = None
) -> ClientLoyaltyOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.client_loyalty(conn, chain_id, client_id, location_id)


@router.patch(
    "/clients/{client_id}/loyalty",
    response_model=ClientLoyaltyOut,
    summary="Set or remove (null) the client's discount, level or categories by hand at a location; "
    "a manual value overrides the program's until removed",
)
async def set_manual(
    chain_id: ChainId,
    client_id: Annotated[str, Path(min_length=1, max_length=128)],
    body: ManualIn,
    request: Request,
    location_id: Annotated[str, Query(min_length=1, max_length=128)],
) -> ClientLoyaltyOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.set_manual(uow, chain_id, client_id, location_id, body.changes(), datetime.now(UTC))


@router.post(
    "/clients/{client_id}/loyalty/recalculate",
    response_model=ClientLoyaltyOut,
    summary="Recalculate now (at one location, or every location with a program)",
)
async def recalculate_client(
    chain_id: ChainId, client_id: str, request: Request, location_id: LocationId = None
) -> ClientLoyaltyOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.recalculate_client(uow, chain_id, client_id, location_id)


# --- the bonus program --------------------------------------------------------------------------


@router.post("/card-types", status_code=201, response_model=CardTypeOut)
async def create_card_type(chain_id: ChainId, body: CardTypeIn, request: Request) -> CardTypeOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.create_card_type(uow, chain_id, body)


@router.get("/card-types", response_model=list[CardTypeOut], responses=PAGED)
async def list_card_types(chain_id: ChainId, request: Request, page: Paging) -> list[CardTypeOut]:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.list_card_types(conn, chain_id, page)


@router.get("/card-types/{type_id}", response_model=CardTypeOut)
async def get_card_type(chain_id: ChainId, type_id: str, request: Request) -> CardTypeOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_card_type(conn, chain_id, type_id)


@router.patch("/card-types/{type_id}", response_model=CardTypeOut)
async def patch_card_type(chain_id: ChainId, type_id: str, body: CardTypePatch, request: Request) -> CardTypeOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.patch_card_type(uow, chain_id, type_id, body)


@router.post("/promotions", status_code=201, response_model=PromotionOut)
async def create_promotion(chain_id: ChainId, body: PromotionIn, request: Request) -> PromotionOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.create_promotion(uow, chain_id, body)


@router.get("/promotions", response_model=list[PromotionOut], responses=PAGED)
async def list_promotions(chain_id: ChainId, request: Request, page: Paging) -> list[PromotionOut]:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.list_promotions(conn, chain_id, page)


@router.get("/promotions/{promotion_id}", response_model=PromotionOut)
async def get_promotion(chain_id: ChainId, promotion_id: str, request: Request) -> PromotionOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_promotion(conn, chain_id, promotion_id)


@router.patch(
    "/promotions/{promotion_id}",
    response_model=PromotionOut,
    summary="Change some fields; the promotion is validated as a whole afterwards",
)
async def patch_promotion(
    chain_id: ChainId, promotion_id: str, request: Request, body: Annotated[dict[str, Any], Body()]
) -> PromotionOut:
    try:
        async with unit_of_work(request.app.state.pool) as uow:
            return await usecases.patch_promotion(uow, chain_id, promotion_id, body)
    except ValidationError as exc:  # the merged promotion broke a rule: 422 naming the field, as for a POST
        raise RequestValidationError(exc.errors()) from exc


@router.post("/cards", status_code=201, response_model=CardOut, response_model_exclude_none=True)
async def issue_card(chain_id: ChainId, body: CardIn, request: Request) -> CardOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.issue_card(uow, chain_id, body)


@router.post(
    "/cards/import",
    response_model=CardImportOut,
    summary="Many cards at once (up to 1,000), with opening balances: all or none; a card already "
    "issued to the same client on the same type is left as it is",
)
async def import_cards(chain_id: ChainId, body: CardImportIn, request: Request) -> CardImportOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.import_cards(uow, chain_id, body)


@router.get("/cards", response_model=list[CardOut], response_model_exclude_none=True, responses=PAGED)
async def find_cards(
    chain_id: ChainId, request: Request, page: Paging, client_id: Annotated[str | None, Query(max_length=128)] = None
) -> list[CardOut]:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.find_cards(conn, chain_id, client_id, page)


@router.get("/cards/{card_id}", response_model=CardOut, summary="A card (by id or number): balance and transactions")
async def get_card(chain_id: ChainId, card_id: str, request: Request) -> CardOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_card(conn, chain_id, card_id)


@router.post(
    "/cards/{card_id}/transactions", response_model=CardOut, summary="Manual accrual or write-off, with a reason"
)
async def card_transaction(chain_id: ChainId, card_id: str, body: ManualTransactionIn, request: Request) -> CardOut:
    async with unit_of_work(request.app.state.pool) as uow:
        card = await usecases.manual_transaction(
            uow, chain_id, card_id, body.kind, body.amount, body.reason, datetime.now(UTC)
        )
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_card(conn, chain_id, card.id)


# --- reports ---------------------------------------------------------------------------------------


def _report_filter(
    start: Time | date | None, end: Time | date | None, location_id: str | None, kind: Kind | None, card_id: str | None
) -> TransactionFilter:
    def moment(value: Time | date | None) -> datetime | None:  # a date: its start, UTC
        return (
            datetime.combine(value, time.min, UTC)
            if isinstance(value, date) and not isinstance(value, datetime)
            else value
        )

    return TransactionFilter(moment(start), moment(end), location_id, kind, card_id)


ReportStart = Annotated[Time | date | None, Query(alias="from", description="at or after: a date or a time")]
ReportEnd = Annotated[Time | date | None, Query(alias="to", description="before (exclusive)")]
ReportCard = Annotated[str | None, Query(min_length=1, max_length=128, description="a card's id or number")]
ReportLocation = Annotated[str | None, Query(min_length=1, max_length=128)]


@router.get(
    "/reports/loyalty-transactions",
    response_model=list[TransactionRow],
    responses={**PAGED, **CSV_RESPONSE},
    summary="Every card transaction of the chain (accrual, spend, burn, manual), oldest first, filtered "
    "(JSON pages, or CSV: Accept: text/csv or format=csv)",
)
async def loyalty_transactions_report(
    chain_id: ChainId,
    request: Request,
    page: Paging,
    start: ReportStart = None,
    end: ReportEnd = None,
    location_id: ReportLocation = None,
    kind: Kind | None = None,
    card_id: ReportCard = None,
    format: Format | None = None,
) -> Any:
    f = _report_filter(start, end, location_id, kind, card_id)

    async def read(page: Page) -> list[TransactionRow]:
        async with request.app.state.pool.snapshot() as conn:
            return await usecases.transactions_report(conn, chain_id, f, page)

    return await page_or_csv(request, page, format, read, TRANSACTION_COLUMNS, filename="loyalty-transactions.csv")


@router.get(
    "/reports/loyalty-transactions/totals",
    response_model=TransactionTotals,
    summary="The totals per kind of the transactions the report lists with the same filter",
)
async def loyalty_transactions_totals(
    chain_id: ChainId,
    request: Request,
    start: ReportStart = None,
    end: ReportEnd = None,
    location_id: ReportLocation = None,
    kind: Kind | None = None,
    card_id: ReportCard = None,
) -> TransactionTotals:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.transactions_totals(
            conn, chain_id, _report_filter(start, end, location_id, kind, card_id)
        )


@router.post(
    "/checkout/quote-part",
    response_model=LoyaltyPart,
    summary="The checkout quote's loyalty part (the gateway's POST .../checkout/quote asks it): changes nothing",
)
async def checkout_quote_part(chain_id: ReadChainId, body: QuotePartIn, request: Request) -> LoyaltyPart:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.quote_part(conn, chain_id, body)
