"""HTTP routes of the wallet service (under /v1/chains/{chain_id}): routing only."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from services.wallet import usecases
from services.wallet.schemas import (
    ACCOUNT_REPORT_COLUMNS,
    GIFT_CARD_REPORT_COLUMNS,
    AccountAdjustmentIn,
    AccountOut,
    AccountReportRow,
    CardEditIn,
    CreditLimitIn,
    GiftCardOut,
    GiftCardReportRow,
    GiftCardTypeIn,
    GiftCardTypeOut,
    MovementOut,
    StatementOut,
    TopUpIn,
    TopUpOut,
    WalletSettingsIn,
)
from shared.auth import ChainId, ReadChainId
from shared.csv_export import CSV_RESPONSE, Format, page_or_csv
from shared.events import Time
from shared.paging import PAGED, Page, Paging
from shared.quote import QuotePartIn, WalletPart
from shared.uow import unit_of_work

router = APIRouter(tags=["wallet"])
# Who did it, for the account's history (a desk user's name; the API key is the chain's).
Who = Annotated[str, Header(alias="X-User", min_length=1, max_length=200)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=128)]


# --- gift card types ------------------------------------------------------------------------------


@router.post("/gift-card-types", status_code=201, response_model=GiftCardTypeOut)
async def create_gift_card_type(chain_id: ChainId, body: GiftCardTypeIn, request: Request) -> GiftCardTypeOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return GiftCardTypeOut.of(await usecases.create_type(uow, chain_id, body))


@router.get("/gift-card-types", response_model=list[GiftCardTypeOut], responses=PAGED)
async def list_gift_card_types(
    chain_id: ChainId, request: Request, page: Paging, archived: bool = False
) -> list[GiftCardTypeOut]:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.list_types(conn, chain_id, archived, page)


@router.get("/gift-card-types/{type_id}", response_model=GiftCardTypeOut)
async def get_gift_card_type(chain_id: ChainId, type_id: str, request: Request) -> GiftCardTypeOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_type(conn, chain_id, type_id)


@router.put("/gift-card-types/{type_id}", response_model=GiftCardTypeOut)
async def replace_gift_card_type(
    chain_id: ChainId, type_id: str, body: GiftCardTypeIn, request: Request
) -> GiftCardTypeOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return GiftCardTypeOut.of(await usecases.replace_type(uow, chain_id, type_id, body))


@router.post("/gift-card-types/{type_id}/archive", response_model=GiftCardTypeOut)
async def archive_gift_card_type(chain_id: ChainId, type_id: str, request: Request) -> GiftCardTypeOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return GiftCardTypeOut.of(await usecases.set_archived(uow, chain_id, type_id, True))


@router.post("/gift-card-types/{type_id}/restore", response_model=GiftCardTypeOut)
async def restore_gift_card_type(chain_id: ChainId, type_id: str, request: Request) -> GiftCardTypeOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return GiftCardTypeOut.of(await usecases.set_archived(uow, chain_id, type_id, False))


# --- gift cards ------------------------------------------------------------------------------------


@router.get("/gift-cards/{code_or_id}", response_model=GiftCardOut)
async def get_gift_card(chain_id: ChainId, code_or_id: str, request: Request) -> GiftCardOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_card(conn, chain_id, code_or_id)


@router.get("/gift-cards/{code_or_id}/history", response_model=list[MovementOut], responses=PAGED)
async def gift_card_history(chain_id: ChainId, code_or_id: str, request: Request, page: Paging) -> list[MovementOut]:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.card_history(conn, chain_id, code_or_id, page)


@router.patch("/gift-cards/{code_or_id}", response_model=GiftCardOut)
async def edit_gift_card(
    chain_id: ChainId, code_or_id: str, body: CardEditIn, request: Request, user: Who
) -> GiftCardOut:
    """An administrator sets a card's balance and/or validity, with the reason (its history keeps both
    values; `gift_card.adjusted`)."""
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.edit_card(uow, chain_id, code_or_id, body, user)


@router.get("/clients/{client_id}/gift-cards", response_model=list[GiftCardOut], responses=PAGED)
async def client_gift_cards(chain_id: ChainId, client_id: str, request: Request, page: Paging) -> list[GiftCardOut]:
    """The cards a client bought or holds."""
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.cards_of(conn, chain_id, client_id, page)


# --- accounts --------------------------------------------------------------------------------------


@router.get("/wallet-settings", response_model=WalletSettingsIn)
async def get_wallet_settings(chain_id: ChainId, request: Request) -> WalletSettingsIn:
    async with request.app.state.pool.snapshot() as conn:
        return WalletSettingsIn(allow_credit=await usecases.get_allow_credit(conn, chain_id))


@router.put("/wallet-settings", response_model=WalletSettingsIn)
async def put_wallet_settings(chain_id: ChainId, body: WalletSettingsIn, request: Request) -> WalletSettingsIn:
    async with unit_of_work(request.app.state.pool) as uow:
        return WalletSettingsIn(allow_credit=await usecases.set_allow_credit(uow, chain_id, body.allow_credit))


@router.get("/clients/{client_id}/account", response_model=AccountOut)
async def get_account(chain_id: ChainId, client_id: str, request: Request) -> AccountOut:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.get_account(conn, chain_id, client_id)


@router.put(
    "/clients/{client_id}/account",
    response_model=AccountOut,
    responses={409: {"description": "The client owes more than the new limit (credit_limit_below_debt)"}},
)
async def put_account(chain_id: ChainId, client_id: str, body: CreditLimitIn, request: Request) -> AccountOut:
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.set_credit_limit(uow, chain_id, client_id, body.credit_limit)


@router.post(
    "/clients/{client_id}/account/top-ups",
    status_code=201,
    response_model=TopUpOut,
    responses={409: {"description": "The Idempotency-Key topped up another account or amount"}},
)
async def top_up_account(
    chain_id: ChainId, client_id: str, body: TopUpIn, request: Request, user: Who, key: IdempotencyKey = None
) -> TopUpOut:
    """Money taken at the desk onto the client's account; with an Idempotency-Key, a repeated request
    answers the first one's top-up (`replayed` true) and moves nothing again."""
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.top_up(uow, chain_id, client_id, body, user, key)


