"""HTTP bodies and answers of the wallet API (pydantic), and their mapping to the domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from pydantic import Field, StringConstraints, model_validator

from services.wallet.domain import GiftCard, GiftCardType, Limits, Validity
from shared.events import GiftCardLimits, GiftCardValidity, Id, Money, NonNegativeMoney, Time
from shared.events.base import MAX_LOCATIONS, STORABLE
from shared.events.inbound import MAX_LINE_AMOUNT, PositiveMoney
from shared.http import Body

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True), STORABLE]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True), STORABLE]
Amount = Annotated[NonNegativeMoney, Field(le=MAX_LINE_AMOUNT)]


class ValidityIn(GiftCardValidity):
    @model_validator(mode="after")
    def _complete(self) -> ValidityIn:
        if self.kind == "until" and self.until is None:
            raise ValueError("until: a validity of kind until names its date")
        if self.kind == "period" and (self.unit is None or self.count is None):
            raise ValueError("unit, count: a validity of kind period names its unit and count")
        return self


class GiftCardTypeIn(Body):
    name: Name
    par_value: Amount
    write_off: Literal["single", "multiple"] = "multiple"
    allow_without_code: bool = False
    online_sale: bool = True
    location_ids: list[Id] = Field(default_factory=list, max_length=MAX_LOCATIONS)
    limits: GiftCardLimits = Field(default_factory=GiftCardLimits)
    validity: ValidityIn = Field(default_factory=ValidityIn)

    def to_domain(self, type_id: str, chain_id: str, archived: bool = False) -> GiftCardType:
        return GiftCardType(
            id=type_id,
            chain_id=chain_id,
            name=self.name,
            par_value=self.par_value,
            write_off=self.write_off,
            archived=archived,
            allow_without_code=self.allow_without_code,
            online_sale=self.online_sale,
            location_ids=tuple(self.location_ids),
            limits=Limits(self.limits.applies_to, tuple(self.limits.service_ids), tuple(self.limits.category_ids)),
            validity=Validity(self.validity.kind, self.validity.until, self.validity.unit, self.validity.count),
        )


class GiftCardTypeOut(GiftCardTypeIn):
    id: uuid.UUID
    archived: bool

    @classmethod
    def of(cls, t: GiftCardType) -> GiftCardTypeOut:
        return cls(
            id=uuid.UUID(t.id),
            archived=t.archived,
            name=t.name,
            par_value=t.par_value,
            write_off=t.write_off,  # type: ignore[arg-type]
            allow_without_code=t.allow_without_code,
            online_sale=t.online_sale,
            location_ids=list(t.location_ids),
            limits=GiftCardLimits(
                applies_to=t.limits.applies_to,  # type: ignore[arg-type]
                service_ids=list(t.limits.service_ids),
                category_ids=list(t.limits.category_ids),
            ),
            validity=ValidityIn(
                kind=t.validity.kind,  # type: ignore[arg-type]
                until=t.validity.until,
                unit=t.validity.unit,  # type: ignore[arg-type]
                count=t.validity.count,
            ),
        )


class MovementOut(Body):
    at: datetime
    kind: str  # issue, charge, refund, adjust, expire (a card); top_up, charge, refund, adjust (an account)
    amount: Money  # signed
    balance: Money  # after
    location_id: str | None
    visit_id: str | None
    line: int | None
    source: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, row: asyncpg.Record) -> MovementOut:
        return cls(**{k: row[k] for k in cls.model_fields})


class GiftCardOut(Body):
    id: uuid.UUID
    gift_card_type_id: uuid.UUID
    type_name: str
    code: str | None
    sale_id: str
    client_id: str
    holder_id: str | None
    location_id: str
    price: Money
    balance: Money
    status: str
    write_off: str
    sold_at: datetime
    valid_until: datetime | None

    @classmethod
    def of(cls, c: GiftCard) -> GiftCardOut:
        return cls(
            id=uuid.UUID(c.id),
            gift_card_type_id=uuid.UUID(c.type.id),
            type_name=c.type.name,
            code=c.code,
            sale_id=c.sale_id,
            client_id=c.client_id,
            holder_id=c.holder_id,
            location_id=c.location_id,
            price=c.price,
            balance=c.balance,
            status=c.status,
            write_off=c.type.write_off,
            sold_at=c.sold_at,
            valid_until=c.valid_until,
        )


class AccountOut(Body):
    client_id: str
    balance: Money  # below zero: what the client owes (credit)
    credit_limit: Money
    allow_credit: bool  # the chain's setting
    available: Money  # what the account may still pay: balance + the credit limit where credit is allowed


class TopUpClientIn(Body):
    """Who is topped up, as the desk knows them: their phone (any form of a number; E.164 in the event) and
    name tell them of the top-up (`account.topped_up`'s notice)."""

    phone: Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)] | None = None
    name: Name | None = None


class TopUpIn(Body):
    amount: PositiveMoney
    method: Literal["cash", "card", "transfer", "other"] = "cash"
    location_id: Id
    comment: Text | None = None
    client: TopUpClientIn | None = None


class TopUpOut(Body):
    client_id: str
    amount: Money
    balance: Money  # right after this top-up
    at: datetime
    replayed: bool = False  # the same Idempotency-Key came before: this is that top-up, not another


class CreditLimitIn(Body):
    credit_limit: Amount


class WalletSettingsIn(Body):
    allow_credit: bool


class StatementOut(Body):
    client_id: str
    since: datetime
    until: datetime
    opening_balance: Money
    money_in: Money
    money_out: Money
    closing_balance: Money
    movements: list[MovementOut]
    truncated: bool = False  # more movements than a statement lists (1,000): page through /account/movements


SignedAmount = Annotated[Money, Field(ge=-MAX_LINE_AMOUNT, le=MAX_LINE_AMOUNT)]


class CardEditIn(Body):
    """An administrator's edit of a card: its balance, its validity, or both, with the reason."""

    balance: Amount | None = None
    valid_until: Time | None = None
    reason: Text


class AccountAdjustmentIn(Body):
    """An administrator's correction of an account's balance (signed), with the reason."""

    amount: SignedAmount
    reason: Text
    location_id: Id | None = None


class GiftCardReportRow(Body):
    """One gift card type at one location: cards sold there in the period (count, par value, price paid),
    what cards paid and got back there in the period, the cards that expired in it and the balance they
    forfeited, and now: the active cards sold there and their outstanding balance (the chain's liability)."""

    gift_card_type_id: uuid.UUID
    type_name: str
    location_id: str
    sold: int
    sold_value: Money
    sold_price: Money
    used: Money
    refunded: Money
    expired: int
    expired_value: Money
    active: int
    outstanding: Money


GIFT_CARD_REPORT_COLUMNS = list(GiftCardReportRow.model_fields)


class AccountReportRow(Body):
    """One client's account: its balance and credit limit now, what came in and went out in the period."""

    client_id: str
    balance: Money
    credit_limit: Money
    money_in: Money
    money_out: Money


ACCOUNT_REPORT_COLUMNS = list(AccountReportRow.model_fields)
