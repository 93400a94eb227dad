"""`visit.paid`: take the lines' gift card and account payments. The batch's cards and accounts are locked
up front in one fixed order (cards by id, then accounts by client id), so two replicas paying with one card
wait for each other and the second sees what the first took: never an overdraft (and the tables' CHECKs are
the last guard). All of a visit's payments are taken or none, unless it says `partial_payments`."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import structlog

from services.wallet import domain
from services.wallet.repository import Repository
from services.wallet.usecases.refund import give_back
from services.wallet.usecases.sell import issue
from shared import phones, topics
from shared.consumer.inbox import claim_keys
from shared.events import (
    AccountCharged,
    GiftCardMovement,
    PaymentRejected,
    RejectedPayment,
    TakenPayment,
    VisitCancelled,
    VisitPaid,
)
from shared.sales import visit_gift_card_sales
from shared.uow import UnitOfWork

log = structlog.get_logger("wallet")


def payments_of(e: VisitPaid) -> list[domain.Payment]:
    return [
        domain.Payment(
            line=i,
            n=n,
            instrument=p.instrument,
            code=p.gift_card.code if p.gift_card else None,
            card_id=str(p.gift_card.id) if p.gift_card and p.gift_card.id else None,
            amount=p.amount,
            facts=domain.LineFacts(line.kind, line.item_id, line.category_id),
        )
        for i, line in enumerate(e.lines)
        for n, p in enumerate(line.payments)
    ]


class Instruments:
    """One chain's cards and accounts the batch pays with, locked, as the batch's earlier visits left them."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self.cards: dict[str, domain.GiftCard] = {}
        self.accounts: dict[str, domain.Account] = {}
        self.allow_credit = False

    async def lock(self, events: list[VisitPaid]) -> None:
        payments = [p for e in events for p in payments_of(e)]
        codes = [p.code for p in payments if p.code is not None]
        ids = [p.card_id for p in payments if p.card_id is not None]
        if codes or ids:
            self.cards = {c.id: c for c in await self.repo.lock_cards(codes, ids)}
        clients = [e.client.id for e in events if any(p.instrument == "account" for p in payments_of(e))]
        if clients:
            self.accounts = await self.repo.lock_accounts(clients)
            self.allow_credit = await self.repo.allow_credit()

    def card_of(self, p: domain.Payment) -> str | None:
        for card in self.cards.values():
            if (p.card_id is not None and card.id == p.card_id) or (
                p.code is not None and card.code is not None and card.code.upper() == p.code.upper()
            ):
                return card.id
        return None


@dataclass
class Writes:
    """What a chain's visits change, written in bulk: before anything reads it back (a cancellation's refund
    reads the visit's payments) and at the end of the chain's visits."""

    card_movements: list[tuple[Any, ...]] = field(default_factory=list)
    account_movements: list[tuple[Any, ...]] = field(default_factory=list)
    cards: dict[str, domain.GiftCard] = field(default_factory=dict)
    accounts: dict[str, domain.Account] = field(default_factory=dict)
    payments: list[tuple[Any, ...]] = field(default_factory=list)

    async def flush(self, repo: Repository) -> None:
        if self.card_movements:
            await repo.add_card_movements(self.card_movements)
        if self.account_movements:
            await repo.add_account_movements(self.account_movements)
        if self.cards:
            await repo.save_cards(list(self.cards.values()))
        if self.accounts:
            await repo.save_accounts(list(self.accounts.values()))
        if self.payments:
            await repo.add_payments(self.payments)
        for written in (self.card_movements, self.account_movements, self.cards, self.accounts, self.payments):
            written.clear()


async def sell_visit_cards(uow: UnitOfWork, events: list[VisitPaid]) -> None:
    """The gift cards the visits' lines sell, issued before their payments are taken, so one sold and spent
    in the same visit pays (inventory's `gift_card.sold` of it may come later). Each is issued as that
    message would be, under its sale id, claiming its inbox key (`sale:<sale_id>`): whichever of the two
    comes first decides the sale, once; the other is a duplicate."""
    sales = [s for e in events for s in visit_gift_card_sales(e)]
    if not sales:
        return
    claimed = await claim_keys(uow.conn, {(s.chain_id, f"sale:{s.sale_id}") for s in sales}, topics.GIFT_CARD_SOLD)
    for s in sales:
        if (s.chain_id, f"sale:{s.sale_id}") in claimed:
            await issue(uow, s)


async def pay_visits(uow: UnitOfWork, events: list[VisitPaid]) -> None:
    await sell_visit_cards(uow, events)
    by_chain: dict[str, list[VisitPaid]] = defaultdict(list)
    for e in events:
        if any(line.payments for line in e.lines):
            by_chain[e.chain_id].append(e)
    for chain_id in sorted(by_chain):  # one order for every batch: chains, then cards by id, then accounts
        instruments = Instruments(Repository(uow.conn, chain_id))
        await instruments.lock(by_chain[chain_id])
        cancelled = await instruments.repo.cancellations([e.visit_id for e in by_chain[chain_id]])
        writes = Writes()
        for e in by_chain[chain_id]:
            pay(uow, instruments, writes, e)
            if e.visit_id in cancelled:
                await writes.flush(instruments.repo)
                await undone(uow, instruments, e, VisitCancelled.model_validate(cancelled[e.visit_id]))
        await writes.flush(instruments.repo)


