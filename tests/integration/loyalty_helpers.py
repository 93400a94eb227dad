"""Builders for the loyalty tests: programs, card types, promotions, cards and visits, as a salon
chain's marketer and booking system send them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.contract_examples import LOYALTY_PROGRAM
from tests.integration.conftest import Chain, eventually

PROGRAM = LOYALTY_PROGRAM


def client(n: int | str) -> dict[str, Any]:
    return {"id": f"cl-{n}", "phone": f"+3620{abs(hash(str(n))) % 10_000_000:07d}", "name": f"Client {n}"}


def at(days: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def visit_paid(
    chain: Chain,
    who: dict[str, Any],
    sold: str,
    paid: str | None = None,
    *,
    visit_id: str | None = None,
    card: str | None = None,
    spent: str = "0",
    location_id: str = "loc-1",
    **fields: Any,
) -> dict[str, Any]:
    return chain.event(
        visit_id=visit_id or f"v-{uuid.uuid4().hex[:10]}",
        client=who,
        location_id=location_id,
        loyalty_card_id=card,
        bonus_spent=spent,
        lines=[
            {
                "kind": "service",
                "item_id": "svc-hair",
                "category_id": "cat-hair",
                "quantity": 1,
                "sold": sold,
                "paid": paid if paid is not None else sold,
            }
        ],
        **fields,
    )


def arrived(
    chain: Chain, who: dict[str, Any], visit_id: str, *, location_id: str = "loc-1", **fields: Any
) -> dict[str, Any]:
    return chain.event(
        visit_id=visit_id,
        client=who,
        location_id=location_id,
        scheduled_at=at(),
        services=[{"service_id": "svc-hair"}],
        **fields,
    )


async def put_program(chain: Chain, body: dict[str, Any] | None = None, location_id: str = "loc-1") -> dict[str, Any]:
    async with chain.client("loyalty") as http:
        r = await http.put(f"/locations/{location_id}/loyalty-program", json=body or PROGRAM)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def program_recalculated(chain: Chain, location_id: str = "loc-1", timeout: float = 30) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        async with chain.client("loyalty") as http:
            return (await http.get(f"/locations/{location_id}/loyalty-program")).json()  # type: ignore[no-any-return]

    return await eventually(
        probe,
        lambda p: (p.get("recalculation") or {}).get("status") == "done",
        timeout=timeout,
        what="program recalculation",
    )


async def loyalty(chain: Chain, client_id: str, location_id: str | None = "loc-1") -> dict[str, Any]:
    async with chain.client("loyalty") as http:
        params = {"location_id": location_id} if location_id else {}
        r = await http.get(f"/clients/{client_id}/loyalty", params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def loyalty_eventually(
    chain: Chain, client_id: str, check: Any, location_id: str | None = "loc-1", timeout: float = 20
) -> dict[str, Any]:
    return await eventually(
        lambda: loyalty(chain, client_id, location_id),
        check,
        timeout=timeout,  # type: ignore[return-value]
        what=f"loyalty of {client_id}",
    )


async def create(chain: Chain, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async with chain.client("loyalty") as http:
        r = await http.post(path, json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def bonus_setup(
    chain: Chain, who: dict[str, Any], number: str = "C-1", issued_at: str | None = None, **promotion: Any
) -> dict[str, Any]:
    """A card type valid at loc-1, a promotion on it (3% of the paid total unless told), a card (issued now,
    or `issued_at`: it earns for visits from then on)."""
    card_type = await create(chain, "/card-types", {"name": "Gold card", "location_ids": ["loc-1"]})
    body = {
        "name": "Cashback",
        "type": "fixed_cashback_paid",
        "card_type_ids": [card_type["id"]],
        "location_ids": ["loc-1"],
        "percent": "3",
        "rules": [],
        **promotion,
    }
    promo = await create(chain, "/promotions", body)
    card = await create(
        chain,
        "/cards",
        {
            "card_type_id": card_type["id"],
            "client_id": who["id"],
            "phone": who["phone"],
            "number": number,
            **({"issued_at": issued_at} if issued_at else {}),
        },
    )
    return {"card_type": card_type, "promotion": promo, "card": card}


async def card(chain: Chain, card_id: str) -> dict[str, Any]:
    async with chain.client("loyalty") as http:
        r = await http.get(f"/cards/{card_id}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def card_eventually(chain: Chain, card_id: str, check: Any, timeout: float = 20) -> dict[str, Any]:
    return await eventually(
        lambda: card(chain, card_id),
        check,
        timeout=timeout,  # type: ignore[return-value]
        what=f"card {card_id}",
    )


async def run_job(chain: Chain, job: str, as_of: str) -> dict[str, Any]:
    async with chain.admin("loyalty") as http:
        r = await http.post(f"/jobs/{job}/run", json={"as_of": as_of})
    assert r.status_code == 200, r.text
    return r.json()["changed"]  # type: ignore[no-any-return]
