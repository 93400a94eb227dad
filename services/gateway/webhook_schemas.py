"""What the webhook side of the gateway takes and answers: connections to a booking system, and the
deliveries it sent."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from shared.events.base import Id
from shared.http import Body

MAX_LOCATIONS = 500
Token = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
Url = Annotated[str, StringConstraints(min_length=8, max_length=500, pattern=r"^https?://[^\s]+$")]
TheirId = Annotated[int, Field(ge=1, le=10**15)]


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"not a time zone: {name!r} (an IANA name such as Europe/Budapest)") from exc
    return name


TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_zone)]
TypeMap = Annotated[
    dict[Annotated[str, StringConstraints(max_length=15, pattern=r"^\d{1,15}$")], uuid.UUID],
    Field(max_length=MAX_LOCATIONS),
]


class LocationIn(Body):
    company_id: TheirId  # their location (company / salon / branch)
    location_id: Id  # ours
    time_zone: TimeZone  # their times come as the location's wall clock


class ConnectionIn(Body):
    system: Literal["altegio", "yclients"]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    api_base_url: Url  # https://api.alteg.io or https://api.yclients.com
    partner_token: Token
    user_token: Token
    locations: Annotated[list[LocationIn], Field(min_length=1, max_length=MAX_LOCATIONS)]
    # their membership (abonement) type id -> our membership type id
    membership_types: TypeMap = Field(default_factory=dict)


class ConnectionPatch(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)] | None = None
    api_base_url: Url | None = None
    partner_token: Token | None = None
    user_token: Token | None = None
    locations: Annotated[list[LocationIn], Field(min_length=1, max_length=MAX_LOCATIONS)] | None = None
    membership_types: TypeMap | None = None


class LocationOut(BaseModel):
    company_id: int
    location_id: str
    time_zone: str


class ConnectionOut(BaseModel):
    """A connection; its tokens are never shown again, its secret only once (at creation)."""

    id: uuid.UUID
    system: str
    name: str
    api_base_url: str
    locations: list[LocationOut]
    membership_types: dict[str, uuid.UUID]
    created_at: datetime
    webhook_path: str  # where the booking system posts, with `?secret=<secret>` or `Authorization: Bearer <secret>`

    @classmethod
    def of(cls, row: Any) -> ConnectionOut:
        return cls(
            id=row["id"],
            system=row["system"],
            name=row["name"],
            api_base_url=row["api_base_url"],
            locations=row["locations"],
            membership_types=row["membership_types"],
            created_at=row["created_at"],
            webhook_path=f"/v1/webhooks/{row['id']}",
        )


class ConnectionCreatedOut(ConnectionOut):
    secret: str  # shown once: the webhook URL's `?secret=` (or its bearer token)


DeliveryState = Literal["pending", "waiting", "applied", "ignored", "kept"]


class DeliveryOut(BaseModel):
    id: int
    company_id: int | None
    resource: str | None
    resource_id: int | None
    status: str | None
    received_at: datetime
    state: DeliveryState
    reason: str | None
    attempts: int
    next_attempt_at: datetime
    done_at: datetime | None


class ReplayIn(Body):
    """Deliveries to apply again (after a fix: a company mapped, a membership type mapped, the API back)."""

    states: Annotated[list[Literal["kept", "waiting", "ignored"]], Field(min_length=1, max_length=3)] = ["kept"]
    ids: Annotated[list[Annotated[int, Field(ge=1, le=2**62)]], Field(min_length=1, max_length=1000)] | None = None


class ReplayOut(BaseModel):
    replayed: int


class BackfillIn(Body):
    """A period of their records to read back (their branches' wall clock; at most 31 days)."""

    from_: datetime = Field(alias="from")
    to: datetime


class BackfillOut(BaseModel):
    records: int  # read from their API
    stored: int  # new deliveries (the others had come as webhooks, or by an earlier backfill)


class ReceivedOut(BaseModel):
    ok: bool = True
    duplicate: bool
