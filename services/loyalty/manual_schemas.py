"""HTTP body of the client card's manual values (PATCH /clients/{id}/loyalty?location_id=)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from services.loyalty.schemas import Category, Percent
from shared.http import Body


class ManualIn(Body):
    """Each field given sets that value by hand (null removes it: the program's value applies again);
    a field left out is left as it is."""

    discount_percent: Percent | None = None
    level: Literal["bronze", "silver", "gold"] | None = None
    # Replaces the derived categories as a whole ([]: none, by hand).
    categories: Annotated[list[Category], Field(max_length=100)] | None = None

    def changes(self) -> dict[str, object]:
        """The fields the body named, with their values (None: remove)."""
        return {name: getattr(self, name) for name in self.model_fields_set}
