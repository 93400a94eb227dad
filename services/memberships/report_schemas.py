"""The report of memberships sold (`GET /reports/memberships/sold`): one row per membership."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from shared.events import Money

StatusFilter = Literal["sold", "active", "frozen", "expired", "exhausted"]


class SoldRow(BaseModel):
    """A membership as the chain's back office and payroll read it."""

    membership_id: uuid.UUID
    code: str | None  # its number; none for a no-code membership
    membership_type_id: uuid.UUID
    type_name: str
    balance: dict[str, int]  # visits left per service ("*": shared by the type's services)
    visits_left: int
    status: str
    valid_until: datetime | None
    client_id: str
    client_name: str | None
    client_phone: str | None
    sold_at: datetime  # date of sale
    location_id: str  # place of sale
    cost: Money  # the type's price (its list price, as the type says now)
    paid: Money  # what the sale was paid: membership.sold's price
    visits_used: int  # visits deducted and not given back
    # The cost of the services it paid (its deductions' service cost, less those given back): null where the
    # type does not recalculate the service cost.
    debited: Money | None
    # The recalculated cost of one visit (the type's price / its visits), for payroll; null where the type
    # does not recalculate it.
    service_cost: Money | None


SOLD_COLUMNS = list(SoldRow.model_fields)
