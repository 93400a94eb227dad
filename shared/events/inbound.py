"""Inbound messages, published by booking systems: `visit.*`, `membership.sold`, `gift_card.sold` and
`account.deposit`.

Every field is bounded (texts, numbers, list lengths): what a booking system never sends (a 1 MB name,
a quantity of 10**12, 100,000 lines) is refused at validation and dead-lettered naming the field, rather
than stored, texted to a client or left to fail in a handler. So is the work one message may cause: a
`visit.paid` sells at most MAX_MEMBERSHIP_UNITS memberships (each one a `membership.sold`), so a visit
that would make millions is refused whole by every service that reads it, never partly applied."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from shared.events.base import STORABLE, Id, Model, Money, NonNegativeMoney, Time


class Envelope(Model):
    event_id: Id
    occurred_at: Time
    chain_id: Id
    location_id: Id


# Far more than a booking system puts on one visit, far less than would hurt.
MAX_LINES = 200
MAX_LINE_AMOUNT = Decimal("4999999999.99")
MAX_QUANTITY = 10_000
# The memberships one visit (or one inventory operation) sells: each unit is a `membership.sold`, a
# membership issued and its notices. A company buying gift memberships for its staff stays far below.
MAX_MEMBERSHIP_UNITS = 100
# A visit sells at most MAX_MEMBERSHIP_UNITS of each (a gift card unit is a `gift_card.sold` and a card issued).
UNITS = {"membership": "memberships", "gift_card": "gift cards"}
Code = Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True), STORABLE]


class Client(Model):
    id: Id
    # E.164 has at most 15 digits; room for spaces, dashes and a "+".
    phone: Annotated[str, StringConstraints(max_length=32), STORABLE] | None = None
    name: Annotated[str, StringConstraints(max_length=200), STORABLE] | None = None


class MembershipRef(Model):
    """How a line names the membership that pays for it: its code, or its id for a no-code one."""

    code: Code | None = None
    id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _one_of(self) -> MembershipRef:
        if (self.code is None) == (self.id is None):
            raise ValueError("give exactly one of membership.code or membership.id")
        return self


# Instrument payments one line names (gift cards, the client's account): more than a desk splits a line into.
MAX_LINE_PAYMENTS = 10
PositiveMoney = Annotated[Money, Field(gt=0, le=MAX_LINE_AMOUNT)]


class GiftCardRef(Model):
    """How a payment names the gift card that pays: its code, or its id for a no-code card."""

    code: Code | None = None
    id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _one_of(self) -> GiftCardRef:
        if (self.code is None) == (self.id is None):
            raise ValueError("give exactly one of gift_card.code or gift_card.id")
        return self


class LinePayment(Model):
    """Part of a line's `paid` taken from a stored-value instrument (the wallet service takes it): a gift
    card (named by `gift_card`) or the client's account (no reference: the visit's client's)."""

    instrument: Literal["gift_card", "account"]
    gift_card: GiftCardRef | None = None
    amount: PositiveMoney

    @model_validator(mode="after")
    def _reference(self) -> LinePayment:
        if self.instrument == "gift_card" and self.gift_card is None:
            raise ValueError("gift_card: a gift card payment names its card (code or id)")
        if self.instrument == "account" and self.gift_card is not None:
            raise ValueError("gift_card: an account payment names no gift card")
        return self


class VisitReferral(Model):
    """`visit.paid`'s `referral`: who brought the client, named on the client's first visit: the referrer's
    code (`GET .../clients/{id}/referral-code`) or the referrer's client id; exactly one."""

    code: Code | None = None
    referrer_client_id: Id | None = None

    @model_validator(mode="after")
    def _one_of(self) -> VisitReferral:
        if (self.code is None) == (self.referrer_client_id is None):
            raise ValueError("give exactly one of referral.code or referral.referrer_client_id")
        return self


class LineDiscount(Model):
    """The discount the booking system applied to a line (it learned it from the checkout quote): its
    source, the promotion for a promotion's, the percent and the money it took off the line's `sold`."""

    source: Literal["promotion", "personal", "referral"]
    promotion_id: uuid.UUID | None = None  # the discount promotion's id: source promotion only
    percent: Annotated[Money, Field(gt=0, le=100)]
    amount: Annotated[NonNegativeMoney, Field(le=MAX_LINE_AMOUNT)]

    @model_validator(mode="after")
    def _promotion(self) -> LineDiscount:
        if (self.source == "promotion") != (self.promotion_id is not None):
            raise ValueError("promotion_id: a promotion's discount names its promotion, another source none")
        return self


