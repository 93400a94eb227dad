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
    body = {"id": product_id, "name": product_id.replace("prod-", "").title(), "unit": "pcs",
            "sale_price": "300", "cost_price": "120", **fields}
    return await post(chain, "/products", body)  # type: ignore[no-any-return]


async def operation(chain: Chain, type: str, storage_id: str | None, lines: list[dict[str, Any]],
                    status: int = 201, **fields: Any) -> Any:
    return await post(chain, "/operations", {"type": type, "storage_id": storage_id, "lines": lines, **fields},
                      status)


async def balances(chain: Chain, **params: Any) -> dict[tuple[str, str], str]:
    rows = await get(chain, "/stock", **params)
    return {(r["storage_id"], r["product_id"]): r["balance"] for r in rows}


async def balances_eventually(chain: Chain, expected: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    return await eventually(lambda: balances(chain), lambda b: all(b.get(k) == v for k, v in expected.items()),
                            what=f"stock {expected}")