@router.post(
    "/clients/{client_id}/account/adjustments",
    response_model=AccountOut,
    responses={409: {"description": "The balance would leave its range (balance_out_of_range)"}},
)
async def adjust_account(
    chain_id: ChainId, client_id: str, body: AccountAdjustmentIn, request: Request, user: Who
) -> AccountOut:
    """An administrator corrects the balance (a signed amount), with the reason (`account.adjusted`)."""
    async with unit_of_work(request.app.state.pool) as uow:
        return await usecases.adjust_account(uow, chain_id, client_id, body, user)


@router.get("/clients/{client_id}/account/movements", response_model=list[MovementOut], responses=PAGED)
async def account_movements(chain_id: ChainId, client_id: str, request: Request, page: Paging) -> list[MovementOut]:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.movements(conn, chain_id, client_id, page)


@router.get("/clients/{client_id}/account/statement", response_model=StatementOut)
async def account_statement(
    chain_id: ChainId, client_id: str, request: Request, since: Time, until: Time
) -> StatementOut:
    """The balance at `since`, what came in and went out until `until` (exclusive), the balance then, and
    the movements between (at most 1,000; `truncated` when more)."""
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.statement(conn, chain_id, client_id, since, until)


# --- reports ---------------------------------------------------------------------------------------

Location = Annotated[str | None, Query(min_length=1, max_length=128)]


@router.get(
    "/reports/gift-cards",
    response_model=list[GiftCardReportRow],
    responses={**PAGED, **CSV_RESPONSE},
    summary="Gift cards by type and location: sold, used, refunded in the period; active and outstanding now "
    "(JSON pages, or CSV: Accept: text/csv or format=csv)",
)
async def gift_card_report(
    chain_id: ChainId,
    request: Request,
    page: Paging,
    since: Time | None = None,
    until: Time | None = None,
    location_id: Location = None,
    gift_card_type_id: uuid.UUID | None = None,
    format: Format | None = None,
) -> object:
    async def read(p: Page) -> list[GiftCardReportRow]:
        async with request.app.state.pool.snapshot() as conn:
            return await usecases.gift_card_report(conn, chain_id, since, until, location_id, gift_card_type_id, p)

    return await page_or_csv(request, page, format, read, GIFT_CARD_REPORT_COLUMNS, filename="gift-cards.csv")


@router.get(
    "/reports/accounts",
    response_model=list[AccountReportRow],
    responses={**PAGED, **CSV_RESPONSE},
    summary="Every client account: balance and credit limit now, money in and out in the period (at a "
    "location: its movements there) (JSON pages, or CSV)",
)
async def account_report(
    chain_id: ChainId,
    request: Request,
    page: Paging,
    since: Time | None = None,
    until: Time | None = None,
    location_id: Location = None,
    format: Format | None = None,
) -> object:
    async def read(p: Page) -> list[AccountReportRow]:
        async with request.app.state.pool.snapshot() as conn:
            return await usecases.account_report(conn, chain_id, since, until, location_id, p)

    return await page_or_csv(request, page, format, read, ACCOUNT_REPORT_COLUMNS, filename="accounts.csv")


@router.post(
    "/checkout/quote-part",
    response_model=WalletPart,
    summary="The checkout quote's wallet part (the gateway's POST .../checkout/quote asks it): changes nothing",
)
async def checkout_quote_part(chain_id: ReadChainId, body: QuotePartIn, request: Request) -> WalletPart:
    async with request.app.state.pool.snapshot() as conn:
        return await usecases.quote_part(conn, chain_id, body)
