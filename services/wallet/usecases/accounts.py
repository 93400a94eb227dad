"""Reading and setting accounts: balance, credit limit, the chain's credit switch, history, statement."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import asyncpg

from services.wallet import domain
from services.wallet.repository import Repository
from services.wallet.schemas import AccountOut, MovementOut, StatementOut
from shared.errors import Conflict, Invalid
from shared.paging import Page
from shared.uow import UnitOfWork

STATEMENT_MOVEMENTS = 1000


def account_out(account: domain.Account, allow_credit: bool) -> AccountOut:
    return AccountOut(
        client_id=account.client_id,
        balance=account.balance,
        credit_limit=account.credit_limit,
        allow_credit=allow_credit,
        available=account.balance - domain.account_floor(account, allow_credit),
    )


async def get_account(conn: asyncpg.Connection, chain_id: str, client_id: str) -> AccountOut:
    repo = Repository(conn, chain_id)
    account = await repo.get_account(client_id) or domain.Account(chain_id, client_id)
    return account_out(account, await repo.allow_credit())


async def set_credit_limit(uow: UnitOfWork, chain_id: str, client_id: str, credit_limit: Decimal) -> AccountOut:
    repo = Repository(uow.conn, chain_id)
    account = (await repo.lock_accounts([client_id]))[client_id]
    if not domain.credit_limit_fits(account, credit_limit):
        raise Conflict(
            "credit_limit_below_debt",
            f"the client owes {-account.balance}; the credit limit is never set below that",
            "credit_limit",
        )
    account = replace(account, credit_limit=credit_limit)
    await repo.save_account(account)
    return account_out(account, await repo.allow_credit())


async def set_allow_credit(uow: UnitOfWork, chain_id: str, allow: bool) -> bool:
    await Repository(uow.conn, chain_id).set_allow_credit(allow)
    return allow


async def get_allow_credit(conn: asyncpg.Connection, chain_id: str) -> bool:
    return await Repository(conn, chain_id).allow_credit()


async def movements(conn: asyncpg.Connection, chain_id: str, client_id: str, page: Page) -> list[MovementOut]:
    return [MovementOut.of(r) for r in await Repository(conn, chain_id).account_movements(client_id, page)]


async def statement(
    conn: asyncpg.Connection, chain_id: str, client_id: str, since: datetime, until: datetime
) -> StatementOut:
    if until <= since:
        raise Invalid("until_not_after_since", "until must be after since", "until")
    repo = Repository(conn, chain_id)
    opening = await repo.balance_at(client_id, since)
    totals = await repo.period_totals(client_id, since, until)
    rows = await repo.account_movements(client_id, Page(limit=STATEMENT_MOVEMENTS), since, until)
    return StatementOut(
        client_id=client_id,
        since=since,
        until=until,
        opening_balance=opening,
        money_in=totals["money_in"],
        money_out=totals["money_out"],
        closing_balance=opening + totals["money_in"] - totals["money_out"],
        movements=[MovementOut.of(r) for r in rows],
        truncated=totals["movements"] > STATEMENT_MOVEMENTS,
    )