class VisitLine(Model):
    kind: Literal["service", "product", "membership", "gift_card"]
    item_id: Id
    category_id: Id | None = None
    storage_id: Id | None = None
    quantity: Annotated[int, Field(gt=0, le=MAX_QUANTITY, strict=True)]  # a JSON integer: not true, "2" or 2.0
    # At most MAX_LINES of these make a visit's totals, which a NUMERIC(14,2) must hold (loyalty adds them
    # up): 200 x 4,999,999,999.99 < 10**12.
    sold: Annotated[NonNegativeMoney, Field(le=MAX_LINE_AMOUNT)]
    paid: Annotated[NonNegativeMoney, Field(le=MAX_LINE_AMOUNT)]
    membership: MembershipRef | None = None
    code: Annotated[str, StringConstraints(min_length=1, max_length=32), STORABLE] | None = None
    # A gift card line: who receives the cards when not the buyer (a no-code card binds to this phone).
    # Left out of the serialization when absent (as every field added later), so a message published before
    # it existed keeps its inbox digest.
    holder: Client | None = Field(default=None, exclude_if=lambda holder: holder is None)
    payments: list[LinePayment] = Field(
        default_factory=list, max_length=MAX_LINE_PAYMENTS, exclude_if=lambda payments: not payments
    )
    # The discount applied to the line (one at most: no stacking); left out when none.
    discount: LineDiscount | None = Field(default=None, exclude_if=lambda discount: discount is None)

    @model_validator(mode="after")
    def _membership_units(self) -> VisitLine:
        if self.kind in ("membership", "gift_card") and self.quantity > MAX_MEMBERSHIP_UNITS:
            raise ValueError(
                f"quantity: a {self.kind} line sells at most {MAX_MEMBERSHIP_UNITS} {UNITS[self.kind]}, "
                f"not {self.quantity}"
            )
        return self

    @model_validator(mode="after")
    def _discount_within_sold(self) -> VisitLine:
        if self.discount is not None and self.discount.amount > self.sold:
            raise ValueError(f"discount: its amount {self.discount.amount} is more than the line's sold ({self.sold})")
        return self

    @model_validator(mode="after")
    def _payments_within_paid(self) -> VisitLine:
        taken = sum((p.amount for p in self.payments), Decimal("0"))
        if taken > self.paid:
            raise ValueError(f"payments: they add up to {taken}, more than the line's paid ({self.paid})")
        return self


class VisitPaid(Envelope):
    visit_id: Id
    client: Client
    loyalty_card_id: Id | None = None
    bonus_spent: NonNegativeMoney = Decimal("0")
    lines: list[VisitLine] = Field(default_factory=list, max_length=MAX_LINES)
    # false: the visit's instrument payments are taken all or none; true: each on its own.
    partial_payments: bool = Field(default=False, exclude_if=lambda partial: not partial)
    # How the visit was booked (the online booking discount needs `online`); left out when `desk`.
    channel: Literal["desk", "online"] = Field(default="desk", exclude_if=lambda channel: channel == "desk")
    # Who referred the client, named on their first visit (the referral program); left out when unset.
    referral: VisitReferral | None = Field(default=None, exclude_if=lambda referral: referral is None)

    @field_validator("lines")
    @classmethod
    def _membership_total(cls, lines: list[VisitLine]) -> list[VisitLine]:
        for kind, what in UNITS.items():
            units = sum(line.quantity for line in lines if line.kind == kind)
            if units > MAX_MEMBERSHIP_UNITS:
                raise ValueError(f"the {kind} lines sell {units} {what}; a visit sells at most {MAX_MEMBERSHIP_UNITS}")
        return lines

    @property
    def sold_total(self) -> Decimal:
        return sum((line.sold for line in self.lines), Decimal("0"))

    @property
    def paid_total(self) -> Decimal:
        return sum((line.paid for line in self.lines), Decimal("0"))


class VisitService(Model):
    service_id: Id
    membership: MembershipRef | None = None


class VisitStatus(Envelope):
    """`visit.status_arrived` and `visit.status_no_show`."""

    visit_id: Id
    client: Client
    scheduled_at: Time
    services: list[VisitService] = Field(default_factory=list, max_length=MAX_LINES)


class VisitCancelled(VisitStatus):
    cancelled_at: Time


class MembershipSold(Envelope):
    sale_id: Id
    membership_type_id: uuid.UUID
    # A code given at sale, "auto" to have one generated, or null for a no-code type.
    code: Code | None = None
    client: Client
    price: NonNegativeMoney
    # Where it was sold: at a desk, or online (a type not sold online refuses an online sale: not_sold_online).
    # Left out of its serialization when "desk", so a sale published before the field existed is, redelivered,
    # the same message (its inbox digest unchanged).
    channel: Literal["desk", "online"] = Field(default="desk", exclude_if=lambda channel: channel == "desk")


class GiftCardSold(Envelope):
    """`gift_card.sold`: published by inventory for a gift card line or a desk sale (sale ids
    `inventory:visit:<visit_id>:<line>:<unit>`, `inventory:op:<operation id>:<line>:<unit>`), or by a
    booking system."""

    sale_id: Id
    gift_card_type_id: uuid.UUID
    # A code given at sale, "auto" to have one generated, or null for a type sold without a code.
    code: Code | None = None
    client: Client  # the buyer
    holder: Client | None = None  # who receives it, when not the buyer
    price: NonNegativeMoney
    channel: Literal["desk", "online"] = "desk"


class AccountDeposit(Envelope):
    """`account.deposit`: a booking system's desk took money onto a client's account."""

    deposit_id: Id
    client: Client
    amount: PositiveMoney
    method: Literal["cash", "card", "transfer", "other"]
    comment: Annotated[str, StringConstraints(max_length=500), STORABLE] | None = None
