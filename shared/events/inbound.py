"""Inbound messages, published by booking systems: `visit.*` and `membership.sold`."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from shared.events.base import Id, Model, NonNegativeMoney, Time


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


