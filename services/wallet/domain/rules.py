"""The wallet's rules, one named function each (pure): may a sale issue a card, what a card or an account
may pay, what a payment and a refund do to them, what an all-or-nothing visit takes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from services.wallet.domain.model import (
    ZERO,
    Account,
    GiftCard,
    GiftCardType,
    IssueReason,
    PaymentReason,
    valid_until,
)

SERVICE_KINDS = ("service",)
PRODUCT_KINDS = ("product",)


def check_sale(
    t: GiftCardType | None,
    code: str | None,
    location_id: str,
    *,
    channel: str,
    phone: str | None,
    phone_given: bool,
) -> IssueReason | None:
    """May this sale issue a card of type `t`? (The code's uniqueness is the repository's.) `phone`: the
    holder's (else the buyer's) in E.164, which a no-code card binds to."""
    if t is None:
        return IssueReason.TYPE_NOT_FOUND
    if t.archived:
        return IssueReason.ARCHIVED
    if not t.valid_at(location_id):
        return IssueReason.WRONG_LOCATION
    if channel == "online" and not t.online_sale:
        return IssueReason.NOT_SOLD_ONLINE
    if code is None and not t.allow_without_code:
        return IssueReason.CODE_REQUIRED
    if code is None and phone is None:
        return IssueReason.PHONE_INVALID if phone_given else IssueReason.PHONE_REQUIRED
    return None


def starting_balance(t: GiftCardType) -> Decimal:
    """A card starts at its type's par value, whatever was paid for it (a discount)."""
    return t.par_value


def card_valid_until(t: GiftCardType, sold_at: datetime) -> datetime | None:
    return valid_until(t.validity, sold_at)


@dataclass(frozen=True)
class LineFacts:
    """What a payment's line is: its kind, item and category."""

    kind: str
    item_id: str
    category_id: str | None = None


def applies(t: GiftCardType, line: LineFacts) -> bool:
    """The type's application limits: `any` pays every line; `services` service lines only; `products`
    product lines only; `some_services_and_products` products and the services named (by id or
    category); `some_services` the services named, no products. A membership or gift card line is neither
    a service nor a product: only `any` pays it."""
    limits = t.limits
    named = line.item_id in limits.service_ids or (
        line.category_id is not None and line.category_id in limits.category_ids
    )
    match limits.applies_to:
        case "any":
            return True
        case "services":
            return line.kind in SERVICE_KINDS
        case "products":
            return line.kind in PRODUCT_KINDS
        case "some_services_and_products":
            return line.kind in PRODUCT_KINDS or (line.kind in SERVICE_KINDS and named)
        case "some_services":
            return line.kind in SERVICE_KINDS and named
    return False


def is_expired(card: GiftCard, at: datetime) -> bool:
    return card.status == "expired" or (card.valid_until is not None and at >= card.valid_until)


def check_card_payment(
    card: GiftCard | None, line: LineFacts, amount: Decimal, *, at: datetime, location_id: str, phone: str | None
) -> PaymentReason | None:
    """May `card` pay `amount` of `line` at a visit at `location_id` and time `at`, of a client with `phone`
    (E.164)? The first failing check is the reason."""
    if card is None:
        return PaymentReason.NOT_FOUND
    if card.status == "spent":
        return PaymentReason.SPENT
    if is_expired(card, at):
        return PaymentReason.EXPIRED
    if not card.type.valid_at(location_id):
        return PaymentReason.WRONG_LOCATION
    if not applies(card.type, line):
        return PaymentReason.NOT_APPLICABLE
    if card.code is None and (phone is None or phone != card.phone):
        return PaymentReason.PHONE_MISMATCH
    if amount > card.balance:
        return PaymentReason.INSUFFICIENT_BALANCE
    return None


def charge_card(card: GiftCard, amount: Decimal) -> tuple[GiftCard, Decimal]:
    """The card after paying `amount`, and what left it: a single write-off card is spent whole on its
    first use (balance 0, whatever the amount); a multiple one until its balance is 0."""
    taken = card.balance if card.type.write_off == "single" else amount
    balance = card.balance - taken
    return replace(card, balance=balance, status="spent" if balance == ZERO else "active"), taken


def refund_card(card: GiftCard, taken: Decimal, at: datetime) -> GiftCard | None:
    """The card with `taken` given back (active again), or None when it has expired meanwhile: the money
    would be forfeited again at once, so nothing goes back."""
    if is_expired(card, at):
        return None
    return replace(card, balance=card.balance + taken, status="active")


def account_floor(account: Account, allow_credit: bool) -> Decimal:
    """How low the balance may go: minus the client's credit limit where the chain allows credit, else 0."""
    return -account.credit_limit if allow_credit else ZERO


def check_account_payment(account: Account, amount: Decimal, *, allow_credit: bool) -> PaymentReason | None:
    if account.balance - amount >= account_floor(account, allow_credit):
        return None
    return PaymentReason.CREDIT_LIMIT_EXCEEDED if allow_credit else PaymentReason.INSUFFICIENT_BALANCE


def credit_limit_fits(account: Account, credit_limit: Decimal) -> bool:
    """A credit limit is never set below what the client already owes."""
    return account.balance >= -credit_limit


def edit_card(card: GiftCard, balance: Decimal | None, valid_until: datetime | None) -> GiftCard:
    """An administrator's edit: the balance and/or the validity set as given; a card with a balance is
    active again (a spent one topped back up), one at 0 is spent."""
    new_balance = card.balance if balance is None else balance
    return replace(
        card,
        balance=new_balance,
        valid_until=card.valid_until if valid_until is None else valid_until,
        status="spent" if new_balance == ZERO else "active",
    )


def cancellation_undoes(paid_at: datetime, cancelled_at: datetime) -> bool:
    """A visit's payment delivered after its cancellation is given back when it happened before it (or at
    the same moment): the booking system's own moments decide, not the order of delivery. One that happened
    after it stands: the visit was paid after all."""
    return paid_at <= cancelled_at
