"""Trust at the HTTP edge: no single request stops a service.

- A body over the limit answers 413 before it is read and before the key is checked, whether it declares
  its length or streams it in chunks.
- Every list answers pages (`limit`, an opaque `cursor`, the next page in `Link` and `X-Next-Cursor`).
- HTTP takes its database connections from a pool of its own, with an acquire timeout: requests holding
  every one of them neither starve the consumers nor make the next request hang (503, Retry-After).
- Logs carry no key, no phone, no name, even where an error's traceback or message held them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import string
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
import pytest_asyncio

from deploy.kafka_io import Kafka
from shared import topics
from shared.http import MAX_BODY_BYTES
from shared.settings import Settings
from tests.integration.conftest import SERVICES, Chain, Stack, eventually, new_chain, publish
from tests.integration.helpers import MASSAGE_TYPE, create_type, sale, sell
from tests.integration.notifications_helpers import deducted

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

MIB = 1024 * 1024
HTTP_POOL = Settings().db_http_pool_size
WRITES = {
    "memberships": "/membership-types",
    "loyalty": "/card-types",
    "inventory": "/storages",
    "notifications": "/templates/membership.deducted",
    "wallet": "/gift-card-types",
}


# --- bodies ---------------------------------------------------------------------------------------


async def _answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers, body


async def raw_request(
    url: str, head: str, body: AsyncIterator[bytes] | None = None, timeout: float = 15
) -> tuple[int, dict[str, str], bytes, int]:
    """Sends `head` on a socket of its own, then `body` while it reads the answer: answers the status,
    headers, body, and how many body bytes had been sent when the answer came."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    sent = 0

    async def send() -> None:
        nonlocal sent
        if body is None:
            return
        async for chunk in body:
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)

    sender = asyncio.create_task(send())
    try:
        writer.write(head.encode("latin-1"))
        status, headers, answer = await asyncio.wait_for(_answer(reader), timeout)
        return status, headers, answer, sent
    finally:
        sender.cancel()
        with contextlib.suppress(BaseException):
            await sender
        writer.close()


@pytest.mark.parametrize("service", SERVICES)
async def test_a_declared_50_mib_body_answers_413_before_it_is_sent_and_before_the_key(
    chain: Chain, service: str
) -> None:
    """Only the head is sent: a service that waited for the body (to read it, then check the key) would
    never answer. No Authorization header either: the size is refused first."""
    path = f"/v1/chains/{chain.id}{WRITES[service]}"
    method = "PUT" if service == "notifications" else "POST"
    status, headers, body, _ = await raw_request(
        chain.stack.url(service),
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {50 * MIB}\r\n\r\n",
    )
    assert status == 413, body
    assert json.loads(body)["error"] == "payload_too_large"
    assert headers["content-type"] == "application/json"


async def test_a_chunked_body_streaming_past_the_limit_answers_413_before_its_end(chain: Chain) -> None:
    async def fifty_mib() -> AsyncIterator[bytes]:
        chunk = b"x" * (64 * 1024)
        for _ in range(50 * 16):
            yield b"%x\r\n%s\r\n" % (len(chunk), chunk)
        yield b"0\r\n\r\n"

    status, _, body, sent = await raw_request(
        chain.stack.url("memberships"),
        f"POST /v1/chains/{chain.id}/membership-types HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {chain.key}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        fifty_mib(),
        timeout=30,
    )
    assert status == 413, body
    assert json.loads(body)["error"] == "payload_too_large"
    assert sent < 50 * MIB, "the answer came only once the whole body was sent"


async def test_a_body_just_under_the_limit_is_still_served(chain: Chain) -> None:
    padded = {**MASSAGE_TYPE, "padding": "x" * (MAX_BODY_BYTES - 4096)}  # an unknown field: ignored
    async with chain.client("memberships") as http:
        r = await http.post("/membership-types", json=padded)
    assert r.status_code == 201, r.text[:300]


# --- pages ----------------------------------------------------------------------------------------


