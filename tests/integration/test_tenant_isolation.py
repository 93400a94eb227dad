"""Tenant isolation: two chains with the very same booking-system ids (clients, codes, card numbers,
storages, products, visit ids, even event ids: one `deploy.scenario` plan set up and played in both)
never see nor change each other, through the API, the inbox or the topics.

The tests share one module fixture that sets both chains up, plays the visit stream in chain A, then
the same stream in chain B, and keeps the snapshots (`tests.integration.state`) taken along the way;
the last test writes in A.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest_asyncio

from deploy import scenario
from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, eventually, new_chain, of_chain
from tests.integration.state import Snapshot, diff, settled, snapshot, totals

PLAN = scenario.Plan(clients=30, tag="iso")
VISITS = 90  # three per client: the second pays with points
OUTPUT = (topics.MEMBERSHIP_DEDUCTED, topics.LOYALTY_BONUS_ACCRUED, topics.INVENTORY_STOCK_CHANGED,
          topics.NOTIFICATION_SMS)


@dataclass
class Pair:
    """The two chains and their snapshots along the way."""

    a: Chain
    b: Chain
    set_up: Snapshot  # A once set up
    b_set_up: Snapshot  # B once set up
    a_played: Snapshot  # A after its play
    b_meanwhile: Snapshot  # B after A's play
    b_played: Snapshot  # B after playing the same stream
    before_b: dict[str, list[dict[str, Any]]]  # per output topic, what the visits caused before B played
    after_b: dict[str, list[dict[str, Any]]]  # the same once B played too


async def snap(chain: Chain) -> Snapshot:
    return await snapshot(chain.id, chain.key, chain.stack.urls(), PLAN)


async def set_up(chain: Chain, kafka: Kafka) -> Snapshot:
    """The chain set up, once the membership type's product is there too (from membership_type.created)."""
    await scenario.set_up(PLAN, chain.id, chain.key, chain.stack.urls(), kafka)
    return await settled(lambda: snap(chain), lambda s: any(p["kind"] == "membership" for p in s["products"]),
                         what=f"{chain.id}'s set-up")


async def played(chain: Chain, visits: list[scenario.Visit]) -> Snapshot:
    """The chain's state once every visit had all its effects: every visit deducted (a cheap sign to wait
    for first), then a snapshot that `done` accepts and that the next one repeats."""
    async def used() -> int:
        async with chain.client("memberships") as ms:
            return sum(row["visits_used"] for row in (await ms.get("/reports/memberships")).json())

    await eventually(used, lambda n: n >= len(visits), timeout=60, what=f"the deductions in {chain.id}")
    return await settled(lambda: snap(chain), lambda s: done(s, visits), what=f"{chain.id}'s play")


def done(snap: Snapshot, visits: list[scenario.Visit]) -> bool:
    """Every visit of the stream (and every visit before it) has had all its effects."""
    t = totals(snap)
    return (t["deductions"] >= len(visits) and t["visit_operations"] >= 2 * len(visits)
            and t["accrual"] >= len(visits) and t["notices"] >= sum(v.notices for v in visits))


def caused_by_visits(*chains: Chain) -> Callable[[dict[str, Any]], bool]:
    """Messages of these chains that the visits caused (the set-up's stock arrivals left out)."""
    mine = [of_chain(c) for c in chains]
    return lambda m: any(match(m) for match in mine) and not str(m.get("source", "")).startswith("user:")


async def read_output(kafka: Kafka, chains: tuple[Chain, ...], counts: dict[str, int]) -> dict[str, list[Any]]:
    """Each output topic's messages caused by the chains' visits: at least `counts`, then a second more."""
    found = await asyncio.gather(*(kafka.read(t, caused_by_visits(*chains), count=counts[t], settle=1.0)
                                   for t in OUTPUT))
    return dict(zip(OUTPUT, found, strict=True))


