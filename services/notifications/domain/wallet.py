"""The wallet's notices (gift cards, client accounts): money as people read it, which notice an account
payment is, whether a gift card's holder is told too, and what the administrator reads about payments
that were not taken."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

# Why a gift card or account payment was not taken (wallet.payment_rejected), as the administrator reads
# it; a reason not listed here is written as its words.
PAYMENT_REJECTIONS = {
    "not_found": "no such card in the chain",
    "expired": "it has expired",
    "not_yet_active": "it is not valid yet",
    "wrong_location": "it is not valid at this location",
    "not_applicable": "it does not pay for this line",
    "insufficient_balance": "the balance is too low",
    "spent": "it was used already",
    "phone_mismatch": "the client's phone is not the card's",
    "archived_type": "its type is archived",
    "credit_limit_exceeded": "beyond the client's credit limit",
    "not_taken": "not taken, as another payment was refused",  # all or none: this one was fine
}

# Why a gift card sold was not issued (inventory.gift_card_sale_refused, told to the administrator).
GIFT_CARD_SALE_REFUSALS = {
    "code_taken": "the code is already in use",
    "type_not_found": "the gift card type is unknown",
    "archived": "the gift card type is archived",
    "code_required": "the type is sold with a code only",
    "phone_required": "a gift card without a code needs the client's phone",
    "phone_invalid": "the client's phone is not a usable number",
    "not_sold_online": "the type is not sold online",
    "wrong_location": "the type is not valid at this location",
}

# At most this many refused payments are named in one notice, the rest counted ("and 3 more"), and a reason
# without a text at most this long: the administrator's SMS stays short, and a notice far below the topic's
# message limit whatever the chain's template repeats.
NAMED_REJECTIONS = 3
REASON_WORDS = 40


def money(value: Decimal) -> str:
    """An amount as people read it: "500" for 500.00, "250.50", "-120"; never "250.5" or "1E+3"."""
    if value == value.to_integral_value():
        return format(value.quantize(Decimal(1)), "f")
    return format(value.quantize(Decimal("0.01")), "f")


def account_charged_type(balance: Decimal) -> str:
    """An account payment's notice: the plain one, or `account.below_zero` once the balance is under zero
    (paid on credit)."""
    return "account.below_zero" if balance < 0 else "account.charged"


def holder_is_told(buyer_phone: str | None, holder_phone: str | None) -> bool:
    """A gift card's holder gets a notice of their own when their phone (E.164) is given and is not the
    buyer's: the buyer's notice would reach them already, or nobody could be texted."""
    return holder_phone is not None and holder_phone != buyer_phone


@dataclass(frozen=True)
class RefusedPayment:
    """One payment the wallet did not take: its instrument, how it was named (a gift card's code; None
    for the account or a card named by id), its amount and why."""

    instrument: str
    code: str | None
    amount: Decimal
    reason: str


def refused_phrase(p: RefusedPayment) -> str:
    if p.instrument == "account":
        what = "account"
    else:
        what = f"gift card {p.code}" if p.code else "gift card without a code"
    why = PAYMENT_REJECTIONS.get(p.reason) or p.reason[:REASON_WORDS].replace("_", " ")
    return f"{what} {money(p.amount)}: {why}"


def refused_list(refused: Sequence[RefusedPayment]) -> str:
    """The payments not taken, those refused for a reason of their own first (then the ones held back
    with them, all or none), each in its order; the first NAMED_REJECTIONS named, the rest counted."""
    refused = sorted(refused, key=lambda p: p.reason == "not_taken")
    named = "; ".join(refused_phrase(p) for p in refused[:NAMED_REJECTIONS])
    rest = len(refused) - NAMED_REJECTIONS
    return f"{named}; and {rest} more" if rest > 0 else named


def payment_outcome(partial_payments: bool, taken: int) -> str:
    """What happened to the visit's other payments: all or none (none was taken), or each on its own."""
    if not partial_payments:
        return "No payment of the visit was taken."  # all or none
    if taken:
        return f"The other {taken} were taken." if taken > 1 else "The other one was taken."
    return "No payment of the visit was taken."
