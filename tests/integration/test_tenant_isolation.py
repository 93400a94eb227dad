"""Tenant isolation: two chains with the very same booking-system ids (clients, codes, card numbers,
storages, products, visit ids, even event ids: one `deploy.scenario` plan set up and played in both)
never see nor change each other, through the API, the inbox, the batch caches, the jobs, a redrive or
the topics.

The module fixture sets both chains up and plays both streams at once: each of A's messages lies next to
B's identical one in the same record batch of the same partition (same key), so every consumer applies
the two chains' identical ids in one batch transaction, with one batch cache (`uow.batch`). Among them,
each chain sells a membership of the other chain's type and pays a visit with the other chain's
membership id, right after the other chain's own sale of that type (the cache holds it). The tests then
write, re-drive and run every job in A, and compare B's whole state (`tests.integration.state`) before
and after; the last test runs the jobs (it expires every membership).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest_asyncio

from deploy import scenario
from deploy.kafka_io import Kafka
from shared import auth, topics
from tests.integration.conftest import SERVICES, Chain, Stack, eventually, new_chain, of_chain
from tests.integration.isolation_helpers import (
    CARD,
    CLIENT,
    CODE,
    FOREIGN_CODE,
    FOREIGN_SALE,
    FOREIGN_VISIT,
    GIFT,
    NO_SUCH_JOB,
    OUTPUT,
    PLAN,
    READING_POSTS,
    SPARE,
    SPARES,
    VISITS,
    Route,
    admin_cli,
    answers,
    foreign_visit,
    jobs_of,
    jobs_plan,
    membership_id,
    notice,
    pending_work,
    publish_together,
    routes,
    run_jobs,
    sale,
    snap,
    transaction_of,
)
from tests.integration.state import Snapshot, diff, settled, totals


@dataclass
class Pair:
    """The two chains and their snapshots along the way."""

    a: Chain
    b: Chain
    set_up: Snapshot  # A once set up
    b_set_up: Snapshot  # B once set up
    a_played: Snapshot  # A after both streams
    b_played: Snapshot  # B after both streams
    output: dict[str, list[dict[str, Any]]]  # per output topic, what both chains' visits caused


async def set_up(chain: Chain, kafka: Kafka) -> tuple[Snapshot, str]:
    """The chain set up, with the spare type too; answers its snapshot, once the products of both types
    are there too (from membership_type.created), and the spare type's id."""
    await scenario.set_up(PLAN, chain.id, chain.key, chain.stack.urls(), kafka)
    async with chain.client("memberships") as ms:
        r = await ms.post("/membership-types", json=SPARE)
    assert r.status_code == 201, r.text
    await gift_card(chain, kafka)
    await referral_program(chain)
    done = await settled(
        lambda: snap(chain),
        lambda s: (
            sum(p["kind"] == "membership" for p in s["products"]) == 2
            and sum(p["kind"] == "gift_card" for p in s["products"]) == 1
        ),
        what=f"{chain.id}'s set-up",
    )
    return done, r.json()["id"]


async def gift_card(chain: Chain, kafka: Kafka) -> None:
    """A gift card type and a card of it sold to client 0, for the wallet's routes to name."""
    async with chain.client("wallet") as wl:
        r = await wl.post("/gift-card-types", json={"name": "Spa 5000", "par_value": "5000"})
        assert r.status_code == 201, r.text
        sale = chain.event(sale_id="gift-iso", gift_card_type_id=r.json()["id"], code=GIFT, client=PLAN.client(0),
                           price="5000")  # fmt: skip
        await kafka.publish(topics.GIFT_CARD_SOLD, sale, key=CLIENT)
        await eventually(lambda: wl.get(f"/gift-cards/{GIFT}"), lambda g: g.status_code == 200, what="the gift card")


