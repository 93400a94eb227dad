"""Domain events of the wallet service: gift card types, gift cards and client accounts (stored value).

Money is a Decimal string with 2 decimals; every event names its chain and the location it happened at;
the Kafka key is the client's id (a type's events: the type's id)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from shared.events.base import MAX_LOCATIONS, STORABLE, DomainEvent, Id, Model, Money, Time
from shared.events.inbound import Client

# Every text field is bounded, as the API's and the inbound events' are: a type's name (as the API takes
# it), a card's code (as a visit or a sale gives it), a reason code, an administrator's reason and name.
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), STORABLE]
CardCode = Annotated[str, StringConstraints(min_length=1, max_length=32), STORABLE]
ReasonCode = Annotated[str, StringConstraints(min_length=1, max_length=64), STORABLE]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500), STORABLE]

WriteOff = Literal["single", "multiple"]
CardStatus = Literal["active", "spent", "expired"]
Instrument = Literal["gift_card", "account"]

ISSUE_REJECT_REASONS = (
    "code_taken",
    "type_not_found",
    "archived",
    "code_required",  # a null code for a type not sold without one
    "phone_required",
    "phone_invalid",
    "not_sold_online",
    "wrong_location",
)
DEPOSIT_REFUSE_REASONS = ("balance_too_large",)  # the account would hold more than it may
PAYMENT_REJECT_REASONS = (
    "not_found",
    "expired",
    "wrong_location",
    "not_applicable",
    "insufficient_balance",
    "spent",
    "phone_mismatch",
    "credit_limit_exceeded",
    "not_taken",  # all-or-nothing: this payment was fine, another of the visit's was refused
)


class GiftCardLimits(Model):
    """What a card of the type may pay: any line; services only; products only; some services (by service
    or category) and any product; some services and no product."""

    applies_to: Literal["any", "services", "products", "some_services_and_products", "some_services"] = "any"
    service_ids: list[Id] = Field(default_factory=list, max_length=MAX_LOCATIONS)
    category_ids: list[Id] = Field(default_factory=list, max_length=MAX_LOCATIONS)


class GiftCardValidity(Model):
    """unlimited; until a date (for every card of the type); or a period from the sale."""

    kind: Literal["unlimited", "until", "period"] = "unlimited"
    until: date | None = None
    unit: Literal["day", "week", "month", "year"] | None = None
    count: Annotated[int, Field(ge=1, le=1000, strict=True)] | None = None


class GiftCardTypeChanged(DomainEvent):
    """`gift_card_type.created` and `gift_card_type.changed`: inventory keeps a product in the "Gift cards"
    category for each type."""

    gift_card_type_id: uuid.UUID
    name: Name
    par_value: Money
    write_off: WriteOff
    archived: bool
    allow_without_code: bool
    location_ids: list[Id] = Field(max_length=MAX_LOCATIONS)
    limits: GiftCardLimits
    validity: GiftCardValidity


class GiftCardIssued(DomainEvent):
    gift_card_id: uuid.UUID
    gift_card_type_id: uuid.UUID
    type_name: Name
    code: CardCode | None
    sale_id: Id
    client: Client  # the buyer
    holder: Client | None
    balance: Money
    valid_until: Time | None
    status: CardStatus = "active"


class GiftCardIssueRejected(DomainEvent):
    sale_id: Id
    gift_card_type_id: uuid.UUID
    code: CardCode | None
    client: Client
    reason: ReasonCode  # one of ISSUE_REJECT_REASONS


class GiftCardMovement(DomainEvent):
    """`gift_card.charged` (a visit's line paid) and `gift_card.refunded` (the visit was cancelled)."""

    gift_card_id: uuid.UUID
    code: CardCode | None
    type_name: Name
    client: Client  # the visit's client
    visit_id: Id
    line: int  # the index of the visit's line
    amount: Money
    balance: Money  # after
    status: CardStatus
    valid_until: Time | None


class GiftCardAdjusted(DomainEvent):
    gift_card_id: uuid.UUID
    code: CardCode | None
    client: Client  # the holder (else the buyer)
    balance_before: Money
    balance_after: Money
    valid_until_before: Time | None
    valid_until_after: Time | None
    reason: Text
    user: Name


class GiftCardStateEvent(DomainEvent):
    gift_card_id: uuid.UUID
    code: CardCode | None
    type_name: Name
    client: Client  # the holder (else the buyer)
    balance: Money
    valid_until: Time | None


class GiftCardExpiring(GiftCardStateEvent):
    days_left: int


class GiftCardExpired(GiftCardStateEvent):
    forfeited: Money  # the balance the card held when it expired


class AccountEvent(DomainEvent):
    client_id: Id
    client: Client | None = None
    amount: Money
    balance: Money  # after; below zero on credit
    credit_limit: Money


class AccountToppedUp(AccountEvent):
    """`account.topped_up`: by an `account.deposit` (deposit_id) or the desk (operation_id, user)."""

    deposit_id: Id | None = None
    operation_id: Id | None = None
    method: Literal["cash", "card", "transfer", "other"]
    source: Literal["deposit", "desk"]
    user: Name | None = None


class AccountDepositRefused(AccountEvent):
    """`account.deposit_refused`: an `account.deposit` that moved nothing (`amount`: the deposit's;
    `balance`: the account's, unchanged), with the reason."""

    deposit_id: Id
    method: Literal["cash", "card", "transfer", "other"]
    reason: ReasonCode  # one of DEPOSIT_REFUSE_REASONS


class AccountCharged(AccountEvent):
    visit_id: Id
    line: int


class AccountRefunded(AccountEvent):
    visit_id: Id
    line: int


class AccountAdjusted(AccountEvent):
    reason: Text
    user: Name


class TakenPayment(Model):
    line: int
    instrument: Instrument
    code: CardCode | None = None
    id: Id | None = None
    amount: Money


class RejectedPayment(TakenPayment):
    reason: ReasonCode  # one of PAYMENT_REJECT_REASONS


class PaymentRejected(DomainEvent):
    """`wallet.payment_rejected`: some of a visit's instrument payments were refused. With
    partial_payments false none was taken (`taken` empty; the ones that would have passed are rejected
    `not_taken`); with true, the others were taken and are listed."""

    visit_id: Id
    client: Client
    partial_payments: bool
    taken: list[TakenPayment]
    rejected: list[RejectedPayment]
