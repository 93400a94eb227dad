"""The bonus program on a paid visit (points spent, cashback accrued), by hand (manual accrual and
write-off with a reason), and by the burn job (a notice before, then the unused points burn)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from services.loyalty import domain
from services.loyalty.domain.books import Books
from services.loyalty.domain.cards import Card, CardType
from services.loyalty.domain.earning import earns_for, visit_time
from services.loyalty.domain.visits import visit_totals
from services.loyalty.repository import Repository, chains_with_lots_due
from shared import topics
from shared.db import as_uuid
from shared.errors import Conflict, NotFound
from shared.events import (
    BonusAccrued,
    BonusBurned,
    BonusBurning,
    BonusSpendRejected,
    BonusSpent,
    Client,
    VisitPaid,
)
from shared.jobs import PerChain
from shared.uow import UnitOfWork


def _card_fields(
    chain_id: str, card: Card, balance: Decimal, name: str | None = None, location_id: str | None = None
) -> dict[str, Any]:
    return {
        "chain_id": chain_id,
        "location_id": location_id,
        "card_id": uuid.UUID(card.id),
        "card_number": card.number,
        "card_type_id": uuid.UUID(card.card_type_id),
        "client": Client(id=card.client_id, phone=card.phone, name=name),
        "balance": balance,
    }


# What a decision publishes: (topic, key, event); the handler publishes it once the batch is saved.
Message = tuple[str, str, BaseModel]


def bonus_on_visit(books: Books, e: VisitPaid) -> list[Message]:
    """Points first spent on the visit (from the card it names), then cashback accrued: on the card the
    visit names, or else on every card of the client valid at the location. Decided on the batch's
    books (each visit sees the balances, lots and uses the earlier ones left)."""
    named: Card | None = None
    if e.loyalty_card_id:
        named = named_card(books, e.chain_id, e.loyalty_card_id)
        if named is None:
            raise ValueError(f"loyalty_card_id: no loyalty card {e.loyalty_card_id!r} in chain {e.chain_id}")
    elif e.bonus_spent > 0:
        raise ValueError("bonus_spent: points spent without a loyalty_card_id")
    out: list[Message] = []
    if named is not None and e.bonus_spent > 0:
        out += _spend(books, e, named)
    cards = [named] if named is not None else books.cards_of(e.chain_id, e.client.id)
    visit_at = visit_time(books.visit(e.chain_id, e.visit_id), e.occurred_at)
    for card in cards:
        card_type = books.card_type(e.chain_id, card)
        if card_type is not None and card_type.valid_at(e.location_id) and earns_for(card, visit_at):
            out += _accrue(books, e, card, card_type)
    return out


def named_card(books: Books, chain_id: str, ref: str) -> Card | None:
    """The card a visit names, by its id or its number (what a cashier types)."""
    as_id = as_uuid(ref)
    return books.card_by_ref(chain_id, ref, str(as_id) if as_id else None)


def _spend(books: Books, e: VisitPaid, card: Card) -> list[Message]:
    card_type = books.card_type(e.chain_id, card)
    name = e.client.name
    reason = None
    if card_type is None or not card_type.valid_at(e.location_id):
        reason = "location_not_allowed"
    elif books.take_oldest(e.chain_id, card.id, e.bonus_spent) is None:
        reason = "insufficient_balance"
    if reason is not None:
        return [
            (
                topics.LOYALTY_BONUS_SPEND_REJECTED,
                card.client_id,
                BonusSpendRejected(
                    **_card_fields(e.chain_id, card, card.balance, name, e.location_id),
                    requested=e.bonus_spent,
                    visit_id=e.visit_id,
                    reason=reason,
                ),
            )
        ]
    balance = books.move_points(
        e.chain_id, card.id, e.occurred_at, "spend", -e.bonus_spent, visit_id=e.visit_id, location_id=e.location_id
    )
    return [
        (
            topics.LOYALTY_BONUS_SPENT,
            card.client_id,
            BonusSpent(
                **_card_fields(e.chain_id, card, balance, name, e.location_id),
                amount=e.bonus_spent,
                kind="spend",
                visit_id=e.visit_id,
            ),
        )
    ]


def _accrue(books: Books, e: VisitPaid, card: Card, card_type: CardType) -> list[Message]:
    visit = domain.Visit(*visit_totals(e.lines))
    out: list[Message] = []
    for promotion in books.promotions_of(e.chain_id, card.card_type_id):
        if promotion.is_discount or not promotion.active_at(e.location_id):  # a discount: usecases/discounts.py
            continue
        history = books.history(
            e.chain_id,
            e.client.id,
            promotion.history_locations(card_type.location_ids),
            promotion.history_start,
            e.occurred_at,
            e.visit_id,
        )
        uses = books.uses[(e.chain_id, card.id, promotion.id)] if promotion.max_uses else 0
        amount = domain.cashback(promotion, visit, history, uses)
        if amount <= 0:
            continue
        burns_at = promotion.burns_at(e.occurred_at)
        books.add_lot(
            e.chain_id,
            card.id,
            e.occurred_at,
            amount,
            burns_at,
            promotion.notice_at(burns_at),
            promotion.id,
            e.visit_id,
        )
        balance = books.move_points(
            e.chain_id,
            card.id,
            e.occurred_at,
            "accrual",
            amount,
            visit_id=e.visit_id,
            promotion_id=promotion.id,
            location_id=e.location_id,
        )
        out.append(
            (
                topics.LOYALTY_BONUS_ACCRUED,
                card.client_id,
                BonusAccrued(
                    **_card_fields(e.chain_id, card, balance, e.client.name, e.location_id),
                    amount=amount,
                    kind="cashback",
                    visit_id=e.visit_id,
                    promotion_id=uuid.UUID(promotion.id),
                    burns_at=burns_at,
                ),
            )
        )
    return out


async def manual_transaction(
    uow: UnitOfWork, chain_id: str, card_ref: str, kind: str, amount: Decimal, reason: str, at: datetime
) -> Card:
    """A manual accrual (points that never burn) or write-off (oldest points first), with its reason."""
    repo = Repository(uow.conn, chain_id)
    card = await repo.card(card_ref, lock=True)
    if card is None:
        raise NotFound("card_not_found", f"no card {card_ref}")
    if kind == "accrue":
        if card.balance + amount > domain.MAX_BALANCE:
            raise Conflict(
                "balance_too_large",
                f"the card holds {card.balance} points: {amount} more would pass "
                f"the largest balance, {domain.MAX_BALANCE}",
                field="amount",
            )
        await repo.add_lot(card.id, at, amount, None, None, None, None)
        balance = await repo.move_points(card.id, at, "manual", amount, reason=reason)
        uow.publish(
            topics.LOYALTY_BONUS_ACCRUED,
            card.client_id,
            BonusAccrued(**_card_fields(chain_id, card, balance), amount=amount, kind="manual"),
        )
    else:
        take = domain.take_oldest(await repo.lots(card.id), amount)
        if take is None:
            raise Conflict("insufficient_balance", f"the card holds {card.balance} points, fewer than {amount}")
        await repo.take_from_lots(take.taken)
        balance = await repo.move_points(card.id, at, "manual", -amount, reason=reason)
        uow.publish(
            topics.LOYALTY_BONUS_SPENT,
            card.client_id,
            BonusSpent(**_card_fields(chain_id, card, balance), amount=amount, kind="manual"),
        )
    found = await repo.card(card.id)
    assert found is not None
    return found


async def burn_job(uow: UnitOfWork, chain_id: str, as_of: datetime) -> dict[str, Any]:
    """Notices for points that burn within their promotion's `burn_notice_days`, then the burning of
    every lot whose time has come (what is left of it), in one chain. Idempotent: a lot is noticed
    once, burned once."""
    noticed = burned_cards = 0
    burned = Decimal("0")
    repo = Repository(uow.conn, chain_id)
    due = await repo.cards_due_to_burn(as_of)
    cards = {c.id: c for c in await repo.cards_by_ids(due)}  # locked, in id order
    per_card: dict[str, Decimal] = defaultdict(Decimal)
    for lot in await repo.lots_to_burn(as_of):
        per_card[str(lot["card_id"])] += lot["amount"]
    late = sorted(set(per_card) - set(cards))  # a lot accrued (back-dated) since we looked
    cards.update({c.id: c for c in await repo.cards_by_ids(late)} if late else {})
    for card_id, amount in sorted(per_card.items()):
        card = cards[card_id]
        balance = await repo.move_points(card_id, as_of, "burn", -amount, reason="burn_after")
        uow.publish(
            topics.LOYALTY_BONUS_BURNED,
            card.client_id,
            BonusBurned(**_card_fields(chain_id, card, balance), amount=amount),
        )
        burned += amount
        burned_cards += 1
    notices: dict[tuple[str, datetime], Decimal] = defaultdict(Decimal)
    for lot in await repo.lots_to_notice(as_of):
        notices[(str(lot["card_id"]), lot["burns_at"])] += lot["remaining"]
    if notices:
        noticed_cards = {c.id: c for c in await repo.cards_by_ids(sorted({k[0] for k in notices}))}
        for (card_id, burns_at), amount in sorted(notices.items()):
            card = noticed_cards[card_id]
            uow.publish(
                topics.LOYALTY_BONUS_BURNING,
                card.client_id,
                BonusBurning(**_card_fields(chain_id, card, card.balance), amount=amount, burns_at=burns_at),
            )
            noticed += 1
    return {"notices": noticed, "cards_burned": burned_cards, "points_burned": str(burned)}


# The scheduler's run: every chain with lots due, each on its own (shared/jobs.py).
BURN_JOB = PerChain(chains=chains_with_lots_due, run=burn_job)
