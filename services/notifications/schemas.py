"""HTTP bodies and answers of the notifications API (pydantic)."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from services.notifications import domain
from shared.http import Body

Phone = Annotated[str, StringConstraints(min_length=3, max_length=32, strip_whitespace=True)]
Locale = Annotated[str, StringConstraints(max_length=12, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]
# IANA zone names are at most 32 characters (America/Argentina/ComodRivadavia); a notice type, 64.
TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=64)]
NoticeType = Annotated[str, StringConstraints(min_length=1, max_length=64)]
NoticeStatus = Literal["queued", "sent", "delivered", "failed", "skipped"]


class WindowIn(Body):
    start: time = Field(alias="from", description="local wall-clock time the window opens, e.g. 09:00")
    end: time = Field(alias="to", description="local time it closes (before `from`: the window spans midnight)")

    @model_validator(mode="after")
    def _distinct(self) -> WindowIn:
        if self.start.tzinfo or self.end.tzinfo:
            raise ValueError("window times are local wall-clock times, without an offset")
        if self.start == self.end:
            raise ValueError("from and to must differ (leave send_window null to send at any hour)")
        return self


class AdministratorIn(Body):
    name: Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)] | None = None
    phone: Phone | None = None


class ChannelsIn(Body):
    sms: bool | None = None
    chatbot: bool | None = None


class SettingsIn(Body):
    time_zone: TimeZone = Field("UTC", description="IANA zone of the location, e.g. Europe/Budapest")
    send_window: WindowIn | None = Field(None, description="notices due outside it wait until it opens")
    locale: Locale = domain.DEFAULT_LOCALE
    location_name: Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)] | None = None
    administrator: AdministratorIn | None = Field(
        None, description="who gets the administrator's notices (stock low, errors of the desk)"
    )
    types: dict[NoticeType, ChannelsIn] = Field(
        default_factory=dict,
        max_length=len(domain.KINDS),
        description="per notice type, the channels on or off (unnamed: sms on, chatbot off)",
    )

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Budapest") from exc
        return value

    @field_validator("types")
    @classmethod
    def _types(cls, value: dict[str, ChannelsIn]) -> dict[str, ChannelsIn]:
        unknown = sorted(set(value) - set(domain.KINDS))
        if unknown:
            raise ValueError(f"unknown notice type(s) {', '.join(unknown)}; known: {', '.join(domain.KINDS)}")
        return value

    def doc(self) -> dict[str, Any]:
        """The stored form (read back by domain.settings_from_doc)."""
        return {
            "time_zone": self.time_zone,
            "send_window": {
                "from": self.send_window.start.isoformat("minutes"),
                "to": self.send_window.end.isoformat("minutes"),
            }
            if self.send_window
            else None,
            "locale": self.locale,
            "location_name": self.location_name,
            "administrator": self.administrator.model_dump() if self.administrator else None,
            "types": {t: c.model_dump(exclude_none=True) for t, c in self.types.items()},
        }


class SettingsOut(BaseModel):
    location_id: str | None
    source: Literal["location", "chain", "defaults"]
    time_zone: str
    send_window: dict[str, str] | None
    locale: str
    location_name: str | None
    administrator: dict[str, str | None] | None
    types: dict[str, dict[str, bool]] = Field(description="every notice type with its channels, defaults included")


class TemplateIn(Body):
    locale: Locale = domain.DEFAULT_LOCALE
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class TemplateOut(BaseModel):
    type: str
    locale: str
    text: str
    preview: str = Field(description="the text with sample values")
    encoding: str
    segments: int = Field(description="SMS segments of the preview")


class NoticeTypeOut(BaseModel):
    type: str
    audience: str
    description: str
    placeholders: list[str]
    default_text: str
    texts: dict[str, str] = Field(description="the chain's own text per locale")


class OptOutIn(Body):
    sms: bool = True
    chatbot: bool = True


class OptOutOut(BaseModel):
    client_id: str
    sms: bool
    chatbot: bool


class NoticeOut(BaseModel):
    id: uuid.UUID
    location_id: str | None
    client_id: str | None
    audience: str
    channel: str
    type: str
    recipient: str | None
    text: str
    locale: str
    encoding: str | None
    segments: int | None
    source_event_id: str
    status: str
    reason: str | None
    created_at: datetime | None
    due_at: datetime | None = Field(None, description="held until then when outside the send window")
    published_at: datetime | None = Field(None, description="when it went onto its topic")
    provider_message_id: str | None
    status_at: datetime | None = Field(None, description="time of the last delivery receipt")
