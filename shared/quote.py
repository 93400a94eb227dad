"""The checkout quote (issue 18): what a client could use on a visit about to be paid, and what it would
cost. The gateway answers `POST /v1/chains/{chain_id}/checkout/quote` by asking memberships, loyalty and
the wallet, in parallel, for their part (`POST .../checkout/quote-part`, the same body) and composing the
answers; each part runs the rules its service applies when the visit is paid, and changes nothing.

These are the models the parts and the composer share. Every number comes with its reason: a machine
code and plain words (`Reasoned`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from shared.events.base import Id, Money, NonNegativeMoney, Time
from shared.events.inbound import (
    MAX_LINE_AMOUNT,
    MAX_LINES,
    MAX_QUANTITY,
    Client,
    MembershipRef,
    VisitPaid,
    VisitReferral,
)
from shared.http import Body

ZERO = Decimal("0.00")
# A line a stored-value instrument may pay is a service or a product line: the kinds a discount applies to.
DISCOUNTED_KINDS = ("service", "product")


# --- the request ------------------------------------------------------------------------------------


class QuoteLine(Body):
    """A line of the visit about to be paid: `visit.paid`'s line without what the payment decides (`paid`,
    `payments`), with the same bounds. `membership`: the one the desk means to pay it with (the quote then
    checks that one; none: the quote picks the client's, by the rule a deduction without one uses)."""

    kind: Literal["service", "product", "membership", "gift_card"]
    item_id: Id
    category_id: Id | None = None
    quantity: Annotated[int, Field(gt=0, le=MAX_QUANTITY, strict=True)]
    sold: Annotated[NonNegativeMoney, Field(le=MAX_LINE_AMOUNT)]
    membership: MembershipRef | None = None


class QuoteIn(Body):
    location_id: Id
    # The visit about to be paid, as its `visit.paid` will name it (optional): its own record (the client
    # arrived for it) is then this visit, not an earlier one: a first visit stays the first (the referral
    # discount) and the history counts it once, as the payment does.
    visit_id: Id | None = None
    client: Client
    occurred_at: Time | None = None  # when the visit is paid; none: now
    channel: Literal["desk", "online"] = "desk"
    loyalty_card_id: Id | None = None
    # Who referred the client, as the visit's `visit.paid` will name it (its `referral`): a first visit
    # then gets the referral discount the payment will accept, though no referral is recorded yet.
    referral: VisitReferral | None = None
    lines: list[QuoteLine] = Field(min_length=1, max_length=MAX_LINES)

    @field_validator("lines")
    @classmethod
    def _units(cls, lines: list[QuoteLine]) -> list[QuoteLine]:
        VisitPaid._membership_total(lines)  # type: ignore[arg-type]  # visit.paid's bound: kind and quantity
        return lines


class QuotePartIn(QuoteIn):
    """What the gateway asks each part: the quote's body, the time fixed (`occurred_at` always given), and,
    for loyalty's second look, the lines a membership covers (paid 0: what the cashback is earned on)."""

    occurred_at: Time
    covered_lines: list[Annotated[int, Field(ge=0, lt=MAX_LINES)]] = Field(default_factory=list, max_length=MAX_LINES)


# --- reasons ------------------------------------------------------------------------------------------


class Reasoned(BaseModel):
    code: str
    reason: str


NOT_NAMED = "the quote names no visit (visit_id): it is quoted as a visit not paid yet"


class Amount(Reasoned):
    amount: Money


class Percent(Reasoned):
    percent: Decimal


class Unavailable(BaseModel):
    """A part that failed, timed out or answered what it should not: the quote goes on without it."""

    available: Literal[False] = False
    code: Literal["part_unavailable"] = "part_unavailable"
    reason: str


# --- memberships' part ----------------------------------------------------------------------------------


class MembershipOption(Reasoned):
    """One of the client's memberships, for one line: `usable` (code `usable`, or `chosen` for the one that
    would be taken), else why not (the deduction's reasons: expired, frozen, exhausted, phone_mismatch,
    service_not_included, location_not_allowed...)."""

    membership_id: uuid.UUID
    code_ref: str | None = Field(default=None, description="the membership's code (none: a no-code one)")
    type_id: uuid.UUID
    usable: bool
    valid_until: datetime | None = None
    visits_left: int | None = Field(default=None, description="of this line's service, before this line")


class MembershipLine(Reasoned):
    """A service line: the membership that would pay it (`chosen`), or none and why (`no_membership`,
    `none_eligible`, `unknown_code`, or the named one's reason), and every other with why not."""

    line: int
    covered: bool
    chosen: MembershipOption | None = None
    units: int = 0
    options: list[MembershipOption] = Field(default_factory=list)


class MembershipsPart(BaseModel):
    available: Literal[True] = True
    lines: list[MembershipLine]


# --- loyalty's part -------------------------------------------------------------------------------------


class DiscountOffer(Reasoned):
    """A discount a line qualifies for (`percent`), or one it does not (none, and the code saying why:
    the promotions' `wrong_location`, `line_not_covered`, `tier_not_reached`, `max_uses_reached`... or, for
    one that lost, `lower_percent`, `tie_lost`)."""

    source: Literal["personal", "promotion", "referral"]
    percent: Decimal | None
    promotion_id: uuid.UUID | None = None


class LineDiscount(Reasoned):
    """The discount a line would get (none: code `no_discount`, or why it gets none), the offers it
    qualified for, and the amount off its `sold`."""

    line: int
    chosen: DiscountOffer | None = None
    amount: Money = ZERO
    offers: list[DiscountOffer] = Field(default_factory=list)


class CardPoints(Reasoned):
    card_id: uuid.UUID
    number: str
    balance: Money
    spendable: bool


class Cashback(Reasoned):
    card_id: uuid.UUID
    number: str
    promotion_id: uuid.UUID
    amount: Money


class CashbackVariant(BaseModel):
    """The cashback of the visit with these lines paid 0 (a membership pays them)."""

    covered_lines: list[int]
    cashback: list[Cashback]
    cashback_total: Amount


class LoyaltyPart(BaseModel):
    available: Literal[True] = True
    # The visit the quote names (`visit_id`): `to_pay`, or `already_paid` (loyalty recorded its payment: paid
    # again, it changes nothing), `not_named` without one.
    visit: Reasoned
    personal_discount: Percent
    lines: list[LineDiscount]
    cards: list[CardPoints]
    points_available: Amount
    cashback: list[Cashback]
    cashback_total: Amount
    # Asked with no covered lines: the cashback were a membership to pay every service line (the gateway
    # takes it when the memberships part says so, instead of asking again).
    if_service_lines_covered: CashbackVariant | None = None


# --- the wallet's part ----------------------------------------------------------------------------------


class CardLine(Reasoned):
    line: int
    pays: bool


class GiftCardOption(Reasoned):
    """One of the client's gift cards: its balance and, per line, whether it may pay it (the payment's
    checks: spent, expired, wrong_location, not_applicable, phone_mismatch)."""

    gift_card_id: uuid.UUID
    code_ref: str | None = None
    balance: Money
    valid_until: datetime | None = None
    lines: list[CardLine]
    usable: Amount = Field(description="what it could pay on this visit: its balance, at most the lines it pays")


class AccountOption(Reasoned):
    balance: Money
    credit_limit: Money
    allow_credit: bool
    available: Money


class WalletPart(BaseModel):
    available: Literal[True] = True
    gift_cards: list[GiftCardOption]
    account: AccountOption


# --- the composed answer --------------------------------------------------------------------------------


class QuoteLineOut(BaseModel):
    line: int
    kind: str
    item_id: str
    sold: Money
    discount: LineDiscount | Unavailable
    membership: MembershipLine | Reasoned
    after_discounts: Amount


class Totals(BaseModel):
    sold: Amount
    discount: Amount
    membership_covered: Amount
    after_discounts: Amount
    points_available: Amount
    stored_value_available: Amount
    to_pay_before_points_and_stored_value: Amount


class QuoteOut(BaseModel):
    chain_id: str
    location_id: str
    client_id: str
    occurred_at: datetime
    visit_id: str | None = None
    visit: Reasoned  # the loyalty part's word on the visit named (`part_unavailable` without it)
    lines: list[QuoteLineOut]
    totals: Totals
    memberships: MembershipsPart | Unavailable
    loyalty: LoyaltyPart | Unavailable
    wallet: WalletPart | Unavailable