async def referral_program(chain: Chain) -> None:
    """The chain's referral program on its card type, for loyalty's referral routes to read (no referral:
    the visits cause what they did before)."""
    async with chain.client("loyalty") as ly:
        card_type = (await ly.get("/card-types")).json()[0]
        body = {
            "enabled": True,
            "invitee_discount_percent": "10",
            "referrer_cashback": "100",
            "card_type_id": card_type["id"],
        }
        r = await ly.put("/referral-program", json=body)
        assert r.status_code == 200, r.text


async def played(chain: Chain, visits: list[scenario.Visit]) -> Snapshot:
    """The chain's state once every visit had all its effects: every visit deducted (a cheap sign to wait
    for first), then a snapshot that `done` accepts and that the next one repeats."""

    async def used() -> int:
        async with chain.client("memberships") as ms:
            return sum(row["visits_used"] for row in (await ms.get("/reports/memberships")).json())

    await eventually(used, lambda n: n >= len(visits), timeout=90, what=f"the deductions in {chain.id}")
    return await settled(lambda: snap(chain), lambda s: done(s, visits), what=f"{chain.id}'s play")


def done(snap: Snapshot, visits: list[scenario.Visit]) -> bool:
    """Every visit of the stream has had all its effects, and so have the spare sales."""
    t = totals(snap)
    spares = sum(m["code"].startswith("S") for c in snap["clients"].values() for m in c["memberships"])
    return (
        t["deductions"] >= len(visits)
        and t["visit_operations"] >= 2 * len(visits)
        and t["accrual"] >= len(visits)
        and t["notices"] >= sum(v.notices for v in visits)
        and spares == SPARES
    )


def caused_by_visits(*chains: Chain) -> Callable[[dict[str, Any]], bool]:
    """Messages of these chains that the visits caused (the set-up's stock arrivals left out)."""
    mine = [of_chain(c) for c in chains]
    return lambda m: any(match(m) for match in mine) and not str(m.get("source", "")).startswith("user:")


def sms_sent(snap: Snapshot) -> int:
    return sum(n["channel"] == "sms" and n["published"] for c in snap["clients"].values() for n in c["notices"])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pair(stack: Stack, db: asyncpg.Pool, kafka: Kafka) -> Pair:
    a, b = await new_chain(stack, db), await new_chain(stack, db)
    (a_set_up, a_spare), (b_set_up, b_spare) = await asyncio.gather(set_up(a, kafka), set_up(b, kafka))
    spare = {a.id: a_spare, b.id: b_spare}
    theirs = {a.id: await membership_id(b, CODE), b.id: await membership_id(a, CODE)}

    # Side by side on each partition: A's message, then B's identical one. Client 0's spare sales come
    # before the sales naming the other chain's spare type; the visit paying with the other chain's
    # membership id comes first on client 0's visit.paid partition.
    sales = [sale(c, f"spare-{i}", spare[c.id], f"S{i:06d}", i) for i in range(SPARES) for c in (a, b)]
    sales += [sale(c, "foreign", spare[other.id], FOREIGN_CODE, 0) for c, other in ((a, b), (b, a))]
    streams = {c.id: list(scenario.visits(PLAN, c.id, VISITS)) for c in (a, b)}
    assert [v.messages[0][1]["event_id"] for v in streams[a.id]] == [
        v.messages[0][1]["event_id"] for v in streams[b.id]
    ]
    visits = [foreign_visit(c, theirs[c.id]) for c in (a, b)]
    for va, vb in zip(streams[a.id], streams[b.id], strict=True):
        for (topic, ea), (_, eb) in zip(va.messages, vb.messages, strict=True):
            visits += [(topic, va.client_id, ea), (topic, vb.client_id, eb)]
    await publish_together(kafka, [*sales, *visits])

    a_played, b_played = await asyncio.gather(played(a, streams[a.id]), played(b, streams[b.id]))
    counts = {
        topics.MEMBERSHIP_DEDUCTED: VISITS,
        topics.LOYALTY_BONUS_ACCRUED: VISITS,
        topics.INVENTORY_STOCK_CHANGED: 2 * VISITS,
        topics.NOTIFICATION_SMS: sms_sent(a_played),
    }
    found = await asyncio.gather(
        *(kafka.read(t, caused_by_visits(a, b), count=2 * counts[t], settle=1.0) for t in OUTPUT)
    )
    return Pair(a, b, a_set_up, b_set_up, a_played, b_played, dict(zip(OUTPUT, found, strict=True)))


