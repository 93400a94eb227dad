"""The tenant-isolation test's plan and builders: the two chains' streams sent together (one record batch
per partition, so a consumer gets both chains' identical ids in one batch), events naming the other
chain's ids, the same pending work for every job in a chain, a service's jobs as its Jobs router names
them, and every route of a service's OpenAPI document with its path filled with a chain's real ids."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from aiokafka.partitioner import DefaultPartitioner

from deploy import scenario
from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import ROOT, Chain, Stack, eventually
from tests.integration.loyalty_helpers import program_recalculated
from tests.integration.state import Snapshot, snapshot

PLAN = scenario.Plan(clients=30, tag="iso")
VISITS = 90  # three per client: the second pays with points
OUTPUT = (
    topics.MEMBERSHIP_DEDUCTED,
    topics.LOYALTY_BONUS_ACCRUED,
    topics.INVENTORY_STOCK_CHANGED,
    topics.NOTIFICATION_SMS,
)
CLIENT, CODE, CARD = PLAN.client(0)["id"], PLAN.code(0), PLAN.card_number(0)
GIFT = "GIFT-ISO"  # each chain's gift card (the same code in both), ending 30 days from the jobs' test
# A second type, sold in the stream to the first SPARES clients and never used: work for every
# membership job (auto-activation, expiring notices, a planned freeze, expiry).
SPARE: dict[str, Any] = {
    "name": "Spare pass",
    "balance": "overall",
    "services": [{"service_id": scenario.MASSAGE}],
    "total_visits": 5,
    "price": "1000",
    "validity": {"period": 1, "unit": "year", "counted_from": "sale"},
    "auto_activation_days": 30,
    "freeze": {"allowed": True, "max_days": 30},
    "notify_days_before_expiry": 30,
    "location_ids": [scenario.LOCATION],
}
SPARES = 3
SOLD_AT = scenario.START - timedelta(days=1)
FOREIGN_CODE, FOREIGN_SALE, FOREIGN_VISIT = "X000000", f"sale-{PLAN.tag}-foreign", f"v-{PLAN.tag}-foreign"


async def snap(chain: Chain) -> Snapshot:
    return await snapshot(chain.id, chain.key, chain.stack.urls(), PLAN)


def sale(chain: Chain, name: str, type_id: str, code: str, client: int) -> tuple[str, str, dict[str, Any]]:
    who = PLAN.client(client)
    return (
        topics.MEMBERSHIP_SOLD,
        who["id"],
        {
            "event_id": f"e-{PLAN.tag}-{name}",
            "occurred_at": SOLD_AT.isoformat(),
            "chain_id": chain.id,
            "location_id": scenario.LOCATION,
            "sale_id": f"sale-{PLAN.tag}-{name}",
            "membership_type_id": type_id,
            "code": code,
            "client": who,
            "price": SPARE["price"],
        },
    )


def foreign_visit(chain: Chain, membership_id: str) -> tuple[str, str, dict[str, Any]]:
    """A visit of client 0 paid with a membership named by its id: the other chain's."""
    return (
        topics.VISIT_PAID,
        CLIENT,
        {
            "event_id": f"e-{FOREIGN_VISIT}-paid",
            "occurred_at": scenario.START.isoformat(),
            "chain_id": chain.id,
            "location_id": scenario.LOCATION,
            "visit_id": FOREIGN_VISIT,
            "client": PLAN.client(0),
            "lines": [
                {
                    "kind": "service",
                    "item_id": scenario.MASSAGE,
                    "category_id": "cat-body",
                    "quantity": 1,
                    "sold": "2000",
                    "paid": "0",
                    "membership": {"id": membership_id},
                }
            ],
        },
    )


async def membership_id(chain: Chain, code: str) -> str:
    async with chain.client("memberships") as ms:
        return (await ms.get(f"/memberships/{code}")).json()["id"]  # type: ignore[no-any-return]


async def notice(chain: Chain, client_id: str, notice_type: str, text: str = "") -> dict[str, Any]:
    """The client's one notice of this type whose text has `text`, once it is there."""

    async def probe() -> list[dict[str, Any]]:
        async with chain.client("notifications") as nt:
            r = await nt.get("/notifications", params={"client_id": client_id, "type": notice_type})
        return [n for n in r.json() if text in n["text"]]

    found = await eventually(probe, lambda ns: len(ns) == 1, what=f"{client_id}'s {notice_type} in {chain.id}")
    return found[0]


async def admin_cli(stack: Stack, *args: str) -> str:
    """`python -m shared.admin ...` against the test stack; answers what it printed."""
    env = {
        **os.environ,
        "DATABASE_URL": stack.settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": stack.settings.kafka_bootstrap_servers,
    }
    run = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.admin",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out = (await asyncio.wait_for(run.communicate(), 120))[0].decode(errors="replace")
    assert run.returncode == 0, out
    return out


