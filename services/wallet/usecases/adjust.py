"""An administrator's edits, each with its reason, in the instrument's history and on a topic: a card's
balance or validity (`gift_card.adjusted`), an account's balance (`account.adjusted`)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from services.wallet import domain
from services.wallet.repository import Repository
from services.wallet.schemas import AccountAdjustmentIn, AccountOut, CardEditIn, GiftCardOut
from services.wallet.usecases.accounts import account_out
from services.wallet.usecases.deposit import MAX_BALANCE
from shared import topics
from shared.errors import Conflict, Invalid, NotFound
from shared.events import AccountAdjusted, Client, GiftCardAdjusted
from shared.uow import UnitOfWork


async def edit_card(uow: UnitOfWork, chain_id: str, code_or_id: str, body: CardEditIn, user: str) -> GiftCardOut:
    if body.balance is None and body.valid_until is None:
        raise Invalid("nothing_to_edit", "give balance, valid_until or both", "balance")
    repo = Repository(uow.conn, chain_id)
    found = await repo.get_card(code_or_id)
    if found is None:
        raise NotFound("gift_card_not_found", f"no gift card {code_or_id}")
    [before] = await repo.lock_cards_by_id([found.id])
    now = datetime.now(UTC)
    after = domain.edit_card(before, body.balance, body.valid_until)
    await repo.save_card(after)
    await repo.add_card_movement(
        after,
        at=now,
        kind="adjust",
        amount=after.balance - before.balance,
        source=f"user:{user}",
        detail={"reason": body.reason, "valid_until_before": _iso(before.valid_until),
                "valid_until_after": _iso(after.valid_until)},
    )  # fmt: skip
    event = GiftCardAdjusted(
        chain_id=chain_id,
        location_id=after.location_id,
        gift_card_id=uuid.UUID(after.id),
        code=after.code,
        client=Client(id=after.holder_id or after.client_id),
        balance_before=before.balance,
        balance_after=after.balance,
        valid_until_before=before.valid_until,
        valid_until_after=after.valid_until,
        reason=body.reason,
        user=user,
    )
    uow.publish(topics.GIFT_CARD_ADJUSTED, after.holder_id or after.client_id, event)
    return GiftCardOut.of(after)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def adjust_account(
    uow: UnitOfWork, chain_id: str, client_id: str, body: AccountAdjustmentIn, user: str
) -> AccountOut:
    repo = Repository(uow.conn, chain_id)
    account = (await repo.lock_accounts([client_id]))[client_id]
    balance = account.balance + body.amount
    if balance > MAX_BALANCE or balance < -account.credit_limit:
        raise Conflict(
            "balance_out_of_range",
            f"the balance would be {balance}: an account holds at most {MAX_BALANCE} and owes at most its credit "
            f"limit ({account.credit_limit})",
            "amount",
        )
    account = replace(account, balance=balance)
    await repo.save_account(account)
    await repo.add_account_movement(
        account,
        at=datetime.now(UTC),
        kind="adjust",
        amount=body.amount,
        source=f"user:{user}",
        location_id=body.location_id,
        detail={"reason": body.reason},
    )
    event = AccountAdjusted(
        chain_id=chain_id,
        location_id=body.location_id,
        client_id=client_id,
        client=Client(id=client_id),
        amount=body.amount,
        balance=account.balance,
        credit_limit=account.credit_limit,
        reason=body.reason,
        user=user,
    )
    uow.publish(topics.ACCOUNT_ADJUSTED, client_id, event)
    return account_out(account, await repo.allow_credit())
