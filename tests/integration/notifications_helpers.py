"""Builders for the notifications tests: domain events as the other services publish them (the contract
models in shared/events/), and reading a chain's notices back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from shared import topics
from tests.integration.conftest import Chain, eventually

ANNA = {"id": "cl-5", "phone": "+36201234567", "name": "Anna"}
ADMIN_PHONE = "+36301112222"


def deducted(
    chain: Chain,
    *,
    client: dict[str, Any] = ANNA,
    units: int = 1,
    visits_left: int = 9,
    code: str | None = "4567",
    **fields: Any,
) -> dict[str, Any]:
    return chain.event(
        **{
            "membership_id": str(uuid.uuid4()),
            "code": code,
            "type_name": "Massage membership",
            "client": client,
            "visit_id": f"v-{uuid.uuid4().hex[:8]}",
            "service_id": "svc-massage",
            "units": units,
            "visits_left": visits_left,
            "balance": {"svc-massage": visits_left},
            "service_cost": "800.00",
            "valid_until": "2027-02-23T12:00:00+00:00",
            **fields,
        }
    )


def expired(chain: Chain, *, client: dict[str, Any] = ANNA, **fields: Any) -> dict[str, Any]:
    return chain.event(
        **{
            "membership_id": str(uuid.uuid4()),
            "code": "4567",
            "type_name": "Massage membership",
            "client": client,
            "status": "expired",
            "balance": {"svc-massage": 3},
            "visits_left": 3,
            "valid_until": "2026-11-01T00:00:00+00:00",
            **fields,
        }
    )


def rejected(chain: Chain, reason: str, *, client: dict[str, Any] = ANNA, **fields: Any) -> dict[str, Any]:
    return chain.event(
        **{
            "membership_id": None,
            "code": "4567",
            "client": client,
            "visit_id": f"v-{uuid.uuid4().hex[:8]}",
            "service_id": "svc-massage",
            "units": 1,
            "reason": reason,
            **fields,
        }
    )


def stock_low(chain: Chain, **fields: Any) -> dict[str, Any]:
    return chain.event(
        **{
            "storage_id": "st-1",
            "product_id": str(uuid.uuid4()),
            "product_name": "Massage oil",
            "unit": "pcs",
            "balance": "2",
            "min_stock": "5",
            "reason": "below_min_stock",
            "operation_id": str(uuid.uuid4()),
            **fields,
        }
    )


def bonus_accrued(chain: Chain, *, client: dict[str, Any] = ANNA, **fields: Any) -> dict[str, Any]:
    return chain.event(
        **{
            "card_id": str(uuid.uuid4()),
            "card_number": "1001",
            "card_type_id": str(uuid.uuid4()),
            "client": client,
            "balance": "150.00",
            "amount": "30.00",
            "kind": "cashback",
            "visit_id": "v-1",
            **fields,
        }
    )


def caused_by(event: dict[str, Any]) -> Any:
    """Matches the notices (on a topic) that `event` caused."""
    return lambda m: m.get("source_event_id") == event["event_id"]


async def notices(chain: Chain, **params: Any) -> list[dict[str, Any]]:
    async with chain.client("notifications") as http:
        r = await http.get("/notifications", params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def notices_eventually(chain: Chain, check: Any, what: str = "notices", **params: Any) -> list[dict[str, Any]]:
    return await eventually(lambda: notices(chain, **params), check, what=what)


async def put_settings(chain: Chain, location_id: str = "loc-1", **body: Any) -> dict[str, Any]:
    async with chain.client("notifications") as http:
        r = await http.put(f"/locations/{location_id}/notification-settings", json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def run_release(chain: Chain, as_of: datetime) -> dict[str, Any]:
    async with chain.admin("notifications") as http:
        r = await http.post("/jobs/release_held/run", json={"as_of": as_of.astimezone(UTC).isoformat()})
    assert r.status_code == 200, r.text
    return r.json()["changed"]  # type: ignore[no-any-return]


MARKER_TOPIC = topics.MEMBERSHIP_EXPIRED
