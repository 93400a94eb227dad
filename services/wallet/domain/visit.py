"""What a paid visit's instrument payments take: each checked in the visit's order (line, then position
in the line) against the cards and the account as the earlier payments of the visit left them.
`partial` false: all or none (any refusal takes nothing, the payments that passed are refused `not_taken`);
true: each one on its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from services.wallet.domain.model import Account, GiftCard, PaymentReason
from services.wallet.domain.rules import LineFacts, charge_card, check_account_payment, check_card_payment


@dataclass(frozen=True)
class Payment:
    line: int
    n: int  # its place among the line's payments
    instrument: str  # gift_card | account
    code: str | None
    card_id: str | None  # as the visit named it (a no-code card's id)
    amount: Decimal
    facts: LineFacts


@dataclass(frozen=True)
class Taken:
    payment: Payment
    taken: Decimal  # what left the instrument (a single write-off card: its whole balance)
    card_id: str | None
    balance: Decimal  # the instrument's, right after this payment
    status: str = "active"  # the card's, right after this payment


@dataclass(frozen=True)
class Decided:
    taken: list[Taken]
    rejected: list[tuple[Payment, PaymentReason]]
    cards: dict[str, GiftCard]  # every card involved, after the visit
    account: Account | None  # after the visit


def decide_visit(
    payments: list[Payment],
    *,
    card_of: Callable[[Payment], str | None],
    cards: dict[str, GiftCard],
    account: Account | None,
    allow_credit: bool,
    at: datetime,
    location_id: str,
    phone: str | None,
    partial: bool,
) -> Decided:
    now_cards, now_account = dict(cards), account
    taken: list[Taken] = []
    rejected: list[tuple[Payment, PaymentReason]] = []
    for p in payments:
        if p.instrument == "gift_card":
            card_id = card_of(p)
            card = now_cards.get(card_id) if card_id is not None else None
            reason = check_card_payment(card, p.facts, p.amount, at=at, location_id=location_id, phone=phone)
            if reason is not None:
                rejected.append((p, reason))
                continue
            assert card is not None and card_id is not None
            after, left = charge_card(card, p.amount)
            now_cards[card_id] = after
            taken.append(Taken(p, left, card_id, after.balance, after.status))
        else:
            assert now_account is not None
            reason = check_account_payment(now_account, p.amount, allow_credit=allow_credit)
            if reason is not None:
                rejected.append((p, reason))
                continue
            now_account = replace(now_account, balance=now_account.balance - p.amount)
            taken.append(Taken(p, p.amount, None, now_account.balance))
    if rejected and not partial:
        refused = rejected + [(t.payment, PaymentReason.NOT_TAKEN) for t in taken]
        refused.sort(key=lambda r: (r[0].line, r[0].n))
        return Decided([], refused, dict(cards), account)
    return Decided(taken, rejected, now_cards, now_account)
