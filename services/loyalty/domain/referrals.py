"""The referral program's rules, pure (the standard library only): a client (the referrer) brings a new
client (the invitee); the invitee gets a fixed discount on their first paid visit, the referrer a fixed
cashback on a card of the program's card type once that visit is paid.

- A referral is refused (`refusal`): the program off (`program_disabled`), a code no client holds
  (`unknown_code`), the referrer being the invitee (`self_referral`: the same client id, or the same
  E.164 phone), an invitee already referred (`already_referred`: the first recorded referrer wins),
  an invitee who already visited the chain (`already_a_client`).
- The invitee's discount is offered for the first paid visit only (`referral_offer`).
- The referrer is rewarded once (`reward`): on the earliest issued card of the program's type; no such
  card: `no_card` (reported, no points)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, get_args

from services.loyalty.domain.bonus import MAX_BALANCE
from services.loyalty.domain.cards import Card

ZERO = Decimal("0.00")

# Why a referral is not recorded, in the order they are checked.
REFUSALS = ("program_disabled", "unknown_code", "self_referral", "already_referred", "already_a_client")
# The referral discount a client about to pay is offered, or why not.
# A referral the visit will name (none recorded yet) that a rule would refuse says which (REFUSALS' own).
OfferCode = Literal[
    "first_visit_referral",
    "not_first_visit",
    "no_referral",
    "program_disabled",
    "unknown_code",
    "self_referral",
    "already_a_client",
]
OFFER_CODES: tuple[OfferCode, ...] = get_args(OfferCode)
OFFER_REASONS: dict[OfferCode, str] = {
    "first_visit_referral": "the client was referred and this is their first paid visit",
    "not_first_visit": "the referral discount applies to the first paid visit only",
    "no_referral": "the client was not referred by anyone",
    "program_disabled": "the chain's referral program is off",
    "unknown_code": "the referral code names no client of the chain",
    "self_referral": "a client cannot refer themselves (the same client or phone)",
    "already_a_client": "the client visited the chain before: a referral is for new clients",
}
# What became of a referral's reward: waiting for the invitee's first paid visit, paid, or not paid.
REWARD_STATUSES = ("pending", "rewarded", "no_card", "program_disabled", "balance_full")
SOURCES = ("api", "visit")

# Codes: 8 characters of an alphabet without look-alikes (0/O, 1/I/L): 31**8, about 8.5 * 10**11 codes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
MAX_CODE_LENGTH = 32  # what a code given to us may be (the visit's and the API's bound)
MAX_CASHBACK = Decimal("1000000.00")  # the referrer's reward: far more than any chain gives


@dataclass(frozen=True)
class ReferralProgram:
    enabled: bool
    invitee_discount_percent: Decimal
    referrer_cashback: Decimal
    card_type_id: str


@dataclass(frozen=True)
class Person:
    client_id: str
    phone: str | None = None  # E.164, or None when none (or no valid number) is known


@dataclass(frozen=True)
class Referral:
    invitee_id: str
    referrer_id: str
    source: str  # api or visit
    recorded_at: datetime
    first_visit_id: str | None = None  # the invitee's first paid visit, once paid
    reward_status: str = "pending"


@dataclass(frozen=True)
class Offer:
    """The referral discount for a client about to pay: `percent` (0 when not offered) and why."""

    percent: Decimal
    code: OfferCode

    @property
    def reason(self) -> str:
        return OFFER_REASONS[self.code]


@dataclass(frozen=True)
class Reward:
    status: str  # rewarded, no_card, program_disabled, balance_full
    amount: Decimal = ZERO  # the points accrued (0 unless rewarded)
    card: Card | None = None


def normalize_code(text: str) -> str:
    """A code as stored and compared: trimmed, upper case (a client reads it out, a desk types it)."""
    return text.strip().upper()


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def is_self_referral(invitee: Person, referrer: Person) -> bool:
    return invitee.client_id == referrer.client_id or (invitee.phone is not None and invitee.phone == referrer.phone)


def refusal(
    program: ReferralProgram | None,
    invitee: Person,
    referrer: Person | None,
    existing: Referral | None,
    invitee_visited: bool,
) -> str | None:
    """Why this referral is not recorded (REFUSALS), or None: record it. `referrer` None: the code named
    no client; `existing`: the invitee's referral already recorded; `invitee_visited`: any visit of the
    invitee loyalty has recorded in the chain."""
    if program is None or not program.enabled:
        return "program_disabled"
    if referrer is None:
        return "unknown_code"
    if is_self_referral(invitee, referrer):
        return "self_referral"
    if existing is not None:
        return "already_referred"
    if invitee_visited:
        return "already_a_client"
    return None


def referral_offer(program: ReferralProgram | None, referral: Referral | None, paid_before: bool) -> Offer:
    """The referral discount for a client about to pay: the program's invitee percent when they were
    referred and have no paid visit yet (`paid_before`: loyalty recorded a paid visit of theirs in the
    chain), else 0 and why."""
    if program is None or not program.enabled:
        return Offer(ZERO, "program_disabled")
    if referral is None:
        return Offer(ZERO, "no_referral")
    if paid_before or referral.first_visit_id is not None:
        return Offer(ZERO, "not_first_visit")
    return Offer(program.invitee_discount_percent, "first_visit_referral")


def refused_offer(why: str) -> Offer:
    """The offer for a referral the visit will name that `refusal` refuses (`why`): none, and which rule
    (a referral not recorded yet is never `already_referred`)."""
    code = next(c for c in OFFER_CODES if c == why)
    return Offer(ZERO, code)


def referral_discount_refusal(offer: Offer, percent: Decimal) -> str | None:
    """Why a referral discount a paid visit applied (`visit.paid` line `discount.source` `referral`) was
    not the client's to have (`offer`: `referral_offer` before the visit): the offer's code when none was
    offered, `percent_exceeds_offer` when more than offered; None: it stands."""
    if offer.code != "first_visit_referral":
        return offer.code
    return "percent_exceeds_offer" if percent > offer.percent else None


def reward_card(program: ReferralProgram, cards: Iterable[Card]) -> Card | None:
    """The referrer's card the reward goes to: the earliest issued of the program's card type."""
    of_type = [c for c in cards if c.card_type_id == program.card_type_id]
    return min(of_type, key=lambda c: (c.issued_at, c.id), default=None)


def reward(program: ReferralProgram | None, referrer_cards: Iterable[Card]) -> Reward:
    """What the referrer gets when the invitee's first visit is paid: the program's cashback on
    `reward_card`; nothing (and why) when the program is off, they hold no card of the type, or the
    card cannot hold more points."""
    if program is None or not program.enabled:
        return Reward("program_disabled")
    card = reward_card(program, referrer_cards)
    if card is None:
        return Reward("no_card")
    if card.balance + program.referrer_cashback > MAX_BALANCE:
        return Reward("balance_full", ZERO, card)
    return Reward("rewarded", program.referrer_cashback, card)
