"""HTTP: keys bound to one chain, clear 401/404/422 answers, probes and documents on every service."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from shared import auth
from tests.integration.conftest import SERVICES, Chain, Stack, new_chain
from tests.integration.helpers import MASSAGE_TYPE

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_a_key_of_one_chain_on_another_chains_path_answers_404(
    chain: Chain, stack: Stack, db: asyncpg.Pool
) -> None:
    other = await new_chain(stack, db)
    async with other.client("memberships") as http:
        assert (await http.post("/membership-types", json=MASSAGE_TYPE)).status_code == 201
    intruder = Chain(other.id, chain.key, stack)  # chain A's key on chain B's path
    for service in SERVICES:
        async with intruder.client(service) as http:
            r = await http.get(
                {
                    "memberships": "/membership-types",
                    "loyalty": "/clients/cl-5/loyalty",
                    "inventory": "/operations",
                    "notifications": "/notifications",
                    "wallet": "/gift-card-types",
                }[service]
            )
        assert r.status_code == 404, (service, r.text)


@pytest.mark.parametrize("key", [None, "psk_not-a-real-key"])
async def test_no_key_or_a_wrong_key_answers_401(chain: Chain, key: str | None) -> None:
    async with chain.client("memberships", key=key) as http:
        r = await http.get("/membership-types")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


async def test_a_revoked_key_answers_401(chain: Chain, db: asyncpg.Pool) -> None:
    async with chain.client("memberships") as http:
        assert (await http.get("/membership-types")).status_code == 200  # the key works until revoked
    async with db.acquire() as conn:
        revoked = await conn.execute(
            "UPDATE auth.api_keys SET revoked_at = now() WHERE key_hash = $1", auth.hash_key(chain.key)
        )
    assert revoked == "UPDATE 1"
    async with chain.client("memberships") as http:
        r = await http.get("/membership-types")
    assert r.status_code == 401 and r.json()["message"] == "invalid API key"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": "12.345"}, "price"),
        ({"price": 12.5}, "price"),
        ({"balance": "weird"}, "balance"),
        ({"validity": {"period": 3, "unit": "fortnight"}}, "validity.unit"),
        ({"services": [{"service_id": "svc-massage", "visits": -1}]}, "services.0.visits"),
        ({"total_visits": 3}, "total_visits"),
        ({"name": ""}, "name"),
    ],
)
async def test_a_bad_body_answers_422_naming_the_field(chain: Chain, change: dict, field: str) -> None:  # type: ignore[type-arg]
    async with chain.client("memberships") as http:
        r = await http.post("/membership-types", json={**MASSAGE_TYPE, **change})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "validation_failed"
    assert field in [f["field"] for f in body["fields"]], body


async def test_an_unknown_membership_answers_404_with_a_reason(chain: Chain) -> None:
    async with chain.client("memberships") as http:
        r = await http.get("/memberships/NOPE")
        t = await http.get("/membership-types/not-a-uuid")
    assert r.status_code == 404 and r.json()["error"] == "membership_not_found"
    assert t.status_code == 404 and t.json()["error"] == "membership_type_not_found"


@pytest.mark.parametrize("service", SERVICES)
async def test_every_service_serves_probes_metrics_and_documents(stack: Stack, service: str) -> None:
    async with httpx.AsyncClient(base_url=stack.url(service), timeout=10) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {"postgres": True, "kafka": True}
        metrics = (await http.get("/metrics")).text
        assert "perkstream_messages_consumed_total" in metrics and "perkstream_outbox_lag_seconds" in metrics
        assert (await http.get("/docs")).status_code == 200
        openapi = (await http.get("/openapi.json")).json()
        asyncapi = (await http.get("/asyncapi")).json()
    assert asyncapi["asyncapi"].startswith("3.")
    assert any(op["action"] == "receive" for op in asyncapi["operations"].values())
    assert all(path.startswith("/v1/chains/{chain_id}/") or not path.startswith("/v1") for path in openapi["paths"])
