"""HTTP bodies and answers of the memberships API (pydantic), and their mapping to the domain."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from services.memberships.domain import MAX_VALIDITY, Membership, MembershipType, TypeService, Validity
from shared.events import Client, Id, Money, NonNegativeMoney, PastTime
from shared.events.base import MAX_LOCATIONS
from shared.events.inbound import Code
from shared.http import Body

# The services of a type (and so of a membership's balance, or a location's deduction policy): more than
# a chain lists on one membership; each adds two ids to the type's event, which with MAX_LOCATIONS stays
# under half of what its topic takes even when every character costs JSON 6 bytes (docs/contract.md, "Bounds").
MAX_SERVICES = 300
MAX_VISITS = 100_000
Visits = Annotated[int, Field(ge=1, le=MAX_VISITS)]


class ServiceIn(Body):
    service_id: Id
    category_id: Id | None = None
    visits: Visits | None = None


class ValidityOut(Body):
    """A validity as stored: one saved before periods were bounded may be longer than a new one may."""

    # The unit first: the bound of a new period depends on it.
    unit: Literal["day", "week", "month", "year"] = "month"
    counted_from: Literal["sale", "first_visit"] = "sale"
    period: Annotated[int, Field(ge=0)] = 0


class ValidityIn(ValidityOut):
    period: Annotated[
        int,
        Field(
            ge=0,
            le=max(MAX_VALIDITY.values()),
            description="0: unlimited; at most 100 years: "
            + ", ".join(f"{n} {unit}s" for unit, n in MAX_VALIDITY.items()),
        ),
    ] = 0

    @field_validator("period")
    @classmethod
    def _at_most_a_century(cls, period: int, info: ValidationInfo) -> int:
        unit = info.data.get("unit", "month")
        if period > MAX_VALIDITY[unit]:
            raise ValueError(f"a validity is at most 100 years: {MAX_VALIDITY[unit]} {unit}s (0: unlimited)")
        return period


class FreezeIn(Body):
    allowed: bool = False
    max_days: Annotated[int, Field(ge=0, le=3650)] = 0


class MembershipTypeIn(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    balance: Literal["split", "overall"]
    services: Annotated[list[ServiceIn], Field(min_length=1, max_length=MAX_SERVICES)]
    total_visits: Annotated[Visits | None, Field(validate_default=True)] = None
    price: NonNegativeMoney
    validity: ValidityIn = ValidityIn()
    auto_activation_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    freeze: FreezeIn = FreezeIn()
    allow_without_code: bool = False
    recalculate_service_cost: bool = False
    editing: Literal["none", "all_locations", "selling_location"] = "none"
    online_sale: bool = False
    location_ids: list[Id] = Field(default_factory=list, max_length=MAX_LOCATIONS)
    # Expiring-soon notices: this many days before valid_until, and when the visits left fall to this.
    notify_days_before_expiry: Annotated[int, Field(ge=1, le=365)] | None = None
    notify_visits_left: Annotated[int, Field(ge=1, le=1000)] | None = None

    @field_validator("services")
    @classmethod
    def _services(cls, services: list[ServiceIn], info: ValidationInfo) -> list[ServiceIn]:
        ids = [s.service_id for s in services]
        if len(set(ids)) != len(ids):
            raise ValueError("a service is listed twice")
        if info.data.get("balance") == "split" and any(s.visits is None for s in services):
            raise ValueError("a split membership gives every service its number of visits")
        return services

    @field_validator("total_visits")
    @classmethod
    def _total(cls, total: int | None, info: ValidationInfo) -> int | None:
        balance = info.data.get("balance")
        if balance == "overall" and (total is None or total < 1):
            raise ValueError("an overall membership needs total_visits of 1 or more")
        if balance == "split" and total is not None:
            raise ValueError("a split membership counts visits per service; leave total_visits null")
        return total

    def to_domain(self, type_id: str, chain_id: str) -> MembershipType:
        return MembershipType(
            id=type_id,
            chain_id=chain_id,
            name=self.name,
            balance=self.balance,
            services=tuple(
                TypeService(s.service_id, s.category_id, s.visits if self.balance == "split" else None)
                for s in self.services
            ),
            price=self.price,
            total_visits=self.total_visits,
            validity=Validity(self.validity.period, self.validity.unit, self.validity.counted_from),
            auto_activation_days=self.auto_activation_days,
            freeze_allowed=self.freeze.allowed,
            freeze_max_days=self.freeze.max_days,
            allow_without_code=self.allow_without_code,
            recalculate_service_cost=self.recalculate_service_cost,
            editing=self.editing,
            online_sale=self.online_sale,
            location_ids=tuple(self.location_ids),
            notify_days_before_expiry=self.notify_days_before_expiry,
            notify_visits_left=self.notify_visits_left,
        )


class MembershipTypeOut(MembershipTypeIn):
    id: uuid.UUID
    archived: bool
    price: Money
    validity: ValidityOut = ValidityOut()  # type: ignore[assignment]

    @classmethod
    def of(cls, t: MembershipType) -> MembershipTypeOut:
        return cls.model_validate(
            {
                "id": t.id,
                "archived": t.archived,
                "name": t.name,
                "balance": t.balance,
                "services": [
                    {"service_id": s.service_id, "category_id": s.category_id, "visits": s.visits} for s in t.services
                ],
                "total_visits": t.total_visits,
                "price": t.price,
                "validity": {
                    "period": t.validity.period,
                    "unit": t.validity.unit,
                    "counted_from": t.validity.counted_from,
                },
                "auto_activation_days": t.auto_activation_days,
                "freeze": {"allowed": t.freeze_allowed, "max_days": t.freeze_max_days},
                "allow_without_code": t.allow_without_code,
                "recalculate_service_cost": t.recalculate_service_cost,
                "editing": t.editing,
                "online_sale": t.online_sale,
                "location_ids": list(t.location_ids),
                "notify_days_before_expiry": t.notify_days_before_expiry,
                "notify_visits_left": t.notify_visits_left,
            }
        )


class MembershipTypePatch(Body):
    """Any subset of the type's fields; the result is validated as a whole, then against the post-sale
    rules (409)."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)] | None = None
    balance: Literal["split", "overall"] | None = None
    services: Annotated[list[ServiceIn], Field(min_length=1, max_length=MAX_SERVICES)] | None = None
    total_visits: Visits | None = None
    price: NonNegativeMoney | None = None
    validity: ValidityIn | None = None
    auto_activation_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    freeze: FreezeIn | None = None
    allow_without_code: bool | None = None
    recalculate_service_cost: bool | None = None
    editing: Literal["none", "all_locations", "selling_location"] | None = None
    online_sale: bool | None = None
    location_ids: Annotated[list[Id], Field(max_length=MAX_LOCATIONS)] | None = None
    notify_days_before_expiry: Annotated[int, Field(ge=1, le=365)] | None = None
    notify_visits_left: Annotated[int, Field(ge=1, le=1000)] | None = None