# --- (1) the state, through the API ----------------------------------------------------------------------


async def test_two_chains_set_up_alike_look_alike(pair: Pair) -> None:
    assert pair.b_set_up == pair.set_up, diff(pair.set_up, pair.b_set_up)
    assert len(pair.set_up["clients"]) == PLAN.clients
    assert all(len(c["memberships"]) == 1 and len(c["cards"]) == 1 for c in pair.set_up["clients"].values())
    assert {t["name"] for t in pair.set_up["types"]} == {scenario.MEMBERSHIP_TYPE["name"], SPARE["name"]}


async def test_both_streams_in_the_same_batches_are_each_applied_whole_in_their_own_chain(pair: Pair) -> None:
    # The same event ids and visit ids in one batch: each chain's inbox is its own, so nothing was taken
    # for a duplicate, and each visit changed its own chain only (once).
    for played in (pair.a_played, pair.b_played):
        t = totals(played)
        assert (t["deductions"], t["accrual"], t["spend"], t["visit_operations"]) == (
            VISITS,
            VISITS,
            PLAN.clients,
            2 * VISITS,
        ), t
    assert pair.b_played == pair.a_played, diff(pair.a_played, pair.b_played)
    assert pair.a_played != pair.set_up

    # Each kind of effect shows in the snapshot (what the fault suite relies on too).
    changed = "\n".join(diff(pair.set_up, pair.a_played, most=100_000))
    for path in (
        ".cards[0].balance",
        ".cards[0].transactions",
        ".memberships[0].visits_left",
        ".memberships[0].history",
        ".loyalty.sold",
        ".loyalty.level",
        ".notices",
        ".notice_sources",
        "stock[0].balance",
        "stock[1].balance",
        "operations",
    ):
        assert path in changed, path
    client = pair.b_played["clients"][PLAN.client(1)["id"]]
    assert client["memberships"][0]["visits_left"] == 997
    assert [m["code"] for m in client["memberships"]] == [PLAN.code(1), "S000001"]
    assert client["loyalty"]["visits"] == 3 and client["loyalty"]["level"] == "bronze"


async def test_an_event_naming_the_other_chains_type_or_membership_is_refused_though_batched_with_it(
    pair: Pair, kafka: Kafka
) -> None:
    a, b = pair.a.id, pair.b.id
    # The other chain's spare type was in the batch's type cache (its own sale just before): still unknown.
    rejected = await kafka.read(
        topics.MEMBERSHIP_ISSUE_REJECTED,
        lambda m: m["chain_id"] in (a, b) and m["sale_id"] == FOREIGN_SALE,
        count=2,
        settle=1.0,
    )
    assert sorted((m["chain_id"], m["reason"]) for m in rejected) == sorted([(a, "unknown_type"), (b, "unknown_type")])
    deduction = await kafka.read(
        topics.MEMBERSHIP_DEDUCTION_REJECTED,
        lambda m: m["chain_id"] in (a, b) and m["visit_id"] == FOREIGN_VISIT,
        count=2,
        settle=1.0,
    )
    assert sorted((m["chain_id"], m["reason"], m["membership_id"]) for m in deduction) == sorted(
        [(a, "unknown_code", None), (b, "unknown_code", None)]
    )
    for chain, played in ((pair.a, pair.a_played), (pair.b, pair.b_played)):
        async with chain.client("memberships") as ms:
            assert (await ms.get(f"/memberships/{FOREIGN_CODE}")).status_code == 404
        memberships = [m for c in played["clients"].values() for m in c["memberships"]]
        assert [m["code"] for m in memberships if m["type"] == SPARE["name"]] == [f"S{i:06d}" for i in range(SPARES)]
        assert not [h for m in memberships for h in m["history"] if h.get("visit_id") == FOREIGN_VISIT]