async def undone(uow: UnitOfWork, ins: Instruments, e: VisitPaid, cancellation: VisitCancelled) -> None:
    """A payment delivered after its visit's cancellation: one that happened before it (occurred_at not
    after the cancellation's: delivered out of order, across producers) is given back at once, as had they
    arrived in order; one that happened after it stands (the visit was paid after all, as memberships'
    visit.paid outranks a late cancellation)."""
    if not domain.cancellation_undoes(e.occurred_at, cancellation.occurred_at):
        return
    cards, accounts = await give_back(uow, cancellation)
    ins.cards.update(cards)
    ins.accounts.update(accounts)


def pay(uow: UnitOfWork, ins: Instruments, writes: Writes, e: VisitPaid) -> None:
    """Decides the visit's payments on the batch's instruments as earlier visits left them; what it takes goes
    to `writes`, its events to the outbox."""
    payments = payments_of(e)
    decided = domain.decide_visit(
        payments,
        card_of=ins.card_of,
        cards=ins.cards,
        account=ins.accounts.get(e.client.id),
        allow_credit=ins.allow_credit,
        at=e.occurred_at,
        location_id=e.location_id,
        phone=phones.e164(e.client.phone, phones.region(e.chain_id, e.location_id)),
        partial=e.partial_payments,
    )
    source = f"event:{e.event_id}"
    for t in decided.taken:
        p = t.payment
        if t.card_id is not None:
            card = decided.cards[t.card_id]
            writes.card_movements.append(
                (
                    uuid.UUID(card.id),
                    e.occurred_at,
                    "charge",
                    -t.taken,
                    t.balance,
                    e.location_id,
                    e.visit_id,
                    p.line,
                    source,
                    {"paid": str(p.amount)},
                )
            )
            event = GiftCardMovement(
                chain_id=e.chain_id,
                location_id=e.location_id,
                gift_card_id=uuid.UUID(card.id),
                code=card.code,
                type_name=card.type.name,
                client=e.client,
                visit_id=e.visit_id,
                line=p.line,
                amount=t.taken,
                balance=t.balance,
                status=t.status,  # type: ignore[arg-type]
                valid_until=card.valid_until,
            )
            uow.publish(topics.GIFT_CARD_CHARGED, e.client.id, event, cause=e)
        else:
            account = decided.account
            assert account is not None
            writes.account_movements.append(
                (
                    account.client_id,
                    e.occurred_at,
                    "charge",
                    -t.taken,
                    t.balance,
                    e.location_id,
                    e.visit_id,
                    p.line,
                    source,
                    None,
                    {},
                )
            )
            charged = AccountCharged(
                chain_id=e.chain_id,
                location_id=e.location_id,
                client_id=e.client.id,
                client=e.client,
                amount=t.taken,
                balance=t.balance,
                credit_limit=account.credit_limit,
                visit_id=e.visit_id,
                line=p.line,
            )
            uow.publish(topics.ACCOUNT_CHARGED, e.client.id, charged, cause=e)
    for card_id in {t.card_id for t in decided.taken if t.card_id is not None}:
        ins.cards[card_id] = writes.cards[card_id] = decided.cards[card_id]
    if decided.account is not None and any(t.card_id is None for t in decided.taken):
        ins.accounts[e.client.id] = writes.accounts[e.client.id] = decided.account
    writes.payments.extend(
        [
            (
                e.visit_id,
                t.payment.line,
                t.payment.n,
                t.payment.instrument,
                uuid.UUID(t.card_id) if t.card_id else None,
                e.client.id if t.card_id is None else None,
                t.payment.amount,
                t.taken,
                e.location_id,
                e.occurred_at,
            )
            for t in decided.taken
        ]
    )
    if decided.rejected:
        uow.publish(topics.WALLET_PAYMENT_REJECTED, e.client.id, rejection(e, decided, ins), cause=e)
    log.info(
        "visit_payments",
        event_id=e.event_id,
        chain_id=e.chain_id,
        taken=len(decided.taken),
        rejected=len(decided.rejected),
    )


def _payment(p: domain.Payment, ins: Instruments) -> dict[str, object]:
    card_id = ins.card_of(p) if p.instrument == "gift_card" else None
    return {"line": p.line, "instrument": p.instrument, "code": p.code, "id": p.card_id or card_id, "amount": p.amount}


def rejection(e: VisitPaid, decided: domain.Decided, ins: Instruments) -> PaymentRejected:
    return PaymentRejected(
        chain_id=e.chain_id,
        location_id=e.location_id,
        visit_id=e.visit_id,
        client=e.client,
        partial_payments=e.partial_payments,
        taken=[TakenPayment.model_validate(_payment(t.payment, ins)) for t in decided.taken],
        rejected=[
            RejectedPayment.model_validate({**_payment(p, ins), "reason": reason.value})
            for p, reason in decided.rejected
        ],
    )
