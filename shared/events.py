"""Pydantic models of every message in the public contract (../shared/CONTRACT.md).

Inbound messages (from booking systems) and the domain events the services publish to each other live
here, once: a service that consumes another's event reads this model, never the other service's code.
Unknown fields are ignored (forward compatible); money is a Decimal given as a string with at most two
decimals, never a float; times must carry an offset.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

MONEY_TEXT = re.compile(r"^-?\d{1,12}(\.\d{1,2}0*)?$")
CENTS = Decimal("0.01")


def _money(value: Any) -> Any:
    # A float has already lost the cents it was meant to carry ("0.1" is not 0.1): refuse it.
    if isinstance(value, float | bool):
        raise ValueError("money must be a decimal string such as \"800.00\", not a number with a fraction")
    if isinstance(value, str) and not MONEY_TEXT.match(value.strip()):
        raise ValueError("money must be a decimal string with at most 2 decimals, such as \"800.00\"")
    return value


def _money_text(amount: Decimal) -> str:
    # Always two decimals on the wire: "8000" in, "8000.00" out, as NUMERIC(14,2) stores it.
    return format(amount.quantize(CENTS), "f")


Money = Annotated[
    Decimal,
    BeforeValidator(_money),
    Field(max_digits=14, decimal_places=2, allow_inf_nan=False),
    PlainSerializer(_money_text, return_type=str, when_used="json"),
]
NonNegativeMoney = Annotated[Money, Field(ge=0)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
Time = AwareDatetime


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- inbound ------------------------------------------------------------------------------------


class Envelope(Model):
    event_id: Id
    occurred_at: Time
    chain_id: Id
    location_id: Id


class Client(Model):
    id: Id
    phone: str | None = None
    name: str | None = None


class MembershipRef(Model):
    """How a line names the membership that pays for it: its code, or its id for a no-code one."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)] | None = None
    id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _one_of(self) -> MembershipRef:
        if (self.code is None) == (self.id is None):
            raise ValueError("give exactly one of membership.code or membership.id")
        return self


class VisitLine(Model):
    kind: Literal["service", "product", "membership"]
    item_id: Id
    category_id: Id | None = None
    storage_id: Id | None = None
    quantity: Annotated[int, Field(gt=0, le=10_000)]
    sold: NonNegativeMoney
    paid: NonNegativeMoney
    membership: MembershipRef | None = None
    code: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None


class VisitPaid(Envelope):
    visit_id: Id
    client: Client
    loyalty_card_id: Id | None = None
    bonus_spent: NonNegativeMoney = Decimal("0")
    lines: list[VisitLine] = Field(default_factory=list)

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
    services: list[VisitService] = Field(default_factory=list)


class VisitCancelled(VisitStatus):
    cancelled_at: Time


class MembershipSold(Envelope):
    sale_id: Id
    membership_type_id: uuid.UUID
    # A code given at sale, "auto" to have one generated, or null for a no-code type.
    code: Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)] | None = None
    client: Client
    price: NonNegativeMoney


# --- domain events (published by the services through their outbox) ----------------------------


def new_event_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class DomainEvent(Model):
    event_id: str = Field(default_factory=new_event_id)
    occurred_at: Time = Field(default_factory=utcnow)
    chain_id: Id
    location_id: Id | None = None


class MembershipIssued(DomainEvent):
    membership_id: uuid.UUID
    membership_type_id: uuid.UUID
    type_name: str
    code: str | None
    sale_id: str
    client: Client
    status: str
    balance: dict[str, int]
    valid_until: Time | None


class MembershipIssueRejected(DomainEvent):
    sale_id: str
    membership_type_id: uuid.UUID
    code: str | None
    client: Client
    reason: str


class MembershipDeducted(DomainEvent):
    membership_id: uuid.UUID
    code: str | None
    type_name: str
    client: Client
    visit_id: str
    service_id: str
    units: int
    # Visits left on the balance the deduction came from (the service's, or the shared total).
    visits_left: int
    balance: dict[str, int]
    service_cost: Money | None = None
    valid_until: Time | None
    cause: Literal["paid", "no_show", "late_cancel"] = "paid"
    # Why this membership was chosen where the message named none (automatic deduction).
    chosen_because: str | None = None


class MembershipDeductionRejected(DomainEvent):
    membership_id: uuid.UUID | None
    code: str | None
    client: Client
    visit_id: str
    service_id: str
    units: int
    reason: str
    cause: Literal["paid", "no_show", "late_cancel"] = "paid"


# --- notices ------------------------------------------------------------------------------------


class Notice(Model):
    """What `notification.sms` / `notification.chatbot` carry to aggregators."""

    notification_id: uuid.UUID
    occurred_at: Time
    chain_id: Id
    location_id: Id | None
    channel: Literal["sms", "chatbot"]
    to: str
    client_id: str
    type: str
    text: str
    locale: str
    source_event_id: str


class DeliveryReceipt(Model):
    notification_id: uuid.UUID
    status: Literal["delivered", "failed", "sent"]
    provider_message_id: str | None = None
    at: Time


class MembershipTypeService(Model):
    service_id: str
    category_id: str | None = None
    visits: int | None = None


class MembershipTypeChanged(DomainEvent):
    """`membership_type.created` and `membership_type.changed`: the inventory service keeps a product
    in the "Memberships" category for each type."""

    membership_type_id: uuid.UUID
    name: str
    price: Money
    archived: bool
    balance: Literal["split", "overall"]
    services: list[MembershipTypeService]
    total_visits: int | None
    allow_without_code: bool
    online_sale: bool
    location_ids: list[str]