def sms_sent(snap: Snapshot) -> int:
    return sum(n["channel"] == "sms" and n["published"] for c in snap["clients"].values() for n in c["notices"])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pair(stack: Stack, db: asyncpg.Pool, kafka: Kafka) -> Pair:
    a, b = await new_chain(stack, db), await new_chain(stack, db)
    a_set_up, b_set_up = await asyncio.gather(set_up(a, kafka), set_up(b, kafka))

    played_a = list(scenario.visits(PLAN, a.id, VISITS))
    await scenario.publish(kafka, played_a)
    a_played = await played(a, played_a)
    b_meanwhile = await snap(b)
    counts = {topics.MEMBERSHIP_DEDUCTED: VISITS, topics.LOYALTY_BONUS_ACCRUED: VISITS,
              topics.INVENTORY_STOCK_CHANGED: 2 * VISITS, topics.NOTIFICATION_SMS: sms_sent(a_played)}
    before_b = await read_output(kafka, (a, b), counts)

    played_b = list(scenario.visits(PLAN, b.id, VISITS))
    assert [v.messages[0][1]["event_id"] for v in played_b] == [v.messages[0][1]["event_id"] for v in played_a]
    await scenario.publish(kafka, played_b)
    b_played = await played(b, played_b)
    after_b = await read_output(kafka, (a, b), {t: 2 * n for t, n in counts.items()})
    return Pair(a, b, a_set_up, b_set_up, a_played, b_meanwhile, b_played, before_b, after_b)


# --- (1) and (2): the state, through the API ------------------------------------------------------------


async def test_two_chains_set_up_alike_look_alike(pair: Pair) -> None:
    assert pair.b_set_up == pair.set_up, diff(pair.set_up, pair.b_set_up)
    assert len(pair.set_up["clients"]) == PLAN.clients
    assert all(len(c["memberships"]) == 1 and len(c["cards"]) == 1 for c in pair.set_up["clients"].values())


async def test_visits_played_in_one_chain_change_nothing_in_the_other(pair: Pair) -> None:
    played = totals(pair.a_played)
    assert played["deductions"] == VISITS and played["accrual"] == VISITS
    assert played["spend"] == PLAN.clients and played["visit_operations"] == 2 * VISITS
    assert pair.a_played != pair.set_up
    assert pair.a_played["stock"] != pair.set_up["stock"]

    # Each kind of effect shows in the snapshot (what the fault suite relies on too).
    changed = "\n".join(diff(pair.set_up, pair.a_played, most=100_000))
    for path in (".cards[0].balance", ".cards[0].transactions", ".memberships[0].visits_left",
                 ".memberships[0].history", ".loyalty.sold", ".loyalty.level", ".notices", ".notice_sources",
                 "stock[0].balance", "stock[1].balance", "operations"):
        assert path in changed, path

    assert pair.b_meanwhile == pair.set_up, diff(pair.set_up, pair.b_meanwhile)
    assert totals(pair.b_meanwhile) == {"deductions": 0, "accrual": 0, "spend": 0, "manual": 0, "burn": 0,
                                        "notices": 0, "visit_operations": 0}


async def test_the_same_visits_played_in_the_other_chain_are_applied_there_and_end_alike(pair: Pair) -> None:
    # The same event ids and visit ids as A's: B's inbox is B's own, so nothing was taken for a duplicate.
    assert totals(pair.b_played) == totals(pair.a_played)
    assert pair.b_played == pair.a_played, diff(pair.a_played, pair.b_played)
    client = pair.b_played["clients"][PLAN.client(1)["id"]]
    assert client["memberships"][0]["visits_left"] == 997
    assert client["loyalty"]["visits"] == 3 and client["loyalty"]["level"] == "bronze"


# --- (3) through the topics -----------------------------------------------------------------------------


async def test_every_event_and_notice_a_visit_causes_carries_its_own_chain(pair: Pair) -> None:
    a, b = pair.a.id, pair.b.id
    for topic, messages in pair.before_b.items():
        assert {m["chain_id"] for m in messages} == {a}, topic
    by_chain = {topic: {c: [m for m in ms if m["chain_id"] == c] for c in (a, b)}
                for topic, ms in pair.after_b.items()}

    deducted = by_chain[topics.MEMBERSHIP_DEDUCTED]
    assert {m["visit_id"] for m in deducted[a]} == {m["visit_id"] for m in deducted[b]}
    assert len({m["visit_id"] for m in deducted[b]}) == VISITS
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
    async with chain.client("memberships") as ms, chain.client("loyalty") as ly, \
            chain.client("inventory") as inv, chain.client("notifications") as nt:
        memberships, cards, operations, notices = await asyncio.gather(
            ms.get("/memberships", params={"limit": 1000}), ly.get("/cards", params={"limit": 1000}),
            inv.get("/operations", params={"limit": 1000}), nt.get("/notifications", params={"limit": 1000}))
    return {"memberships": {m["id"] for m in memberships.json()}, "cards": {c["id"] for c in cards.json()},
            "operations": {op["id"] for op in operations.json()}, "notices": {n["id"] for n in notices.json()}}


# --- (4) a key of one chain -----------------------------------------------------------------------------

