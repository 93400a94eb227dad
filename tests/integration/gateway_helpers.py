"""Builders for the webhook tests: a connection to a stand-in of the booking system's API, and deliveries
made from the real payloads in tests/fixtures/booking-webhooks, changed only in documented fields."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.integration.booking_standin import BookingApiStandIn
from tests.integration.conftest import Chain

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "booking-webhooks"
ZONE = "Asia/Almaty"  # the real Altegio record's branch sends +0500
COMPANY = 307626  # the real Altegio record's company
SERVICE = 5034676  # ... and its one service
CLIENT_ID = 169711586
PHONE = "+77770220606"


def real(name: str) -> dict[str, Any]:
    return json.loads((REAL / name).read_text())  # type: ignore[no-any-return]


def wall(at: datetime) -> str:
    """As the sender writes last_change_date: local wall clock, `+0500` without a colon."""
    return at.strftime("%Y-%m-%dT%H:%M:%S+0500")


def record(
    record_id: int,
    changed: datetime,
    *,
    attendance: int = 0,
    paid: int = 0,
    deleted: bool = False,
    status: str = "update",
    company: int = COMPANY,
    client_id: int = CLIENT_ID,
    phone: str = PHONE,
    visit_id: int | None = None,
) -> dict[str, Any]:
    """The real Altegio `record` update (arrived, paid), with its documented fields set: ids, attendance
    (and visit_attendance), paid_full, deleted, status, last_change_date, the client."""
    body = copy.deepcopy(real("altegio_record_update_arrived_paid.json"))
    d = body["data"]
    visit = visit_id or record_id + 1
    body.update(company_id=company, resource_id=record_id, status=status)
    d.update(
        id=record_id,
        company_id=company,
        attendance=attendance,
        visit_attendance=attendance,
        paid_full=paid,
        deleted=deleted,
        last_change_date=wall(changed),
        visit_id=visit,
    )
    d["client"].update(id=client_id, phone=phone)
    d["documents"][0].update(visit_id=visit, record_id=record_id, company_id=company)
    return body


def goods_sale(
    sale_id: int,
    good_id: int,
    changed: datetime,
    *,
    company: int = COMPANY,
    client_id: int = CLIENT_ID,
    phone: str = "77770220606",
    cost: int = 30000,
) -> dict[str, Any]:
    """The real YCLIENTS goods_operations_sale with a client, its ids, company, cost and client set (the
    phone without its "+", as that payload has it)."""
    body = copy.deepcopy(real("yclients_goods_operations_sale_with_client.json"))
    d = body["data"]
    body.update(company_id=company, resource_id=sale_id)
    d.update(id=sale_id, cost=cost, cost_per_unit=cost, last_change_date=wall(changed))
    d["good"]["id"] = good_id
    d["client"].update(id=client_id, phone=phone)
    return body


async def connect(gateway: str, chain: Chain, standin: BookingApiStandIn, **fields: Any) -> tuple[str, str]:
    """A connection of the chain (its read/write key) to the stand-in API; answers (id, secret)."""
    async with httpx.AsyncClient(
        base_url=f"{gateway}/v1/chains/{chain.id}", timeout=10, headers={"Authorization": f"Bearer {chain.key}"}
    ) as http:
        r = await http.post(
            "/connections",
            json={
                "system": "altegio",
                "name": "Altegio",
                "api_base_url": standin.url,
                "partner_token": "partner-token",
                "user_token": "user-token",
                "locations": [{"company_id": COMPANY, "location_id": "loc-1", "time_zone": ZONE}],
                **fields,
            },
        )
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["secret"]


async def deliver(gateway: str, connection_id: str, secret: str, body: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(f"{gateway}/v1/webhooks/{connection_id}", params={"secret": secret}, json=body)


async def deliveries(gateway: str, chain: Chain, connection_id: str, state: str | None = None) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(
        base_url=f"{gateway}/v1/chains/{chain.id}", timeout=10, headers={"Authorization": f"Bearer {chain.key}"}
    ) as http:
        r = await http.get(
            f"/connections/{connection_id}/deliveries", params={"limit": 1000, **({"state": state} if state else {})}
        )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def new_id() -> int:
    return 10**8 + uuid.uuid4().int % 10**8
