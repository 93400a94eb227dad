""" "Loyalty card must be issued before a client's appointment": which cards a paid visit's cashback may
go to. Pure: the standard library only.

The visit's time is its appointment (`scheduled_at`, from `visit.status_arrived` / `no_show`) when loyalty
knows it as the payment is applied, else the payment's `occurred_at`; the earlier of the two when both are
known. A card issued after that moment earns nothing for the visit, however late (or re-driven) its
`visit.paid` comes. Spending is not concerned: points a card holds may pay for any visit at a location its
type is valid at (the bearer pays with what the card holds at the checkout).
"""

from __future__ import annotations

from datetime import datetime

from services.loyalty.domain.cards import Card
from services.loyalty.domain.visits import VisitRow


def visit_time(row: VisitRow | None, paid_at: datetime) -> datetime:
    """The visit's time: its appointment when known, the payment's time otherwise (the earlier of both)."""
    scheduled = row.scheduled_at if row is not None else None
    return min(scheduled, paid_at) if scheduled is not None else paid_at


def earns_for(card: Card, visit_at: datetime) -> bool:
    """May the card earn cashback for a visit at `visit_at`? Only if it was issued by then."""
    return card.issued_at <= visit_at
