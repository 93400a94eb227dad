"""Domain events of the memberships service."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from shared.events.base import DomainEvent, Model, Money, Time
from shared.events.inbound import Client


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


class MembershipVisitCharge(DomainEvent):
    """The common part of a deduction and of its reversal: which membership, whose visit, what service."""

    membership_id: uuid.UUID
    code: str | None
    type_name: str
    client: Client
    visit_id: str
    service_id: str
    units: int


class MembershipDeducted(MembershipVisitCharge):
    # Visits left on the balance the deduction came from (the service's, or the shared total).
    visits_left: int
    status: str = "active"  # after the deduction: active, or exhausted when nothing is left
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
    type_name: str | None = None  # None when the membership is unknown


class MembershipDeductionReversed(MembershipVisitCharge):
    """`membership.deduction_reversed`: an automatic deduction (no-show, late cancellation) given back,
    because the booking system corrected the visit's status: it was paid, or the client arrived. Once per
    reversed deduction (its event id follows from it); `units`: the visits given back."""

    visit_at: Time  # what the reversed deduction was dated: the visit's scheduled time
    # Visits left on the balance they went back to (the service's, or the shared total), and after it.
    visits_left: int
    status: str
    balance: dict[str, int]
    valid_until: Time | None
    cause: Literal["no_show", "late_cancel"]  # what the reversed deduction was for
    reason: Literal["visit_paid", "visit_arrived"]


class MembershipStateEvent(DomainEvent):
    """The common part of the status events: which membership, whose, and where it stands."""

    membership_id: uuid.UUID
    code: str | None
    type_name: str
    client: Client
    status: str
    balance: dict[str, int]
    visits_left: int
    valid_until: Time | None


class MembershipExpiring(MembershipStateEvent):
    """`membership.expiring`: N days before `valid_until`, or when the visits left reach N."""

    reason: Literal["valid_until", "visits_left"]
    days_left: int | None = None


class MembershipExpired(MembershipStateEvent):
    """`membership.expired`."""


class MembershipActivated(MembershipStateEvent):
    """`membership.activated`: first use, or auto-activation N days after the sale."""

    activated_at: Time
    cause: Literal["first_use", "auto_activation"]


class MembershipFrozen(MembershipStateEvent):
    """`membership.frozen`: from `frozen_from` for `days` days; `valid_until` already extended."""

    frozen_from: date
    frozen_until: date  # the first day it is usable again
    days: int


class MembershipUnfrozen(MembershipStateEvent):
    """`membership.unfrozen`: early (by the desk) or when the freeze ended (by the job)."""

    unfrozen_at: Time