async def transaction_of(chain: Chain, number: str, visit_id: str) -> dict[str, Any]:
    """The card's transaction for the visit, once it is there."""

    async def probe() -> list[dict[str, Any]]:
        async with chain.client("loyalty") as ly:
            r = await ly.get(f"/cards/{number}")
        return [t for t in (r.json().get("transactions") or []) if t["visit_id"] == visit_id] if r.is_success else []

    return (await eventually(probe, lambda ts: len(ts) == 1, timeout=30, what=f"{visit_id} on {number}"))[0]


def jobs_plan(now: datetime) -> dict[str, tuple[datetime, str]]:
    """Each job's moment, and the order A runs them in (expiry last: an expired membership is no other
    job's candidate), with the field of its answer that counts what it did. Pending in both chains by then:
    the spare memberships (unused, 30 days to auto-activate, expiring notices 30 days ahead, one freeze
    planned), held notices, a program that resets discounts after 300 days away, points that burn a year
    after the scenario's visits, memberships a year old, a phone stored before phones were E.164, a gift card
    ending in 30 days."""
    return {
        "phones": (now, "count"),
        "freezes": (now + timedelta(days=11), "count"),
        "auto_activation": (now + timedelta(days=40), "count"),
        "expiring_notices": (SOLD_AT + timedelta(days=365 - 10), "count"),
        "release_held": (now + timedelta(days=1), "released"),
        "inactivity": (now + timedelta(days=365), "clients_changed"),
        "burn": (now + timedelta(days=365), "cards_burned"),
        "gift_card_expiring": (now + timedelta(days=25), "count"),
        "gift_card_expiry": (now + timedelta(days=365), "count"),
        "expiry": (now + timedelta(days=365), "count"),
    }


async def pending_work(chain: Chain, now: datetime, kinds: list[str]) -> None:
    """The same work for every job, in one chain, through its API."""
    local = now.astimezone(ZoneInfo("Europe/Budapest"))
    closed = {"from": f"{(local.hour + 2) % 24:02d}:00", "to": f"{(local.hour + 3) % 24:02d}:00"}  # an hour at least
    async with (
        chain.client("memberships") as ms,
        chain.client("loyalty") as ly,
        chain.client("notifications") as nt,
        chain.client("wallet") as wl,
    ):
        for r in [
            # Every event a notice (a leak into B shows), held for now: the location's, and the chain's
            # for what names no location (a manual accrual).
            *[
                await nt.put(
                    path,
                    json={
                        "time_zone": "Europe/Budapest",
                        "location_name": "Centrum",
                        "send_window": closed,
                        "types": {k: {"sms": True} for k in kinds},
                    },
                )
                for path in (f"/locations/{scenario.LOCATION}/notification-settings", "/notification-settings")
            ],
            await ms.post(
                "/memberships/S000000/freeze", json={"from": (now + timedelta(days=10)).date().isoformat(), "days": 5}
            ),
            await ly.put(
                f"/locations/{scenario.LOCATION}/loyalty-program",
                json={**scenario.PROGRAM, "discount_reset_after_days": 300},
            ),
            await ly.post(
                f"/cards/{PLAN.card_number(4)}/transactions", json={"kind": "accrue", "amount": "10", "reason": "held"}
            ),  # its notice waits for the window
            await wl.patch(
                f"/gift-cards/{GIFT}",
                json={"valid_until": (now + timedelta(days=30)).isoformat(), "reason": "the jobs' work"},
                headers={"X-User": "eva"},
            ),  # told of its end, then expired
        ]:
            assert r.status_code in (200, 201), (r.request.url, r.text)
    await program_recalculated(chain)
    # A phone as an upgrade finds it, stored before phones were E.164 (a national form): the phones job's work.
    conn = await asyncpg.connect(chain.stack.settings.database_url)
    try:
        done = await conn.execute(
            """UPDATE memberships.memberships SET phone = '06' || substr(phone, 4)
                                     WHERE chain_id = $1 AND code = 'S000000' AND phone LIKE '+36%'""",
            chain.id,
        )
        assert done == "UPDATE 1", done
    finally:
        await conn.close()


async def run_jobs(
    chain: Chain, plan: dict[str, tuple[datetime, str]], services: dict[str, list[str]]
) -> dict[str, int]:
    """Every job of `plan`, in its order, for the chain (its admin key); answers how much each did."""
    did = {}
    for job, (as_of, field) in plan.items():
        service = next(s for s, jobs in services.items() if job in jobs)
        async with chain.admin(service) as http:
            r = await http.post(f"/jobs/{job}/run", json={"as_of": as_of.isoformat()})
        assert r.status_code == 200, (job, r.text)
        did[job] = int(r.json()["changed"][field])
    return did


# --- the whole API ------------------------------------------------------------------------------------

