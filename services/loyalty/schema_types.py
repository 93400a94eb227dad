"""The field types the loyalty API's bodies share (schemas.py: the location program and the client;
bonus_schemas.py: cards, card types, promotions)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from shared.events import Id, NonNegativeMoney
from shared.events.base import MAX_LOCATIONS

Percent = Annotated[NonNegativeMoney, Field(le=100)]
Days = Annotated[int, Field(ge=1, le=36_500)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Category = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
Basis = Literal["sold", "paid", "visits"]
# A count of visits or uses: more than one client makes in a lifetime, within an INTEGER column.
Count = Annotated[int, Field(ge=0, le=1_000_000)]
LocationIds = Annotated[list[Id], Field(max_length=MAX_LOCATIONS)]


def whole_visits(basis: str, threshold: Decimal) -> None:
    if basis == "visits" and threshold != threshold.to_integral_value():
        raise ValueError("a visits threshold is a whole number of visits")
