"""Building blocks of the contract models: money, ids, times, the base of every model and of every
domain event. Unknown fields are ignored (forward compatible); money is a Decimal given as a string with
at most two decimals, never a float; times are RFC 3339 text with an offset; text is bounded and holds
nothing PostgreSQL cannot store (NUL, lone surrogates), so a hostile message is refused at validation,
naming the field, instead of failing later in a handler."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

UNSTORABLE = "text must be valid UTF-8 without the NUL character"
MONEY_TEXT = re.compile(r"^-?\d{1,12}(\.\d{1,2}0*)?$")
CENTS = Decimal("0.01")


def _money(value: Any) -> Any:
    # A float has already lost the cents it was meant to carry ("0.1" is not 0.1): refuse it.
    if isinstance(value, float | bool):
        raise ValueError('money must be a decimal string such as "800.00", not a number with a fraction')
    if isinstance(value, str) and not MONEY_TEXT.match(value.strip()):
        raise ValueError('money must be a decimal string with at most 2 decimals, such as "800.00"')
    return value


def unstorable(text: str) -> bool:
    """PostgreSQL text holds neither NUL nor lone surrogates (which JSON can smuggle in as \\uD800)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _storable(text: str) -> str:
    if unstorable(text):
        raise ValueError(UNSTORABLE)
    return text


def _time_text(value: Any) -> Any:
    # JSON has no time type: a number would be read as seconds since 1970, which no sender means.
    if isinstance(value, int | float):
        raise ValueError('time must be RFC 3339 text with an offset, such as "2026-03-01T10:00:00+01:00"')
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
# Text from outside is always bounded, and ends with this check: `Annotated[str, StringConstraints(...), STORABLE]`
# (after the constraints, so that whitespace is stripped before the length is counted).
STORABLE = AfterValidator(_storable)
MAX_ID = 128
Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID, strip_whitespace=True), STORABLE]
# The locations a membership type, a card type or a promotion names (none: everywhere in the chain):
# more than a chain names one by one, and 500 ids of 128 characters keep the event far below its limit.
MAX_LOCATIONS = 500


def _in_utc(moment: datetime) -> datetime:
    # "0001-01-01T00:00:00+14:00" is an instant before year 1 in UTC: no database column holds it, and
    # Python cannot even convert it. Refused here, naming the field, not later in one service's handler.
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("time must be on or after 0001-01-01T00:00:00Z") from None
    return moment


Time = Annotated[AwareDatetime, BeforeValidator(_time_text), AfterValidator(_in_utc)]

# How far ahead of our clock a moment a client gives may be: a booking system's or a desk's clock drifts a
# little, never by hours. The consumers' default too (CONSUMER_MAX_CLOCK_SKEW_SECONDS, `clock_skew`).
MAX_CLOCK_SKEW_SECONDS = 300


def _not_ahead(moment: datetime) -> datetime:
    ahead = (moment - datetime.now(UTC)).total_seconds()
    if ahead > MAX_CLOCK_SKEW_SECONDS:
        raise ValueError(f"a moment at most {MAX_CLOCK_SKEW_SECONDS} s ahead of now; this one is {ahead:.0f} s ahead")
    return moment


# A moment that has happened (give or take a clock's drift): when something took place, said over HTTP.
PastTime = Annotated[AwareDatetime, AfterValidator(_not_ahead)]


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def new_event_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class DomainEvent(Model):
    event_id: str = Field(default_factory=new_event_id)
    occurred_at: Time = Field(default_factory=utcnow)
    chain_id: Id
    location_id: Id | None = None