# --- (2) through the topics ------------------------------------------------------------------------------


async def test_every_event_and_notice_a_visit_causes_carries_its_own_chain(pair: Pair) -> None:
    a, b = pair.a.id, pair.b.id
    by_chain = {topic: {c: [m for m in ms if m["chain_id"] == c] for c in (a, b)} for topic, ms in pair.output.items()}

    deducted = by_chain[topics.MEMBERSHIP_DEDUCTED]
    assert {m["visit_id"] for m in deducted[a]} == {m["visit_id"] for m in deducted[b]}
    assert len({m["visit_id"] for m in deducted[b]}) == len(deducted[b]) == VISITS
    accrued = by_chain[topics.LOYALTY_BONUS_ACCRUED]
    assert {m["visit_id"] for m in accrued[b]} == {m["visit_id"] for m in accrued[a]}
    moved = by_chain[topics.INVENTORY_STOCK_CHANGED]
    assert sorted(m["source"] for m in moved[b]) == sorted(m["source"] for m in moved[a])

    # Each chain's events name its own memberships, cards and operations (their UUIDs differ).
    ids = {c.id: await own_ids(c) for c in (pair.a, pair.b)}
    for c in (a, b):
        assert {m["membership_id"] for m in deducted[c]} <= ids[c]["memberships"]
        assert {m["card_id"] for m in accrued[c]} <= ids[c]["cards"]
        assert {m["operation_id"] for m in moved[c]} <= ids[c]["operations"]
    assert not ids[a]["memberships"] & ids[b]["memberships"]

    # Each notice is B's own, caused by B's own event; the texts are the same as A's.
    sms = by_chain[topics.NOTIFICATION_SMS]
    assert len({m["notification_id"] for m in sms[b]}) == sms_sent(pair.b_played)
    assert {m["notification_id"] for m in sms[b]} <= ids[b]["notices"]
    deducted_events = {c: {m["event_id"] for m in deducted[c]} for c in (a, b)}
    b_deducted_sms = [m for m in sms[b] if m["type"] == "membership.deducted"]
    assert len(b_deducted_sms) == VISITS
    assert {m["source_event_id"] for m in b_deducted_sms} == deducted_events[b]
    assert not deducted_events[a] & deducted_events[b]
    assert sorted(m["text"] for m in sms[b]) == sorted(m["text"] for m in sms[a])


async def own_ids(chain: Chain) -> dict[str, set[str]]:
    """The UUIDs a chain's API shows for its memberships, cards, operations and notices."""
    async with (
        chain.client("memberships") as ms,
        chain.client("loyalty") as ly,
        chain.client("inventory") as inv,
        chain.client("notifications") as nt,
    ):
        memberships, cards, operations, notices = await asyncio.gather(
            ms.get("/memberships", params={"limit": 1000}),
            ly.get("/cards", params={"limit": 1000}),
            inv.get("/operations", params={"limit": 1000}),
            nt.get("/notifications", params={"limit": 1000}),
        )
    for r in (memberships, cards, operations, notices):
        assert "x-next-cursor" not in r.headers, r.request.url  # one page holds them all
    return {
        "memberships": {m["id"] for m in memberships.json()},
        "cards": {c["id"] for c in cards.json()},
        "operations": {op["id"] for op in operations.json()},
        "notices": {n["id"] for n in notices.json()},
    }


# --- (3) a key of one chain ------------------------------------------------------------------------------