CHAIN_PREFIX = "/v1/chains/{chain_id}"
# POST routes that only read (a quote changes nothing): a read key may call them, so they are sent a
# valid body and the chain's own reader is answered 200, as on a GET.
READING_POSTS = {
    "/checkout/quote-part": {
        "location_id": scenario.LOCATION,
        "client": {"id": CLIENT},
        "occurred_at": "2026-06-01T10:00:00+00:00",
        "lines": [{"kind": "service", "item_id": scenario.MASSAGE, "quantity": 1, "sold": "100"}],
    },
}
NO_SUCH_JOB = "no-such-job"


async def publish_together(kafka: Kafka, messages: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
    """(topic, key, event), in this order. The messages of one topic and partition (the one the key hashes
    to, as any producer places it) go in as few record batches as hold them: a consumer fetches a record
    batch whole, so two chains' messages laid side by side here are applied in one consumer batch."""
    producer = kafka.producer
    lanes: dict[tuple[str, int], list[tuple[bytes, bytes]]] = {}
    for topic, key, event in messages:
        partitions = sorted(await producer.partitions_for(topic))
        partition = DefaultPartitioner()(key.encode(), partitions, partitions)
        lanes.setdefault((topic, partition), []).append((key.encode(), json.dumps(event).encode()))
    sent = []
    for (topic, partition), records in lanes.items():
        batch = producer.create_batch()
        for raw_key, value in records:
            if batch.append(key=raw_key, value=value, timestamp=None) is None:  # full: send it, start the next
                sent.append(await producer.send_batch(batch, topic, partition=partition))
                batch = producer.create_batch()
                assert batch.append(key=raw_key, value=value, timestamp=None) is not None
        sent.append(await producer.send_batch(batch, topic, partition=partition))
    await asyncio.gather(*sent)


async def jobs_of(chain: Chain, service: str) -> list[str]:
    """The jobs a service runs, as its Jobs router names them when asked for one it does not know."""
    async with chain.admin(service) as http:
        r = await http.post(f"/jobs/{NO_SUCH_JOB}/run", json={})
    assert r.status_code == 404 and r.json()["error"] == "unknown_job", r.text
    listed = re.fullmatch(rf"no job '{NO_SUCH_JOB}'; jobs: (.*)", r.json()["message"])
    assert listed is not None, r.text
    return [j for j in listed.group(1).split(", ") if j]


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    template: str  # the OpenAPI path, less /v1/chains/{chain_id}
    path: str  # filled
    query: dict[str, str]

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path}"


async def routes(url: str, service: str, values: Mapping[str, list[str]]) -> list[Route]:
    """Every method and path of the service's `/openapi.json` under a chain, once per combination of
    `values` for its path parameters (their required query parameters take the first value)."""
    async with httpx.AsyncClient(timeout=10) as http:
        doc = (await http.get(f"{url}/openapi.json")).json()
    found = []
    for template, operations in doc["paths"].items():
        if not template.startswith(CHAIN_PREFIX):
            continue
        for method, op in operations.items():
            params = [p for p in op.get("parameters", []) if p["name"] != "chain_id"]
            in_path = [p["name"] for p in params if p["in"] == "path"]
            required = [p["name"] for p in params if p["in"] == "query" and p.get("required")]
            missing = [n for n in in_path + required if not values.get(n)]
            assert not missing, f"{service} {method} {template}: give it the other chain's {missing}"
            query = {n: values[n][0] for n in required}
            for combination in itertools.product(*(values[n] for n in in_path)):
                path = template.removeprefix(CHAIN_PREFIX)
                for name, value in zip(in_path, combination, strict=True):
                    path = path.replace(f"{{{name}}}", value)
                found.append(Route(service, method.upper(), template.removeprefix(CHAIN_PREFIX), path, query))
    return found


async def answers(
    urls: Mapping[str, str], chain_id: str, key: str, tries: list[Route], parallel: int = 16
) -> list[tuple[int, Any]]:
    """The status and body a key gets for each route under a chain's paths (a write sends `{}`)."""
    gate = asyncio.Semaphore(parallel)
    clients = {
        s: httpx.AsyncClient(
            base_url=f"{url}/v1/chains/{chain_id}", timeout=30, headers={"Authorization": f"Bearer {key}"}
        )
        for s, url in urls.items()
    }

    async def one(route: Route) -> tuple[int, Any]:
        body: dict[str, Any] | None = {} if route.method in ("POST", "PUT", "PATCH") else None
        if route.method == "POST" and route.template in READING_POSTS:
            body = READING_POSTS[route.template]
        async with gate:
            r = await clients[route.service].request(route.method, route.path, params=route.query, json=body)
        try:
            return r.status_code, r.json()
        except ValueError:
            return r.status_code, r.text

    try:
        return list(await asyncio.gather(*(one(r) for r in tries)))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients.values()))