async def walk(http: httpx.AsyncClient, path: str, params: dict[str, Any], limit: int) -> tuple[list[Any], int]:
    """Every item of a list, page by page along X-Next-Cursor; and how many pages it took."""
    items: list[Any] = []
    pages = 0
    cursor: str | None = None
    while True:
        r = await http.get(path, params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        page = r.json()
        pages += 1
        items += page
        cursor = r.headers.get("x-next-cursor")
        if cursor is None:
            assert "link" not in r.headers
            assert len(page) <= limit
            return items, pages
        assert len(page) == limit, (path, len(page))
        link = r.headers["link"]
        assert link.endswith('>; rel="next"') and f"cursor={cursor}" in link and f"limit={limit}" in link
        assert pages < 10_000


async def test_a_list_of_1500_answers_100_at_a_time_and_its_cursor_walks_every_item_once(chain: Chain) -> None:
    gate = asyncio.Semaphore(16)

    async def add(i: int, http: httpx.AsyncClient) -> None:
        async with gate:
            r = await http.post(
                "/storages", json={"id": f"st-{i:04d}", "location_id": f"loc-{i % 7}", "name": f"Storage {i}"}
            )
        assert r.status_code == 201, r.text

    async with chain.client("inventory") as http:
        await asyncio.gather(*(add(i, http) for i in range(1500)))
        first = await http.get("/storages")
        assert first.status_code == 200
        assert len(first.json()) == 100, f"{len(first.json())} storages in one answer"
        items, pages = await walk(http, "/storages", {}, 100)
        # The Link header is a usable URL of the next page.
        nxt = await http.get(
            httpx.URL(first.headers["link"][1:].split(">")[0]).copy_with(
                scheme="http", host="127.0.0.1", port=urlsplit(chain.stack.url("inventory")).port
            )
        )
        assert nxt.json() == items[100:200]
        biggest = await http.get("/storages", params={"limit": 1000})
        too_big = await http.get("/storages", params={"limit": 1001})
        forged = await http.get("/storages", params={"cursor": "not-a-cursor"})
    assert pages == 15
    ids = [s["id"] for s in items]
    assert sorted(ids) == [f"st-{i:04d}" for i in range(1500)]
    assert items == sorted(items, key=lambda s: (s["location_id"], s["name"], s["id"]))
    assert len(biggest.json()) == 1000 and biggest.headers["x-next-cursor"]
    assert too_big.status_code == 422 and [f["field"] for f in too_big.json()["fields"]] == ["limit"]
    assert forged.status_code == 422 and [f["field"] for f in forged.json()["fields"]] == ["cursor"]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def catalog(stack: Stack, db: asyncpg.Pool, kafka: Kafka) -> dict[str, Chain]:
    """At least three items in every list of every service: `main` for memberships, loyalty and
    inventory, `notices` for notifications (nothing else makes notices there)."""
    main, notices = await new_chain(stack, db), await new_chain(stack, db)
    types = [await create_type(main, name=f"Type {n}") for n in "CAB"]
    for n, t in enumerate(types):
        await sell(main, kafka, t["id"], f"CODE-{n}")
    async with main.client("loyalty") as ly:
        card_types = [(await ly.post("/card-types", json={"name": f"Card {n}"})).json() for n in "ZXY"]
        for n in range(3):
            assert (
                await ly.post(
                    "/promotions",
                    json={
                        "name": f"Promo {n}",
                        "type": "fixed_cashback_paid",
                        "card_type_ids": [card_types[n]["id"]],
                        "location_ids": ["loc-1"],
                        "percent": "3",
                        "rules": [],
                    },
                )
            ).status_code == 201
            assert (
                await ly.post(
                    "/cards", json={"card_type_id": card_types[n]["id"], "client_id": f"cl-{n}", "number": f"N-{n}"}
                )
            ).status_code == 201
    async with main.client("inventory") as inv:
        for n in range(3):
            assert (
                await inv.post("/storages", json={"id": f"st-{n}", "location_id": "loc-1", "name": "Same name"})
            ).status_code == 201
        for n in range(3):
            assert (await inv.post("/categories", json={"name": f"cat {n}"})).status_code == 201
            assert (
                await inv.post("/products", json={"id": f"prod-{n}", "name": "Oil" if n else "oil", "sale_price": "10"})
            ).status_code == 201
            assert (
                await inv.post(
                    "/operations",
                    json={
                        "type": "arrival",
                        "storage_id": "st-1",
                        "lines": [{"product_id": f"prod-{n}", "quantity": "5"}],
                    },
                )
            ).status_code == 201
        for location in ("loc-1", "loc-2", None):
            assert (
                await inv.put(
                    "/services/svc-trust/bill-of-materials",
                    json={"location_id": location, "items": [{"product_id": "prod-0", "quantity": "1"}]},
                )
            ).status_code == 200

        async def products() -> int:
            r = await inv.get("/products", params={"all": "true", "limit": 1000})
            return len(r.json())

        # Ours, and the membership types' (one at each of their two locations).
        await eventually(products, lambda n: n == 3 + 3 * 2, what="the membership types' products")
    for n in range(3):
        await publish(
            kafka,
            topics.MEMBERSHIP_DEDUCTED,
            deducted(notices, client={"id": f"cl-{n}", "phone": "+36201234567", "name": "Anna"}),
        )
    async with notices.client("notifications") as nt:

        async def notice_count() -> int:
            return len((await nt.get("/notifications", params={"limit": 1000})).json())

        await eventually(notice_count, lambda n: n == 3, what="three notices")
    return {"main": main, "notices": notices}


LISTS = [
    ("memberships", "/membership-types", {}),
    ("memberships", "/memberships", {}),
    ("memberships", "/reports/memberships", {}),
    ("loyalty", "/card-types", {}),
    ("loyalty", "/promotions", {}),
    ("loyalty", "/cards", {}),
    ("inventory", "/storages", {}),
    ("inventory", "/categories", {}),
    ("inventory", "/products", {"all": "true"}),
    ("inventory", "/operations", {}),
    ("inventory", "/stock", {}),
    ("inventory", "/stock", {"at": "2100-01-01T00:00:00+00:00"}),
    ("inventory", "/services/svc-trust/bill-of-materials", {}),
    ("notifications", "/notifications", {}),
    ("notifications", "/templates", {}),
]


@pytest.mark.parametrize(
    ("service", "path", "params"), LISTS, ids=[f"{s}{p}{'?' + ','.join(q) if q else ''}" for s, p, q in LISTS]
)
async def test_every_list_answers_pages_that_add_up_to_the_whole_list(
    catalog: dict[str, Chain], service: str, path: str, params: dict[str, str]
) -> None:
    chain = catalog["notices" if service == "notifications" else "main"]
    async with chain.client(service) as http:
        whole = await http.get(path, params={**params, "limit": 1000})
        assert whole.status_code == 200, whole.text
        assert len(whole.json()) >= 3 and "x-next-cursor" not in whole.headers
        one_by_one, pages = await walk(http, path, params, 1)
        by_two, _ = await walk(http, path, params, 2)
        too_big = await http.get(path, params={**params, "limit": 1001})
        forged = await http.get(path, params={**params, "cursor": "bm90IGEgY3Vyc29y"})
    assert one_by_one == whole.json() and by_two == whole.json()
    assert pages == len(whole.json())
    assert too_big.status_code == 422 and [f["field"] for f in too_big.json()["fields"]] == ["limit"]
    assert forged.status_code == 422 and [f["field"] for f in forged.json()["fields"]] == ["cursor"], forged.text


# --- the pool -------------------------------------------------------------------------------------


async def test_requests_holding_every_http_connection_neither_starve_the_consumers_nor_hang(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool
) -> None:
    """Every request checks its key in auth.api_keys; while the test holds that table locked, each
    request that got a connection keeps it, waiting. Forty of them take more than the HTTP pool has: a
    sale published meanwhile is still applied (the consumers have connections of their own), and the
    requests that found no connection free answer 503 with Retry-After instead of waiting for one."""
    t = await create_type(chain)
    holder = await db.acquire()
    lock = holder.transaction()
    await lock.start()
    await holder.execute("LOCK TABLE auth.api_keys IN ACCESS EXCLUSIVE MODE")
    try:
        async with httpx.AsyncClient(
            base_url=f"{chain.stack.url('memberships')}/v1/chains/{chain.id}",
            headers={"Authorization": f"Bearer {chain.key}"},
            timeout=90,
            limits=httpx.Limits(max_connections=100),
        ) as http:
            requests = [asyncio.create_task(http.get("/membership-types")) for _ in range(40)]

            async def held() -> int:  # the service's connections waiting for the test's lock
                return await db.fetchval("""SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
                                            AND application_name LIKE 'perkstream-memberships%'""")

            await eventually(held, lambda n: n >= HTTP_POOL, what="every HTTP connection held")
            event = sale(chain, t["id"], "POOL-1")
            await kafka.publish(topics.MEMBERSHIP_SOLD, event, key=event["client"]["id"])
            issued = await kafka.read(topics.MEMBERSHIP_ISSUED, lambda m: m.get("chain_id") == chain.id, timeout=30)
            assert [m["code"] for m in issued] == ["POOL-1"], "the sale waited for a connection HTTP held"
            done, waiting = await asyncio.wait(requests, timeout=20)
            refused = [task.result() for task in done]
            assert refused and {r.status_code for r in refused} == {503}, [r.status_code for r in refused]
            assert all(int(r.headers["retry-after"]) > 0 for r in refused)
            assert {r.json()["error"] for r in refused} == {"unavailable"}
            assert waiting, "no request held a connection"
            await lock.rollback()
            served = await asyncio.gather(*waiting)
        assert {r.status_code for r in served} == {200}
    finally:
        if holder.is_in_transaction():
            await lock.rollback()
        await db.release(holder)


# --- logs -----------------------------------------------------------------------------------------


def _secret_person() -> dict[str, str]:
    digits = "".join(random.choices(string.digits, k=7))
    surname = "".join(random.choices(string.ascii_uppercase, k=10))
    return {"id": f"cl-{uuid.uuid4().hex[:8]}", "phone": f"+3670{digits}", "name": f"Ilona {surname}"}


async def test_logs_carry_no_key_no_phone_and_no_name_even_from_errors(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool, stack: Stack
) -> None:
    person = _secret_person()
    t = await create_type(chain, validity={"period": 3, "unit": "month", "counted_from": "sale"})
    # 1. A message refused before its handler: a sale dated in the year 9999, with the client's phone and
    # name, is dead-lettered.
    far = sale(chain, t["id"], "FAR-1", client=person, occurred_at="9999-12-01T00:00:00+00:00")
    # 2. A handler error from the database, its message holding the values: a trigger refuses this sale,
    # naming the client's phone and name, as a constraint's or a cast's message may. The handler fails (its
    # traceback's frames held the event, with the phone and name) and the sale is dead-lettered.
    refused = sale(chain, t["id"], "REFUSED-1", client=person)
    async with db.acquire() as conn:
        await conn.execute(f"""
            CREATE FUNCTION memberships.trust_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.chain_id = '{chain.id}' AND NEW.code = 'REFUSED-1' THEN
                RAISE EXCEPTION 'refused % for %', NEW.phone, NEW.client_name;
              END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER trust_refuse BEFORE INSERT ON memberships.memberships
              FOR EACH ROW EXECUTE FUNCTION memberships.trust_refuse();
            CREATE FUNCTION loyalty.trust_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.chain_id = '{chain.id}' THEN
                RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'no card for ' || NEW.phone;
              END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER trust_refuse BEFORE INSERT ON loyalty.cards
              FOR EACH ROW EXECUTE FUNCTION loyalty.trust_refuse();""")
    try:
        for event in (far, refused):
            await kafka.publish(topics.MEMBERSHIP_SOLD, event, key=person["id"])
        await sell(chain, kafka, t["id"], "AFTER-1", client=person)  # the marker: both were consumed
        dead = await kafka.read(topics.dlq(topics.MEMBERSHIP_SOLD), lambda m: m.get("chain_id") == chain.id, count=2)
        assert sorted(d["code"] for d in dead) == ["FAR-1", "REFUSED-1"]
        # 3. The same kind of database error on the HTTP side: a card with the phone (422, the message
        # goes back to the caller who sent it, not to the log).
        async with chain.client("loyalty") as ly:
            card_type = (await ly.post("/card-types", json={"name": "Card"})).json()
            card = await ly.post(
                "/cards",
                json={
                    "card_type_id": card_type["id"],
                    "client_id": person["id"],
                    "phone": person["phone"],
                    "number": "TRUST-1",
                },
            )
        assert card.status_code == 422, card.text
    finally:
        async with db.acquire() as conn:
            await conn.execute(
                "DROP TRIGGER trust_refuse ON memberships.memberships;"
                "DROP FUNCTION memberships.trust_refuse();"
                "DROP TRIGGER trust_refuse ON loyalty.cards; DROP FUNCTION loyalty.trust_refuse();"
            )
    # 4. An error inside the key check, while it holds the bearer key: the keys' table is away a moment.
    async with db.acquire() as conn:
        await conn.execute("ALTER TABLE auth.api_keys RENAME TO api_keys_away")
        try:
            async with chain.client("memberships") as http:
                broken = await http.get("/membership-types")
        finally:
            await conn.execute("ALTER TABLE auth.api_keys_away RENAME TO api_keys")
    assert broken.status_code == 500

    async def logged() -> str:
        return "\n".join(f.read_text(errors="replace") for f in sorted(stack.logdir.glob("*.log")))

    text = await eventually(
        logged, lambda s: "unhandled_http_error" in s and refused["event_id"] in s, what="the errors' log lines"
    )
    surname = person["name"].split()[1]
    for secret in (chain.key, chain.key[4:], person["phone"], person["phone"][1:], person["phone"][3:], surname):
        assert secret not in text, f"{secret!r} is in the logs"
    # The lines still say which event and chain they are about.
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    about_refused = [line for line in lines if line.get("event_id") == refused["event_id"]]
    assert {"handler_failed", "dead_lettered"} <= {line["event"] for line in about_refused}
    assert {line["chain_id"] for line in about_refused} == {chain.id}
    [failed] = [line for line in about_refused if line["event"] == "handler_failed"]
    assert failed["exception"][0]["exc_type"] == "RaiseError"  # the traceback is there, without its locals
    assert all("locals" not in frame for frame in failed["exception"][0]["frames"])
    [unhandled] = [line for line in lines if line["event"] == "unhandled_http_error" and line["chain_id"] == chain.id]
    assert unhandled["path"] == f"/v1/chains/{chain.id}/membership-types"