async def real_ids(chain: Chain) -> dict[str, dict[str, list[str]]]:
    """Per service, per path (or required query) parameter: ids the chain really holds, and its jobs."""
    async with chain.client("memberships") as ms, chain.client("loyalty") as ly, chain.client("inventory") as inv:
        types = (await ms.get("/membership-types")).json()
        card = (await ly.get(f"/cards/{CARD}")).json()
        card_type, promotion = (await ly.get("/card-types")).json()[0], (await ly.get("/promotions")).json()[0]
        operation = (await inv.get("/operations", params={"source": f"visit:v-{PLAN.tag}-0000000"})).json()[0]
    async with chain.client("wallet") as wl:
        gift_type, gift = (await wl.get("/gift-card-types")).json()[0], (await wl.get(f"/gift-cards/{GIFT}")).json()
    jobs = {s: await jobs_of(chain, s) or [NO_SUCH_JOB] for s in SERVICES}
    common = {"location_id": [scenario.LOCATION], "client_id": [CLIENT], "service_id": [scenario.MASSAGE]}
    return {
        "memberships": {
            **common,
            "job": jobs["memberships"],
            "type_id": [types[0]["id"]],
            "code_or_id": [CODE, await membership_id(chain, CODE)],
        },
        "loyalty": {
            **common,
            "job": jobs["loyalty"],
            "type_id": [card_type["id"]],
            "promotion_id": [promotion["id"]],
            "card_id": [CARD, card["id"]],
        },
        "inventory": {
            **common,
            "job": jobs["inventory"],
            "product_id": [scenario.OIL],
            "operation_id": [operation["id"]],
        },
        "notifications": {**common, "job": jobs["notifications"], "notice_type": ["membership.deducted"]},
        "wallet": {
            **common,
            "job": jobs["wallet"],
            "type_id": [gift_type["id"]],
            "code_or_id": [GIFT, gift["id"]],
            "since": ["2026-01-01T00:00:00+00:00"],
            "until": [(datetime.now(UTC) + timedelta(days=1)).isoformat()],
        },
    }


async def test_a_key_of_one_chain_answers_404_on_every_route_of_the_other(pair: Pair, db: asyncpg.Pool) -> None:
    """Every method and path of every service's OpenAPI document, its path filled with B's real ids."""
    a, b = pair.a, pair.b
    ids = await real_ids(b)
    tries: list[Route] = [r for s in SERVICES for r in await routes(b.stack.url(s), s, ids[s])]
    assert len({(r.service, r.method, r.template) for r in tries}) >= 50  # the whole API, not a sample
    assert {r.path for r in tries if r.template == "/jobs/{job}/run"} >= {
        "/jobs/expiry/run",
        "/jobs/burn/run",
        "/jobs/release_held/run",
    }
    urls = b.stack.urls()

    # Each route is there in B, with these ids: B's own read-only key reads it (200) or lacks the scope
    # to write (403), so a 404 below is the chain's refusal, not a route or an id that is not there.
    async with db.acquire() as conn:
        reader = await auth.create_key(conn, b.id, "reader", scopes=("read",))
    own = await answers(urls, b.id, reader, tries)
    assert [
        (str(r), s, body)
        for r, (s, body) in zip(tries, own, strict=True)
        if s != (200 if r.method == "GET" or r.template in READING_POSTS else 403)
    ] == []

    # A's keys (read and write; admin) get on B's paths exactly what a chain that does not exist answers.
    nobodys = await answers(urls, f"ch-{uuid.uuid4().hex[:10]}", a.key, tries)
    assert {s for s, _ in nobodys} == {404}
    for key in (a.key, a.admin_key):
        theirs = await answers(urls, b.id, key, tries)
        assert [
            (str(r), s, body) for r, (s, body), none in zip(tries, theirs, nobodys, strict=True) if (s, body) != none
        ] == []
    b_now = await snap(b)
    assert b_now == pair.b_played, diff(pair.b_played, b_now)


