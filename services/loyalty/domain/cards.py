"""Cards and card types as the bonus program sees them. Pure: the standard library only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class CardType:
    id: str
    name: str
    location_ids: tuple[str, ...]
    created_at: datetime

    def valid_at(self, location_id: str) -> bool:
        return not self.location_ids or location_id in self.location_ids


@dataclass(frozen=True)
class Card:
    id: str
    card_type_id: str
    client_id: str
    phone: str | None
    number: str
    balance: Decimal
    issued_at: datetime