CLIENT, CODE, CARD = PLAN.client(0)["id"], PLAN.code(0), PLAN.card_number(0)
# A sample of what a key could try on another chain's paths, per service: reads and writes.
PATHS: dict[str, list[tuple[str, str, dict[str, Any] | None]]] = {
    "memberships": [("GET", f"/memberships/{CODE}", None), ("GET", f"/memberships?client_id={CLIENT}", None),
                    ("GET", "/membership-types", None), ("GET", "/reports/memberships", None),
                    ("GET", f"/memberships/{CODE}/eligibility?service_id={scenario.MASSAGE}&location_id=loc-1",
                     None),
                    ("POST", f"/memberships/{CODE}/freeze", {"from": "2026-12-01", "days": 3})],
    "loyalty": [("GET", f"/clients/{CLIENT}/loyalty?location_id=loc-1", None), ("GET", f"/cards/{CARD}", None),
                ("GET", f"/cards?client_id={CLIENT}", None), ("GET", "/promotions", None),
                ("GET", "/locations/loc-1/loyalty-program", None),
                ("POST", f"/cards/{CARD}/transactions", {"kind": "accrue", "amount": "1", "reason": "x"})],
    "inventory": [("GET", "/stock", None), ("GET", f"/operations?source=visit:v-{PLAN.tag}-0000000", None),
                  ("GET", f"/products/{scenario.OIL}", None), ("GET", "/storages", None),
                  ("POST", "/operations", {"type": "write_off", "storage_id": scenario.SHELF,
                                           "lines": [{"product_id": scenario.OIL, "quantity": 1}]})],
    "notifications": [("GET", f"/notifications?client_id={CLIENT}", None), ("GET", "/templates", None),
                      ("GET", f"/clients/{CLIENT}/notification-opt-out", None),
                      ("GET", "/locations/loc-1/notification-settings", None),
                      ("PUT", f"/clients/{CLIENT}/notification-opt-out", {"sms": True})],
}


async def test_a_key_of_one_chain_answers_404_on_every_path_of_the_other(pair: Pair) -> None:
    a, b = pair.a, pair.b

    async def status(service: str, key: str, method: str, path: str, body: dict[str, Any] | None) -> int:
        async with b.client(service, key=key) as http:
            return (await http.request(method, path, json=body)).status_code

    tries = [(service, *p) for service, paths in PATHS.items() for p in paths]
    own = await asyncio.gather(*(status(s, b.key, m, path, None) for s, m, path, _ in tries if m == "GET"))
    assert set(own) == {200}  # each path exists in B, for B's own key
    theirs = await asyncio.gather(*(status(s, a.key, m, path, body) for s, m, path, body in tries))
    assert [(t[0], t[2], code) for t, code in zip(tries, theirs, strict=True) if code != 404] == []
    b_now = await snap(b)
    assert b_now == pair.b_played, diff(pair.b_played, b_now)


async def test_a_key_never_reaches_the_other_chains_data_by_its_ids(pair: Pair) -> None:
    a, b = pair.a, pair.b
    async with b.client("memberships") as ms, b.client("loyalty") as ly, b.client("inventory") as inv:
        theirs = {"membership": (await ms.get(f"/memberships/{CODE}")).json(),
                  "card": (await ly.get(f"/cards/{CARD}")).json(),
                  "type": (await ms.get("/membership-types")).json()[0],
                  "card_type": (await ly.get("/card-types")).json()[0],
                  "promotion": (await ly.get("/promotions")).json()[0],
                  "operation": (await inv.get(f"/operations?source=visit:v-{PLAN.tag}-0000000")).json()[0]}
    async with a.client("memberships") as ms, a.client("loyalty") as ly, a.client("inventory") as inv:
        # The same code and card number in A: A's own membership and card, never B's.
        mine = (await ms.get(f"/memberships/{CODE}")).json()
        assert mine["id"] != theirs["membership"]["id"]
        assert (await ly.get(f"/cards/{CARD}")).json()["id"] != theirs["card"]["id"]
        # B's UUIDs on A's own paths: as unknown as any.
        for http, path in ((ms, f"/memberships/{theirs['membership']['id']}"),
                           (ms, f"/memberships/{theirs['membership']['id']}/eligibility"
                                f"?service_id={scenario.MASSAGE}&location_id=loc-1"),
                           (ms, f"/membership-types/{theirs['type']['id']}"),
                           (ly, f"/cards/{theirs['card']['id']}"), (ly, f"/card-types/{theirs['card_type']['id']}"),
                           (ly, f"/promotions/{theirs['promotion']['id']}"),
                           (inv, f"/operations/{theirs['operation']['id']}")):
            r = await http.get(path)
            assert r.status_code == 404, (path, r.text)


