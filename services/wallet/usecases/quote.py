"""The checkout quote's wallet part: the client's gift cards and which lines each could pay (the payment's
own checks: domain.check_card_payment, line by line), and what the client's account could pay (its balance,
plus the credit limit where the chain allows credit: domain.account_floor). Changes nothing."""

from __future__ import annotations

import uuid
from decimal import Decimal

import asyncpg

from services.wallet import domain
from services.wallet.repository import Repository
from shared import phones
from shared.paging import Page
from shared.quote import ZERO, AccountOption, Amount, CardLine, GiftCardOption, QuotePartIn, WalletPart

# The client's gift cards a quote looks at (bought or held; a client never has this many).
MAX_CARDS = 200
CENT = Decimal("0.01")  # "could it pay anything": the payment's balance check for the smallest amount

REASONS = {
    "pays": "the card may pay this line",
    domain.PaymentReason.SPENT.value: "the card is spent",
    domain.PaymentReason.EXPIRED.value: "the card has expired",
    domain.PaymentReason.WRONG_LOCATION.value: "the card's type is not valid at this location",
    domain.PaymentReason.NOT_APPLICABLE.value: "the card's type does not pay this kind of line or this service",
    domain.PaymentReason.PHONE_MISMATCH.value: "a card without a code pays only for its holder's phone",
    domain.PaymentReason.INSUFFICIENT_BALANCE.value: "the card holds nothing",
}


async def quote_part(conn: asyncpg.Connection, chain_id: str, q: QuotePartIn) -> WalletPart:
    repo = Repository(conn, chain_id)
    cards = await repo.cards_of(q.client.id, Page(limit=MAX_CARDS))
    phone = phones.e164(q.client.phone, phones.region(chain_id, q.location_id))
    options = [_card(card, q, phone) for card in cards]
    account = await repo.get_account(q.client.id) or domain.Account(chain_id, q.client.id)
    allow_credit = await repo.allow_credit()
    available = max(account.balance - domain.account_floor(account, allow_credit), ZERO)
    return WalletPart(
        gift_cards=options,
        account=AccountOption(
            balance=account.balance,
            credit_limit=account.credit_limit,
            allow_credit=allow_credit,
            available=available,
            code="account" if available > 0 else "nothing_available",
            reason=(
                f"the balance {account.balance}"
                + (f" and the credit limit {account.credit_limit}" if allow_credit else " (the chain allows no credit)")
            ),
        ),
    )


def _card(card: domain.GiftCard, q: QuotePartIn, phone: str | None) -> GiftCardOption:
    lines = []
    for i, line in enumerate(q.lines):
        facts = domain.LineFacts(line.kind, line.item_id, line.category_id)
        refused = domain.check_card_payment(card, facts, CENT, at=q.occurred_at, location_id=q.location_id, phone=phone)
        code = refused.value if refused is not None else "pays"
        lines.append(CardLine(line=i, pays=refused is None, code=code, reason=REASONS[code]))
    payable = sum((q.lines[x.line].sold for x in lines if x.pays), ZERO)
    usable = min(card.balance, payable)
    return GiftCardOption(
        gift_card_id=uuid.UUID(card.id),
        code_ref=card.code,
        balance=card.balance,
        valid_until=card.valid_until,
        lines=lines,
        usable=Amount(
            amount=usable,
            code="usable" if usable > 0 else "pays_no_line",
            reason="its balance, at most what the lines it pays are sold for"
            if usable > 0
            else "it pays none of the visit's lines",
        ),
        code="usable" if usable > 0 else "pays_no_line",
        reason=f"a {card.type.name} card, {card.balance} left",
    )
