"""`visit.cancelled`: what the visit's gift cards and account paid goes back, once (the payments are marked
refunded). The cancellation is kept: a `visit.paid` delivered after it whose payment happened before it
(pay_visit.py) is given back with it as it is taken, as had they arrived in order. A card that has expired
meanwhile gets nothing back (the money would be forfeited at once); a single write-off card gets its whole
balance back and is active again."""

from __future__ import annotations

import uuid

import structlog

from services.wallet import domain
from services.wallet.repository import Repository
from shared import topics
from shared.events import AccountRefunded, GiftCardMovement, VisitCancelled
from shared.uow import UnitOfWork

log = structlog.get_logger("wallet")


async def refund_visits(uow: UnitOfWork, events: list[VisitCancelled]) -> None:
    for e in events:
        await refund(uow, e)


async def refund(uow: UnitOfWork, e: VisitCancelled) -> None:
    await Repository(uow.conn, e.chain_id).add_cancellation(e.visit_id, e.occurred_at, e.model_dump(mode="json"))
    await give_back(uow, e)


async def give_back(uow: UnitOfWork, e: VisitCancelled) -> tuple[dict[str, domain.GiftCard], dict[str, domain.Account]]:
    """Gives back the visit's payments not given back yet; answers the cards and accounts as it left them."""
    repo = Repository(uow.conn, e.chain_id)
    rows = await repo.unrefunded_payments(e.visit_id, e.occurred_at)
    if not rows:
        return {}, {}
    card_ids = sorted({str(r["gift_card_id"]) for r in rows if r["gift_card_id"] is not None})
    cards = {c.id: c for c in await repo.lock_cards_by_id(card_ids)} if card_ids else {}
    clients = [r["client_id"] for r in rows if r["client_id"] is not None]
    accounts = await repo.lock_accounts(clients) if clients else {}
    source = f"event:{e.event_id}"
    for r in rows:
        common = {
            "at": e.occurred_at,
            "kind": "refund",
            "amount": r["taken"],
            "source": source,
            "location_id": e.location_id,
            "visit_id": e.visit_id,
            "line": r["line"],
        }
        if r["gift_card_id"] is not None:
            card = cards[str(r["gift_card_id"])]
            back = domain.refund_card(card, r["taken"], e.occurred_at)
            if back is None:
                log.info("gift_card_refund_forfeited", event_id=e.event_id, chain_id=e.chain_id)
                continue
            cards[card.id] = back
            await repo.add_card_movement(back, **common)
            uow.publish(
                topics.GIFT_CARD_REFUNDED,
                e.client.id,
                GiftCardMovement(
                    chain_id=e.chain_id,
                    location_id=e.location_id,
                    gift_card_id=uuid.UUID(back.id),
                    code=back.code,
                    type_name=back.type.name,
                    client=e.client,
                    visit_id=e.visit_id,
                    line=r["line"],
                    amount=r["taken"],
                    balance=back.balance,
                    status=back.status,  # type: ignore[arg-type]
                    valid_until=back.valid_until,
                ),
                cause=e,
            )
        else:
            account = accounts[r["client_id"]]
            account = domain.Account(
                account.chain_id, account.client_id, account.balance + r["taken"], account.credit_limit
            )
            accounts[account.client_id] = account
            await repo.add_account_movement(account, **common)
            uow.publish(
                topics.ACCOUNT_REFUNDED,
                account.client_id,
                AccountRefunded(
                    chain_id=e.chain_id,
                    location_id=e.location_id,
                    client_id=account.client_id,
                    client=e.client if e.client.id == account.client_id else None,
                    amount=r["taken"],
                    balance=account.balance,
                    credit_limit=account.credit_limit,
                    visit_id=e.visit_id,
                    line=r["line"],
                ),
                cause=e,
            )
    for card in cards.values():
        await repo.save_card(card)
    for account in accounts.values():
        await repo.save_account(account)
    await repo.mark_refunded(e.visit_id, e.occurred_at)
    return cards, accounts