# --- (5) writes in one chain ----------------------------------------------------------------------------


async def test_writes_in_one_chain_through_the_api_leave_the_other_unchanged(pair: Pair, kafka: Kafka) -> None:
    a, b = pair.a, pair.b
    operation_id = str(uuid.uuid4())
    today = datetime.now(UTC).date().isoformat()
    template = "A only: {client_name}, {deducted} off {membership_code}; {balance} left."
    async with a.client("memberships") as ms, a.client("loyalty") as ly, \
            a.client("inventory") as inv, a.client("notifications") as nt:
        type_id = (await ms.get("/membership-types")).json()[0]["id"]
        for r in [
            await ms.patch(f"/membership-types/{type_id}", json={"freeze": {"allowed": True, "max_days": 30}}),
            await ms.post(f"/memberships/{CODE}/freeze", json={"from": today, "days": 7}),
            await ms.put("/locations/loc-1/deduction-policy", json={"no_show": True, "late_cancel_hours": 24}),
            await ly.post(f"/cards/{CARD}/transactions", json={"kind": "accrue", "amount": "50", "reason": "gift"}),
            await ly.put("/locations/loc-1/loyalty-program", json={
                **scenario.PROGRAM, "discount_rules": [{"basis": "sold", "from": "1000", "percent": "20"}]}),
            await inv.post("/operations", json={"id": operation_id, "type": "write_off", "storage_id": scenario.SHELF,
                                                "lines": [{"product_id": scenario.OIL, "quantity": 3}]}),
            await inv.patch(f"/products/{scenario.OIL}", json={"min_stock": 5}),
            await nt.put(f"/clients/{CLIENT}/notification-opt-out", json={"sms": True}),
            await nt.put("/templates/membership.deducted", json={"locale": "en", "text": template}),
        ]:
            assert r.status_code in (200, 201), (r.request.url, r.text)

    def written(s: Snapshot) -> bool:  # every write shows in A (the program's recalculation runs behind)
        c = s["clients"][CLIENT]
        return (c["memberships"][0]["status"] == "frozen" and c["cards"][0]["transactions"][-1]["kind"] == "manual"
                and all(x["loyalty"]["discount_percent"] == "20.00" for x in s["clients"].values())
                and "membership.deducted" in s["templates"] and s["deduction_policy"]["no_show"])

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
        notice(a, CLIENT, "membership.deduction_rejected"), notice(a, other, "membership.deducted", "996"),
        *(notice(b, PLAN.client(i)["id"], "membership.deducted", "996") for i in (0, 1)))
    assert (rejected["status"], rejected["reason"]) == ("skipped", "opted_out")
    assert a_other["text"].startswith("A only:")
    assert [(n["status"], n["text"]) for n in b_deducted] == [
        ("queued", f"Client {i}, 1 visit was deducted from membership {PLAN.code(i)}; 996 left.") for i in (0, 1)]
    async with b.client("loyalty") as ly:
        r = await ly.get(f"/clients/{PLAN.client(1)['id']}/loyalty", params={"location_id": "loc-1"})
    assert r.json()["discount_percent"] == "5.00"  # 4 visits of 2,300 sold: B's program, not A's 20%

    # The operation id A used is free in B: ids given by a client are per chain.
    async with b.client("inventory") as inv:
        r = await inv.post("/operations", json={"id": operation_id, "type": "write_off", "storage_id": scenario.SHELF,
                                                "lines": [{"product_id": scenario.OIL, "quantity": 1}]})
        assert r.status_code == 201, r.text
        assert r.json()["lines"][0]["quantity"] == "1"
    async with a.client("inventory") as inv:
        assert (await inv.get(f"/operations/{operation_id}")).json()["lines"][0]["quantity"] == "3"


async def notice(chain: Chain, client_id: str, notice_type: str, text: str = "") -> dict[str, Any]:
    """The client's one notice of this type whose text has `text`, once it is there."""
    async def probe() -> list[dict[str, Any]]:
        async with chain.client("notifications") as nt:
            r = await nt.get("/notifications", params={"client_id": client_id, "type": notice_type})
        return [n for n in r.json() if text in n["text"]]

    found = await eventually(probe, lambda ns: len(ns) == 1, what=f"{client_id}'s {notice_type} in {chain.id}")
    return found[0]
