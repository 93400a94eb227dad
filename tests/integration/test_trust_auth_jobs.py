"""Trust: jobs are an operator's action (the `admin` scope, never a moment later than now), keys carry
scopes and may expire and are revoked by id, and a scheduled run goes chain by chain (one chain's bad
data is reported and skipped, every other chain's run completes)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploy import processes
from deploy.kafka_io import Kafka
from shared import auth
from tests.integration.conftest import ROOT, Chain, Stack, eventually, new_chain
from tests.integration.helpers import create_type, get_membership, membership_eventually, sell

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

JAN_1 = "2026-01-01T10:00:00+00:00"
ONE_DAY_FROM_SALE = {"period": 1, "unit": "day", "counted_from": "sale"}
POLICY = "/locations/loc-1/deduction-policy"  # a route to read (GET) and to write (PUT)
NO_SHOW = {"no_show": True, "late_cancel_hours": 24}


async def test_a_key_as_make_key_makes_it_runs_no_job_and_an_admin_key_does(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain, validity=ONE_DAY_FROM_SALE)
    await sell(chain, kafka, t["id"], "EXP-1", occurred_at=JAN_1)  # due to expire since Jan 2
    async with chain.client("memberships") as http:
        r = await http.post("/jobs/expiry/run", json={})
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "insufficient_scope" and "admin" in r.json()["message"]
    assert (await get_membership(chain, "EXP-1")).json()["status"] != "expired"  # nothing changed

    async with chain.admin("memberships") as http:
        r = await http.post("/jobs/expiry/run", json={})
    assert r.status_code == 200, r.text
    assert r.json()["changed"] == {"count": 1, "memberships": ["EXP-1"]}


async def test_a_job_runs_for_no_moment_later_than_now_and_a_small_skew(
    chain: Chain, kafka: Kafka, stack: Stack
) -> None:
    t = await create_type(chain, validity=ONE_DAY_FROM_SALE)
    await sell(chain, kafka, t["id"], "FUT-1", occurred_at=datetime.now(UTC).isoformat())
    async with chain.admin("memberships") as http:
        r = await http.post("/jobs/expiry/run", json={"as_of": "2100-01-01T00:00:00Z"})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "as_of" and r.json()["error"] == "as_of_in_the_future"
    assert (await get_membership(chain, "FUT-1")).json()["status"] != "expired"

    # The deployed default: 300 s (the test stack allows a year, for the tests that pin a later clock).
    replica = stack.start_replica("memberships", JOBS_AS_OF_SKEW_SECONDS="300")
    try:
        url = f"{replica.url}/v1/chains/{chain.id}/jobs/expiry/run"
        headers = {"Authorization": f"Bearer {chain.admin_key}"}
        async with httpx.AsyncClient(headers=headers, timeout=10) as http:
            soon = datetime.now(UTC) + timedelta(minutes=4)
            later = datetime.now(UTC) + timedelta(minutes=10)
            assert (await http.post(url, json={"as_of": soon.isoformat()})).status_code == 200
            r = await http.post(url, json={"as_of": later.isoformat()})
        assert r.status_code == 422 and r.json()["field"] == "as_of", r.text
    finally:
        processes.stop([replica])
    assert (await get_membership(chain, "FUT-1")).json()["status"] != "expired"


async def test_scopes_go_by_method_and_another_chains_key_still_finds_nothing(
    chain: Chain, stack: Stack, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        reader = await auth.create_key(conn, chain.id, "reader", scopes=("read",))
        writer = await auth.create_key(conn, chain.id, "writer", scopes=("write",))
    async with chain.client("memberships", key=reader) as http:
        assert (await http.get(POLICY)).status_code == 200
        r = await http.put(POLICY, json=NO_SHOW)
        assert r.status_code == 403 and r.json()["error"] == "insufficient_scope" and "write" in r.json()["message"]
        assert (await http.post("/jobs/expiry/run", json={})).status_code == 403
    async with chain.client("memberships", key=writer) as http:
        assert (await http.put(POLICY, json=NO_SHOW)).status_code == 200
        assert (await http.get(POLICY)).status_code == 403  # write does not imply read
    async with chain.admin("memberships") as http:
        assert (await http.get(POLICY)).status_code == 403  # nor admin read or write
        assert (await http.put(POLICY, json=NO_SHOW)).status_code == 403
    other = await new_chain(stack, db)
    for service, job in (("memberships", "expiry"), ("loyalty", "burn"), ("notifications", "release_held")):
        async with other.admin(service) as http:  # another chain's admin key: 404, as for every route
            r = await http.post(f"{stack.url(service)}/v1/chains/{chain.id}/jobs/{job}/run", json={})
        assert r.status_code == 404, (service, r.text)
        async with chain.client(service) as http:
            assert (await http.post(f"/jobs/{job}/run", json={})).status_code == 403, service
        async with chain.admin(service) as http:
            assert (await http.post(f"/jobs/{job}/run", json={})).status_code == 200, service


def admin_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": stack.settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": stack.settings.kafka_bootstrap_servers,
    }
    return subprocess.run(
        [sys.executable, "-m", "shared.admin", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


async def test_keys_expire_and_are_revoked_by_their_id_or_an_unambiguous_prefix(
    chain: Chain, stack: Stack, db: asyncpg.Pool
) -> None:
    made = admin_cli(
        stack, "create-key", "--chain", chain.id, "--name", "till", "--scopes", "read", "--expires-in-days", "1"
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()  # the key alone on stdout (KEY=$(make -s key ...)); its id on stderr
    assert key.startswith("psk_") and "\n" not in key
    [key_id] = re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", made.stderr)
    listed = admin_cli(stack, "list-keys", "--chain", chain.id).stdout
    [line] = [ln for ln in listed.splitlines() if key_id in ln]
    assert "read" in line and "write" not in line and "expires" in line and key[:10] in line

    async with chain.client("memberships", key=key) as http:
        assert (await http.get(POLICY)).status_code == 200
        async with db.acquire() as conn:
            await conn.execute(
                "UPDATE auth.api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", key_id
            )
        r = await http.get(POLICY)
        assert r.status_code == 401 and "expired" in r.json()["message"], r.text
        async with db.acquire() as conn:
            await conn.execute("UPDATE auth.api_keys SET expires_at = NULL WHERE id = $1", key_id)
        assert (await http.get(POLICY)).status_code == 200

        # Two keys share a prefix: revoking by it is refused (naming both ids); by id, one key ends.
        async with db.acquire() as conn:
            twin = await auth.create_key(conn, chain.id, "twin")
            await conn.execute(
                "UPDATE auth.api_keys SET prefix = $1 WHERE key_hash = $2", key[:10], auth.hash_key(twin)
            )
        ambiguous = admin_cli(stack, "revoke-key", "--prefix", key[:10])
        assert ambiguous.returncode != 0 and key_id in ambiguous.stderr, ambiguous
        assert (await http.get(POLICY)).status_code == 200
        revoked = admin_cli(stack, "revoke-key", "--id", key_id)
        assert revoked.returncode == 0 and "revoked: 1" in revoked.stdout, revoked
        assert (await http.get(POLICY)).status_code == 401
    async with chain.client("memberships", key=twin) as http:
        assert (await http.get(POLICY)).status_code == 200
    unique = admin_cli(stack, "revoke-key", "--prefix", key[:10])  # one active key has it now
    assert unique.returncode == 0 and "revoked: 1" in unique.stdout, unique
    async with chain.client("memberships", key=twin) as http:
        assert (await http.get(POLICY)).status_code == 401
    assert admin_cli(stack, "revoke-key", "--id", "not-a-uuid").returncode != 0


def failures(metrics_text: str, job: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(metrics_text)
        for s in family.samples
        if s.name == "perkstream_job_chain_failures_total" and s.labels.get("job") == job
    )


async def test_one_chains_bad_data_is_reported_and_skipped_and_every_other_chain_runs(
    chain: Chain, kafka: Kafka, stack: Stack, db: asyncpg.Pool
) -> None:
    bad = await new_chain(stack, db)
    for c, code in ((bad, "BAD-1"), (chain, "GOOD-1")):
        t = await create_type(c, auto_activation_days=1)  # due to activate by itself since Jan 2
        await sell(c, kafka, t["id"], code, occurred_at=JAN_1)
    # Bad data in one chain, put there behind the API's back: a type whose stored spec cannot be read.
    async with db.acquire() as conn:
        spec: str = await conn.fetchval("SELECT spec FROM memberships.membership_types WHERE chain_id = $1", bad.id)
        await conn.execute(
            "UPDATE memberships.membership_types SET spec = spec - 'validity' WHERE chain_id = $1", bad.id
        )
    replica = stack.start_replica("memberships", JOBS_ENABLED="true", JOBS_INTERVAL_SECONDS="1")
    try:
        # Activated by the schedule (and expired by it too, soon after: its validity ended in April).
        good = await membership_eventually(
            chain, "GOOD-1", lambda m: "activation" in [h["kind"] for h in m["history"]], timeout=30
        )
        assert [h["kind"] for h in good["history"]][:2] == ["sale", "activation"]
        assert good["history"][1]["detail"] == {"cause": "auto_activation"}

        async def metrics() -> str:
            async with httpx.AsyncClient(timeout=10) as http:
                return (await http.get(f"{replica.url}/metrics")).text

        await eventually(metrics, lambda text: failures(text, "auto_activation") >= 1, what="a failure counted")
        reported = [
            json.loads(line)
            for line in replica.logfile.read_text().splitlines()
            if "job_chain_failed" in line and bad.id in line
        ]
        assert reported, replica.log_tail()
        line: dict[str, Any] = reported[0]
        assert line["chain_id"] == bad.id and line["job"] in ("auto_activation", "expiry", "expiring_notices")
        assert line["error"] == "KeyError"
        assert "Anna" not in json.dumps(reported) and "+3620" not in json.dumps(reported)  # no PII
        async with db.acquire() as conn:
            assert (
                await conn.fetchval("SELECT status FROM memberships.memberships WHERE chain_id = $1", bad.id) == "sold"
            )  # skipped, untouched
    finally:
        processes.stop([replica])
        async with db.acquire() as conn:  # the next scheduled runs of the suite find good data again
            await conn.execute("UPDATE memberships.membership_types SET spec = $2 WHERE chain_id = $1", bad.id, spec)