async def test_a_key_never_reaches_the_other_chains_data_by_its_ids(pair: Pair) -> None:
    a, b = pair.a, pair.b
    async with b.client("memberships") as ms, b.client("loyalty") as ly, b.client("inventory") as inv:
        theirs = {
            "membership": (await ms.get(f"/memberships/{CODE}")).json(),
            "card": (await ly.get(f"/cards/{CARD}")).json(),
            "type": (await ms.get("/membership-types")).json()[0],
            "card_type": (await ly.get("/card-types")).json()[0],
            "promotion": (await ly.get("/promotions")).json()[0],
            "operation": (await inv.get(f"/operations?source=visit:v-{PLAN.tag}-0000000")).json()[0],
        }
    async with a.client("memberships") as ms, a.client("loyalty") as ly, a.client("inventory") as inv:
        # The same code and card number in A: A's own membership and card, never B's.
        mine = (await ms.get(f"/memberships/{CODE}")).json()
        assert mine["id"] != theirs["membership"]["id"]
        assert (await ly.get(f"/cards/{CARD}")).json()["id"] != theirs["card"]["id"]
        # B's UUIDs on A's own paths: as unknown as any.
        for http, path in (
            (ms, f"/memberships/{theirs['membership']['id']}"),
            (
                ms,
                f"/memberships/{theirs['membership']['id']}/eligibility"
                f"?service_id={scenario.MASSAGE}&location_id=loc-1",
            ),
            (ms, f"/membership-types/{theirs['type']['id']}"),
            (ly, f"/cards/{theirs['card']['id']}"),
            (ly, f"/card-types/{theirs['card_type']['id']}"),
            (ly, f"/promotions/{theirs['promotion']['id']}"),
            (inv, f"/operations/{theirs['operation']['id']}"),
        ):
            r = await http.get(path)
            assert r.status_code == 404, (path, r.text)


# --- (4) writes, a redrive and the jobs in one chain -------------------------------------------------------


