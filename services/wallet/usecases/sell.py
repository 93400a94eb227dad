"""`gift_card.sold`: issue the card (a typed code, a generated one for "auto", or none) at its type's par
value, once per sale id; or refuse it, with the reason (`gift_card.issue_rejected`)."""

from __future__ import annotations

import uuid

import asyncpg
import structlog

from services.wallet import domain
from services.wallet.repository import Repository
from shared import phones, topics
from shared.events import GiftCardIssued, GiftCardIssueRejected, GiftCardSold
from shared.uow import UnitOfWork

log = structlog.get_logger("wallet")
AUTO = "auto"


async def sell(uow: UnitOfWork, events: list[GiftCardSold]) -> None:
    for e in events:
        await issue(uow, e)


async def _code(repo: Repository, given: str | None) -> str | None:
    if given is None or given.lower() != AUTO:
        return given
    while True:  # 31**9 codes: a clash is rare, two in a row rarer still
        code = domain.generate_code()
        if not await repo.code_taken(code):
            return code


async def issue(uow: UnitOfWork, e: GiftCardSold) -> None:
    repo = Repository(uow.conn, e.chain_id)
    t = await repo.get_type(str(e.gift_card_type_id))
    code = await _code(repo, e.code)
    owner = e.holder or e.client  # a no-code card binds to the holder's phone, else the buyer's
    region = phones.region(e.chain_id, e.location_id)
    phone = phones.e164(owner.phone, region)
    reason = domain.check_sale(
        t, code, e.location_id, channel=e.channel, phone=phone, phone_given=phones.given(owner.phone)
    )
    if reason is None and await repo.sale_issued(e.sale_id):
        log.info("gift_card_sale_already_issued", event_id=e.event_id, chain_id=e.chain_id, sale_id=e.sale_id)
        return
    if reason is None and code is not None and await repo.code_taken(code):
        reason = domain.IssueReason.CODE_TAKEN
    if reason is None:
        assert t is not None
        card = domain.GiftCard(
            id=str(uuid.uuid4()),
            chain_id=e.chain_id,
            type=t,
            code=code,
            sale_id=e.sale_id,
            client_id=e.client.id,
            holder_id=e.holder.id if e.holder else None,
            phone=phone,
            location_id=e.location_id,
            price=e.price,
            balance=domain.starting_balance(t),
            status="active",
            sold_at=e.occurred_at,
            valid_until=domain.card_valid_until(t, e.occurred_at),
        )
        try:
            async with uow.conn.transaction():  # a savepoint: a code taken meanwhile by another replica
                await repo.add_card(
                    card, e.client.model_dump(mode="json"), e.holder.model_dump(mode="json") if e.holder else None
                )
        except asyncpg.UniqueViolationError:
            if await repo.sale_issued(e.sale_id):
                return
            reason = domain.IssueReason.CODE_TAKEN
        else:
            await repo.add_card_movement(
                card,
                at=e.occurred_at,
                kind="issue",
                amount=card.balance,
                source=f"event:{e.event_id}",
                location_id=e.location_id,
                detail={"sale_id": e.sale_id, "price": str(e.price)},
            )
            issued = GiftCardIssued(
                chain_id=e.chain_id,
                location_id=e.location_id,
                gift_card_id=uuid.UUID(card.id),
                gift_card_type_id=e.gift_card_type_id,
                type_name=t.name,
                code=code,
                sale_id=e.sale_id,
                client=e.client,
                holder=e.holder,
                balance=card.balance,
                valid_until=card.valid_until,
            )
            uow.publish(topics.GIFT_CARD_ISSUED, e.client.id, issued, cause=e)
            log.info("gift_card_issued", event_id=e.event_id, chain_id=e.chain_id, sale_id=e.sale_id)
            return
    rejected = GiftCardIssueRejected(
        chain_id=e.chain_id,
        location_id=e.location_id,
        sale_id=e.sale_id,
        gift_card_type_id=e.gift_card_type_id,
        code=e.code,
        client=e.client,
        reason=reason.value,
    )
    uow.publish(topics.GIFT_CARD_ISSUE_REJECTED, e.client.id, rejected, cause=e)
    log.info("gift_card_issue_rejected", event_id=e.event_id, chain_id=e.chain_id, reason=reason.value)
