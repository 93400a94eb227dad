"""Topping up a client's account: `account.deposit` (once per deposit id; one that would take the balance
past MAX_BALANCE moves nothing and is refused, `account.deposit_refused`) and the desk's
POST .../account/top-ups (once per Idempotency-Key; the client's phone, when the desk gives it, in E.164 in
its `account.topped_up`, so the client is told). The account is locked before the once-key is looked
at, so two deliveries or two requests at once top it up once."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import structlog

from services.wallet.domain import Account
from services.wallet.repository import Repository
from services.wallet.schemas import TopUpClientIn, TopUpIn, TopUpOut
from shared import phones, topics
from shared.errors import Conflict, Invalid
from shared.events import AccountDeposit, AccountDepositRefused, AccountToppedUp, Client
from shared.uow import UnitOfWork

log = structlog.get_logger("wallet")

# The most an account holds (11 integer digits): room left in a NUMERIC(14,2) for the client's credit limit
# and a statement's sums.
MAX_BALANCE = Decimal("99999999999.99")


async def deposit(uow: UnitOfWork, events: list[AccountDeposit]) -> None:
    """The batch's deposits, chain by chain: its accounts locked and its deposit ids looked up at once, each
    deposit applied once (a redelivery, or the same deposit twice in the batch, is a no-op), written in bulk."""
    by_chain: dict[str, list[AccountDeposit]] = defaultdict(list)
    for e in events:
        by_chain[e.chain_id].append(e)
    for chain_id in sorted(by_chain):
        repo, mine = Repository(uow.conn, chain_id), by_chain[chain_id]
        accounts = await repo.lock_accounts([e.client.id for e in mine])
        done = await repo.movements_once([f"deposit:{e.deposit_id}" for e in mine])
        movements: list[tuple[Any, ...]] = []
        changed: dict[str, Account] = {}
        for e in mine:
            once = f"deposit:{e.deposit_id}"
            if once in done:
                continue
            done.add(once)
            if not _fits(accounts[e.client.id], e.amount):
                _refuse(uow, e, accounts[e.client.id], "balance_too_large")
                continue
            account = accounts[e.client.id] = changed[e.client.id] = replace(
                accounts[e.client.id], balance=accounts[e.client.id].balance + e.amount
            )
            detail = {"method": e.method, "comment": e.comment, "deposit_id": e.deposit_id}
            at, source = e.occurred_at, f"event:{e.event_id}"
            movements.append(
                (e.client.id, at, "top_up", e.amount, account.balance, e.location_id, None, None, source, once, detail)
            )
            event = AccountToppedUp(**_of_deposit(e, account), source="deposit")
            uow.publish(topics.ACCOUNT_TOPPED_UP, e.client.id, event, cause=e)
        if changed:
            await repo.save_accounts(list(changed.values()))
            await repo.add_account_movements(movements)


def _fits(account: Account, amount: Decimal) -> bool:
    return account.balance + amount <= MAX_BALANCE


def _of_deposit(e: AccountDeposit, account: Account) -> dict[str, Any]:
    """What a deposit's events say of it and of the account (its balance: after, or unchanged when refused)."""
    return {
        "chain_id": e.chain_id,
        "location_id": e.location_id,
        "client_id": e.client.id,
        "client": e.client,
        "amount": e.amount,
        "balance": account.balance,
        "credit_limit": account.credit_limit,
        "deposit_id": e.deposit_id,
        "method": e.method,
    }


def _refuse(uow: UnitOfWork, e: AccountDeposit, account: Account, reason: str) -> None:
    """The deposit moves nothing: the booking system learns why (`account.deposit_refused`), the batch goes on."""
    refused = AccountDepositRefused(**_of_deposit(e, account), reason=reason)
    uow.publish(topics.ACCOUNT_DEPOSIT_REFUSED, e.client.id, refused, cause=e)
    log.info("account_deposit_refused", event_id=e.event_id, chain_id=e.chain_id, reason=reason)


def _answer(client_id: str, row: asyncpg.Record, replayed: bool) -> TopUpOut:
    return TopUpOut(client_id=client_id, amount=row["amount"], balance=row["balance"], at=row["at"], replayed=replayed)


def _desk_client(chain_id: str, client_id: str, body: TopUpIn) -> Client:
    """The client as the top-up's event names them: the phone the desk gave in E.164 (read in the location's
    region), so the client can be told; text that is no phone number is refused."""
    given = body.client or TopUpClientIn()
    phone = phones.e164_at(given.phone, chain_id, body.location_id)
    if phones.given(given.phone) and phone is None:
        raise Invalid("phone_invalid", "client.phone: not a phone number of any country", "client.phone")
    return Client(id=client_id, phone=phone, name=given.name)


async def top_up(
    uow: UnitOfWork, chain_id: str, client_id: str, body: TopUpIn, user: str, idempotency_key: str | None
) -> TopUpOut:
    client = _desk_client(chain_id, client_id, body)
    repo = Repository(uow.conn, chain_id)
    account = (await repo.lock_accounts([client_id]))[client_id]
    once = f"desk:{idempotency_key}" if idempotency_key else None
    if once is not None and (before := await repo.movement_once(once)) is not None:
        if before["client_id"] != client_id or Decimal(before["amount"]) != body.amount:
            raise Conflict(
                "idempotency_key_reused",
                "this Idempotency-Key topped up another account or amount; a new top-up takes a new key",
                "Idempotency-Key",
            )
        return _answer(client_id, before, True)
    if not _fits(account, body.amount):
        raise Conflict("balance_too_large", f"an account holds at most {MAX_BALANCE}", "amount")
    account = replace(account, balance=account.balance + body.amount)
    await repo.save_account(account)
    row = await repo.add_account_movement(
        account,
        at=datetime.now(UTC),
        kind="top_up",
        amount=body.amount,
        source=f"user:{user}",
        location_id=body.location_id,
        once_key=once,
        detail={"method": body.method, "comment": body.comment},
    )
    event = AccountToppedUp(
        chain_id=chain_id,
        location_id=body.location_id,
        client_id=client_id,
        client=client,
        amount=body.amount,
        balance=account.balance,
        credit_limit=account.credit_limit,
        operation_id=str(row["id"]),
        method=body.method,
        source="desk",
        user=user,
    )
    uow.publish(topics.ACCOUNT_TOPPED_UP, client_id, event)
    return _answer(client_id, row, False)