async def test_writes_in_one_chain_through_the_api_leave_the_other_unchanged(pair: Pair, kafka: Kafka) -> None:
    a, b = pair.a, pair.b
    operation_id = str(uuid.uuid4())
    today = datetime.now(UTC).date().isoformat()
    template = "A only: {client_name}, {deducted} off {membership_code}; {balance} left."
    async with (
        a.client("memberships") as ms,
        a.client("loyalty") as ly,
        a.client("inventory") as inv,
        a.client("notifications") as nt,
    ):
        type_id = next(
            t["id"] for t in (await ms.get("/membership-types")).json() if t["name"] == scenario.MEMBERSHIP_TYPE["name"]
        )
        for r in [
            await ms.patch(f"/membership-types/{type_id}", json={"freeze": {"allowed": True, "max_days": 30}}),
            await ms.post(f"/memberships/{CODE}/freeze", json={"from": today, "days": 7}),
            await ms.put("/locations/loc-1/deduction-policy", json={"no_show": True, "late_cancel_hours": 24}),
            await ly.post(f"/cards/{CARD}/transactions", json={"kind": "accrue", "amount": "50", "reason": "gift"}),
            await ly.put(
                "/locations/loc-1/loyalty-program",
                json={**scenario.PROGRAM, "discount_rules": [{"basis": "sold", "from": "1000", "percent": "20"}]},
            ),
            await inv.post(
                "/operations",
                json={
                    "id": operation_id,
                    "type": "write_off",
                    "storage_id": scenario.SHELF,
                    "lines": [{"product_id": scenario.OIL, "quantity": 3}],
                },
            ),
            await inv.patch(f"/products/{scenario.OIL}", json={"min_stock": 5}),
            await nt.put(f"/clients/{CLIENT}/notification-opt-out", json={"sms": True}),
            await nt.put("/templates/membership.deducted", json={"locale": "en", "text": template}),
        ]:
            assert r.status_code in (200, 201), (r.request.url, r.text)

    def written(s: Snapshot) -> bool:  # every write shows in A (the program's recalculation runs behind)
        c = s["clients"][CLIENT]
        return (
            c["memberships"][0]["status"] == "frozen"
            and c["cards"][0]["transactions"][-1]["kind"] == "manual"
            and all(x["loyalty"]["discount_percent"] == "20.00" for x in s["clients"].values())
            and "membership.deducted" in s["templates"]
            and s["deduction_policy"]["no_show"]
        )

    a_written = await settled(lambda: snap(a), written, what="A's writes")
    assert a_written["stock"] != pair.a_played["stock"]
    b_now = await snap(b)
    assert b_now == pair.b_played, diff(pair.b_played, b_now)
    for chain, opted_out in ((a, True), (b, False)):
        async with chain.client("notifications") as nt:
            assert (await nt.get(f"/clients/{CLIENT}/notification-opt-out")).json()["sms"] is opted_out

    # What B does next follows B's own settings: a visit of each of two clients in both chains. In A the
    # first one's membership is frozen and its notices skipped (opted out); the second's text is A's.
    for chain in (a, b):
        await scenario.publish(kafka, scenario.visits(PLAN, chain.id, 2, first=VISITS))
    other = PLAN.client(1)["id"]
    rejected, a_other, *b_deducted = await asyncio.gather(
        notice(a, CLIENT, "membership.deduction_rejected"),
        notice(a, other, "membership.deducted", "996"),
        *(notice(b, PLAN.client(i)["id"], "membership.deducted", "996") for i in (0, 1)),
    )
    assert (rejected["status"], rejected["reason"]) == ("skipped", "opted_out")
    assert a_other["text"].startswith("A only:")
    assert [(n["status"], n["text"]) for n in b_deducted] == [
        ("queued", f"Client {i}, 1 visit was deducted from membership {PLAN.code(i)}; 996 left.") for i in (0, 1)
    ]
    async with b.client("loyalty") as ly:
        r = await ly.get(f"/clients/{PLAN.client(1)['id']}/loyalty", params={"location_id": "loc-1"})
    assert r.json()["discount_percent"] == "5.00"  # 4 visits of 2,300 sold: B's program, not A's 20%

    # The operation id A used is free in B: ids given by a client are per chain.
    async with b.client("inventory") as inv:
        r = await inv.post(
            "/operations",
            json={
                "id": operation_id,
                "type": "write_off",
                "storage_id": scenario.SHELF,
                "lines": [{"product_id": scenario.OIL, "quantity": 1}],
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["lines"][0]["quantity"] == "1"
    async with a.client("inventory") as inv:
        assert (await inv.get(f"/operations/{operation_id}")).json()["lines"][0]["quantity"] == "3"


async def test_a_redrive_in_one_chain_leaves_the_other_chains_dead_letter_where_it_is(
    pair: Pair, kafka: Kafka, stack: Stack
) -> None:
    a, b = pair.a, pair.b
    who, late = PLAN.client(3), f"v-{PLAN.tag}-late"

    def visit(chain: Chain, visit_id: str) -> tuple[str, str, dict[str, Any]]:  # paid on card C-LATE
        return (
            topics.VISIT_PAID,
            who["id"],
            {
                "event_id": f"e-{visit_id}-paid",
                "occurred_at": datetime.now(UTC).isoformat(),
                "chain_id": chain.id,
                "location_id": scenario.LOCATION,
                "visit_id": visit_id,
                "client": who,
                "loyalty_card_id": "C-LATE",
                "lines": [
                    {
                        "kind": "product",
                        "item_id": scenario.OIL,
                        "storage_id": scenario.SHELF,
                        "quantity": 1,
                        "sold": "300",
                        "paid": "300",
                    }
                ],
            },
        )

    # The same visit in both chains, on a card neither has yet: loyalty dead-letters both (the others apply it).
    issued = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    await publish_together(kafka, [visit(a, late), visit(b, late)])
    letters = await kafka.read(
        topics.dlq(topics.VISIT_PAID),
        lambda m: m.get("visit_id") == late and m["_headers"].get("x-consumer-group") == "perkstream.loyalty",
        count=2,
        timeout=60,
        settle=1.0,
    )
    assert sorted(m["chain_id"] for m in letters) == sorted([a.id, b.id])
    for chain in (a, b):  # the cause, fixed in both
        async with chain.client("loyalty") as ly:
            card_type = (await ly.get("/card-types")).json()[0]["id"]
            r = await ly.post(
                "/cards",
                json={"card_type_id": card_type, "client_id": who["id"], "number": "C-LATE", "issued_at": issued},
            )  # issued back then, entered only now
        assert r.status_code == 201, r.text
    b_before = await settled(
        lambda: snap(b),
        lambda s: (
            any(op["source"] == f"visit:{late}" for op in s["operations"])
            and len(s["clients"][who["id"]]["cards"]) == 2
        ),
        what="B with its dead letter",
    )

    out = await admin_cli(
        stack, "redrive", "--topic", topics.VISIT_PAID, "--group", "perkstream.loyalty", "--chain", a.id
    )
    assert "re-driven: 1;" in out, out
    assert (await transaction_of(a, "C-LATE", late))["kind"] == "accrual"
    # A later visit of A on the same key (the partition B's copy would be on): once A's loyalty applied
    # it, it has consumed whatever the redrive published before it.
    await publish_together(kafka, [visit(a, f"{late}-marker")])
    await transaction_of(a, "C-LATE", f"{late}-marker")
    b_after = await snap(b)
    assert b_after == b_before, diff(b_before, b_after)
    copies = await kafka.read_to_end(topics.VISIT_PAID, lambda m: m.get("visit_id") == late)
    assert sorted(m["chain_id"] for m in copies) == sorted([a.id, a.id, b.id])

    # B's dead letter was there all along: B's own redrive applies it in B.
    out = await admin_cli(
        stack, "redrive", "--topic", topics.VISIT_PAID, "--group", "perkstream.loyalty", "--chain", b.id
    )
    assert "re-driven: 1;" in out, out
    assert (await transaction_of(b, "C-LATE", late))["kind"] == "accrual"


async def test_every_job_run_in_one_chain_leaves_the_other_unchanged(pair: Pair) -> None:
    a, b = pair.a, pair.b
    now = datetime.now(UTC)
    plan = jobs_plan(now)
    services = {s: await jobs_of(a, s) for s in SERVICES}
    assert sorted(j for jobs in services.values() for j in jobs) == sorted(plan), (
        "a job with no work waiting proves nothing: give it some here"
    )
    async with b.client("notifications") as nt:
        kinds = [t["type"] for t in (await nt.get("/templates", params={"limit": 1000})).json()]
    await asyncio.gather(pending_work(a, now, kinds), pending_work(b, now, kinds))

    def held(s: Snapshot) -> bool:
        notices = s["clients"][PLAN.client(4)["id"]]["notices"]
        return any(not n["published"] and n["status"] == "queued" for n in notices)

    b_before = await settled(lambda: snap(b), held, what="B with its pending work")
    a_did = await run_jobs(a, plan, services)
    assert [job for job, n in a_did.items() if n < 1] == [], a_did  # each found work in A

    # Once A's consumers are done with what the jobs published (keyed by the same client ids as anything
    # about B's clients would be), B is as it was.
    await settled(
        lambda: snap(a),
        lambda s: all(m["status"] == "expired" for c in s["clients"].values() for m in c["memberships"]),
        what="A after its jobs",
    )
    b_after = await snap(b)
    assert b_after == b_before, diff(b_before, b_after)

    # B had the very same work waiting: its own runs find it.
    b_did = await run_jobs(b, plan, services)
    assert [job for job, n in b_did.items() if n < 1] == [], b_did
