"""The domain events of a membership, built in one place."""

import uuid
from typing import Any

from services.memberships.domain import Membership, MembershipType
from shared.events import Client


def client_of(m: Membership) -> Client:
    return Client(id=m.client_id, phone=m.phone, name=m.client_name)


def state(m: Membership, t: MembershipType) -> dict[str, Any]:
    """The fields every membership status event carries (MembershipStateEvent)."""
    return {
        "chain_id": m.chain_id,
        "location_id": m.location_id,
        "membership_id": uuid.UUID(m.id),
        "code": m.code,
        "type_name": t.name,
        "client": client_of(m),
        "status": m.status.value,
        "balance": m.balance,
        "visits_left": m.visits_left,
        "valid_until": m.valid_until,
    }