class FreezeRequest(Body):
    from_: Annotated[date, Field(alias="from")]
    days: Annotated[int, Field(ge=1, le=3650)]
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class UnfreezeRequest(Body):
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class EditRequest(Body):
    balance: (
        Annotated[
            dict[
                Annotated[str, StringConstraints(min_length=1, max_length=128)],
                Annotated[int, Field(ge=0, le=MAX_VISITS)],
            ],
            Field(max_length=MAX_SERVICES),
        ]
        | None
    ) = None
    valid_until: AwareDatetime | None = None
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)] = "edited"


class ServicePolicyIn(Body):
    no_show: bool | None = None
    late_cancel: bool | None = None


class DeductionPolicyIn(Body):
    no_show: bool = False
    late_cancel_hours: Annotated[int, Field(ge=0, le=720)] | None = None
    services: dict[Id, ServicePolicyIn] = Field(default_factory=dict, max_length=MAX_SERVICES)


class EligibilityOut(BaseModel):
    eligible: bool
    reason: str | None
    membership_id: uuid.UUID
    status: str
    visits_left: int
    valid_until: datetime | None


class ReportRow(BaseModel):
    type_id: uuid.UUID
    name: str
    sold: int
    revenue: Money
    visits_used: int
    visits_remaining: int
    unused: int
    active: int
    frozen: int
    expired: int
    exhausted: int


class HistoryEntry(BaseModel):
    at: datetime
    kind: str
    visit_id: str | None
    service_id: str | None
    units: int | None
    service_cost: Money | None
    balance: dict[str, int]
    detail: dict[str, Any]


class MembershipOut(BaseModel):
    id: uuid.UUID
    code: str | None
    type_id: uuid.UUID
    client_id: str
    phone: str | None
    location_id: str
    status: str
    balance: dict[str, int]
    visits_left: int
    price: Money
    sold_at: datetime
    activated_at: datetime | None
    valid_until: datetime | None
    client_name: str | None = None
    frozen_from: date | None = None
    frozen_until: date | None = None
    freeze_days_used: int = 0
    history: list[HistoryEntry] | None = None

    @classmethod
    def of(cls, m: Membership, history: list[Any] | None = None) -> MembershipOut:
        return cls(
            id=uuid.UUID(m.id),
            code=m.code,
            type_id=uuid.UUID(m.type_id),
            client_id=m.client_id,
            phone=m.phone,
            location_id=m.location_id,
            status=m.status.value,
            balance=m.balance,
            visits_left=m.visits_left,
            price=m.price,
            sold_at=m.sold_at,
            activated_at=m.activated_at,
            valid_until=m.valid_until,
            client_name=m.client_name,
            frozen_from=m.frozen_from,
            frozen_until=m.frozen_until,
            freeze_days_used=m.freeze_days_used,
            history=[HistoryEntry.model_validate(dict(h)) for h in history] if history is not None else None,
        )


# --- POST /memberships/import ---------------------------------------------------------------------

MAX_IMPORTED_MEMBERSHIPS = 1_000  # memberships one POST /memberships/import takes


class ImportedMembershipIn(Body):
    """A membership sold before the chain came to us: a `membership.sold` in all but the envelope."""

    sale_id: Id
    membership_type_id: uuid.UUID
    code: Code | None = None  # given, "auto" to have one generated, or none for a no-code type
    client: Client
    price: NonNegativeMoney
    location_id: Id
    sold_at: PastTime


class MembershipImportIn(Body):
    memberships: Annotated[list[ImportedMembershipIn], Field(min_length=1, max_length=MAX_IMPORTED_MEMBERSHIPS)]


class ImportedMembershipOut(BaseModel):
    sale_id: str
    # issued; rejected (as membership.issue_rejected says, `reason`); duplicate: this sale was issued before
    # (an earlier import, or its membership.sold), left as it is
    status: Literal["issued", "rejected", "duplicate"]
    membership_id: uuid.UUID | None = None
    code: str | None = None
    reason: str | None = None


class MembershipImportOut(BaseModel):
    issued: int
    rejected: int
    duplicate: int
    memberships: list[ImportedMembershipOut]  # in the import's order
