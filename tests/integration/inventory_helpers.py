"""Builders for the inventory tests: a storage, products, operations, through the inventory API."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Chain, eventually


async def post(chain: Chain, path: str, body: dict[str, Any], status: int = 201, method: str = "POST") -> Any:
    async with chain.client("inventory") as http:
        r = await http.request(method, path, json=body)
    assert r.status_code == status, r.text
    return r.json()


async def get(chain: Chain, path: str, **params: Any) -> Any:
    async with chain.client("inventory") as http:
        r = await http.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def storage(chain: Chain, storage_id: str = "st-1", location_id: str = "loc-1") -> dict[str, Any]:
    body = {"id": storage_id, "location_id": location_id, "name": f"Storage {storage_id}"}
    return await post(chain, "/storages", body)  # type: ignore[no-any-return]


async def product(chain: Chain, product_id: str, **fields: Any) -> dict[str, Any]:
    body = {
        "id": product_id,
        "name": product_id.replace("prod-", "").title(),
        "unit": "pcs",
        "sale_price": "300",
        "cost_price": "120",
        **fields,
    }
    return await post(chain, "/products", body)  # type: ignore[no-any-return]


async def operation(
    chain: Chain, type: str, storage_id: str | None, lines: list[dict[str, Any]], status: int = 201, **fields: Any
) -> Any:
    return await post(chain, "/operations", {"type": type, "storage_id": storage_id, "lines": lines, **fields}, status)


async def balances(chain: Chain, **params: Any) -> dict[tuple[str, str], str]:
    rows = await get(chain, "/stock", **params)
    return {(r["storage_id"], r["product_id"]): r["balance"] for r in rows}


async def balances_eventually(chain: Chain, expected: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    return await eventually(
        lambda: balances(chain), lambda b: all(b.get(k) == v for k, v in expected.items()), what=f"stock {expected}"
    )


async def stocked_salon(chain: Chain) -> None:
    """loc-1 with a shop shelf (st-1) and a treatment room (st-2); oil in pieces, massage lotion in ml;
    a massage uses 30 ml of lotion and a pair of gloves from the treatment room."""
    await storage(chain, "st-1")
    await storage(chain, "st-2")
    await product(chain, "prod-oil", min_stock="2")
    await product(chain, "prod-lotion", unit="ml", sale_price="1", cost_price="0.20")
    await product(chain, "prod-gloves", cost_price="0.50")
    await operation(chain, "arrival", "st-1", [{"product_id": "prod-oil", "quantity": 3}])
    await operation(
        chain,
        "arrival",
        "st-2",
        [{"product_id": "prod-lotion", "quantity": 1000}, {"product_id": "prod-gloves", "quantity": 100}],
    )
    bom = await post(
        chain,
        "/services/svc-massage/bill-of-materials",
        {
            "storage_id": "st-2",
            "items": [{"product_id": "prod-lotion", "quantity": "30"}, {"product_id": "prod-gloves", "quantity": 1}],
        },
        status=200,
        method="PUT",
    )
    assert bom["location_id"] == "loc-1" and bom["items"][0] == {"product_id": "prod-lotion", "quantity": "30"}
