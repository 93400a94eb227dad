"""A realistic chain, built through the public HTTP API and fed through the real topics, as a booking
system would: the benchmark, the fault suite and the tenant-isolation test all play it.

One location (`loc-1`), `clients` clients, each with a membership (an `overall` type of many visits)
and a loyalty card; a location program; a cumulative cashback promotion on the card type; two storages
with stocked products and a bill of materials for the massage; notification settings on.

Every id the booking system owns (clients, visits, codes, card numbers, storages, products, even the
event ids) depends only on the plan's `tag` and the visit's number, never on the chain: the same plan
played in two chains publishes the same ids, which is what the isolation test needs, and the same
stream played twice (with and without faults) must end in the same state.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from deploy.kafka_io import Kafka
from shared import topics

LOCATION = "loc-1"
MASSAGE = "svc-massage"
OIL = "prod-oil"  # sold on every visit, from the shop shelf
LOTION = "prod-lotion"  # 30 ml per massage, written off from the treatment room when the client arrives
SHELF, ROOM = "st-shelf", "st-room"
VISIT_PRICE, OIL_PRICE = "2000", "300"

MEMBERSHIP_TYPE: dict[str, Any] = {
    "name": "Massage pass",
    "balance": "overall",
    "services": [{"service_id": MASSAGE, "category_id": "cat-body"}],
    "total_visits": 1000,
    "price": "100000",
    "validity": {"period": 1, "unit": "year", "counted_from": "sale"},
    "recalculate_service_cost": True,
    "location_ids": [LOCATION],
}
PROGRAM: dict[str, Any] = {
    # Thresholds on sold and paid only: visit.paid and visit.status_arrived of one visit may be consumed in
    # either order, and a rule on arrivals would make the steps of a client's discount depend on it.
    "discount_rules": [
        {"basis": "sold", "from": "4000", "percent": "5"},
        {"basis": "sold", "from": "10000", "percent": "10"},
    ],
    "level_rules": [{"level": "bronze", "sold_from": "6000"}, {"level": "silver", "sold_from": "20000"}],
    "category_rules": {"add": [{"basis": "paid", "from": "900", "category": "Regular"}]},
}
PROMOTION: dict[str, Any] = {
    "name": "Cashback",
    "type": "cumulative_cashback_paid",
    "location_ids": [LOCATION],
    "rules": [{"from": "0", "percent": "3"}, {"from": "1500", "percent": "5"}],
    "burn_after": {"n": 1, "unit": "year"},
}
NOTICES_ON = (
    "membership.deducted",
    "loyalty.bonus_accrued",
    "loyalty.bonus_spent",
    "loyalty.discount_changed",
    "loyalty.level_changed",
)
# The visits' first day: four weeks ago, fixed for the process (a stream played twice is the same). Not a
# date in the source: memberships sold the day before last a year, and the suites play on whatever day.
START = (datetime.now(UTC) - timedelta(days=28)).replace(hour=9, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Plan:
    clients: int
    tag: str = "s"  # keeps the ids of two plays apart in one chain (the bench plays several)

    def client(self, i: int) -> dict[str, str]:
        return {"id": f"cl-{i:05d}", "phone": f"+3620{i:07d}", "name": f"Client {i}"}

    def code(self, i: int) -> str:
        return f"M{i:06d}"

    def card_number(self, i: int) -> str:
        return f"C{i:06d}"


@dataclass
class Visit:
    """One visit: its `visit.paid` and `visit.status_arrived`, keyed by client id."""

    visit_id: str
    client_id: str
    spends: bool
    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    # Effects a visit has once every service is done with it (the bench waits for these).
    deductions = 1  # memberships: the massage, paid with the membership
    accruals = 1  # loyalty: cashback on the oil paid in money
    operations = 2  # inventory: the oil sold from the shelf, the lotion written off in the room

    @property
    def notice_types(self) -> tuple[str, ...]:
        """The notices every such visit causes; activation, discount and level notices come on top for
        some (a client's first visits), so they are not counted on."""
        spent = (topics.LOYALTY_BONUS_SPENT,) if self.spends else ()
        return (topics.MEMBERSHIP_DEDUCTED, topics.LOYALTY_BONUS_ACCRUED, *spent)

    @property
    def notices(self) -> int:
        return len(self.notice_types)


def visits(plan: Plan, chain_id: str, count: int, first: int = 0) -> Iterator[Visit]:
    """Visit number `first` .. `first + count - 1`, spread round-robin over the clients; from each
    client's second visit on, every other one pays 5 points with the card."""
    for n in range(first, first + count):
        i, round_ = n % plan.clients, n // plan.clients
        client = plan.client(i)
        visit_id = f"v-{plan.tag}-{n:07d}"
        at = START + timedelta(minutes=round_ * 7 + (i % 60), seconds=i // 60)
        spends = round_ >= 1 and round_ % 2 == 1
        envelope = {
            "occurred_at": at.isoformat(),
            "chain_id": chain_id,
            "location_id": LOCATION,
            "visit_id": visit_id,
            "client": client,
        }
        paid = {
            **envelope,
            "event_id": f"e-{visit_id}-paid",
            "loyalty_card_id": plan.card_number(i),
            "bonus_spent": "5" if spends else "0",
            "lines": [
                {
                    "kind": "service",
                    "item_id": MASSAGE,
                    "category_id": "cat-body",
                    "quantity": 1,
                    "sold": VISIT_PRICE,
                    "paid": "0",
                    "membership": {"code": plan.code(i)},
                },
                {
                    "kind": "product",
                    "item_id": OIL,
                    "storage_id": SHELF,
                    "quantity": 1,
                    "sold": OIL_PRICE,
                    "paid": OIL_PRICE,
                },
            ],
        }
        arrived = {
            **envelope,
            "event_id": f"e-{visit_id}-arrived",
            "scheduled_at": at.isoformat(),
            "services": [{"service_id": MASSAGE, "membership": {"code": plan.code(i)}}],
        }
        yield Visit(visit_id, client["id"], spends, [(topics.VISIT_PAID, paid), (topics.VISIT_ARRIVED, arrived)])


async def publish(
    kafka: Kafka,
    batch: Iterable[Visit],
    headers: dict[str, list[tuple[str, bytes]]] | None = None,
) -> dict[str, int]:
    """Publishes the visits' messages (not waiting for each: the producer batches them); answers when
    Kafka stamped each visit's `visit.paid` (the record's timestamp, ms since the epoch), by visit id."""
    sends = []
    for v in batch:
        for topic, event in v.messages:
            sent = await kafka.producer.send(
                topic, json.dumps(event).encode(), key=v.client_id.encode(), headers=(headers or {}).get(v.visit_id)
            )
            sends.append((v.visit_id, topic, sent))
    stamped = await asyncio.gather(*(sent for _, _, sent in sends))
    return {
        visit_id: meta.timestamp
        for (visit_id, topic, _), meta in zip(sends, stamped, strict=True)
        if topic == topics.VISIT_PAID
    }


@dataclass
class Setup:
    type_id: str
    card_type_id: str
    promotion_id: str


async def set_up(
    plan: Plan, chain_id: str, key: str, urls: dict[str, str], kafka: Kafka, parallel: int = 16, timeout: float = 300
) -> Setup:
    """Builds the chain through the API (and sells the memberships on `membership.sold`); answers once
    every membership is issued and every card exists."""

    def api(service: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=f"{urls[service]}/v1/chains/{chain_id}", timeout=30, headers={"Authorization": f"Bearer {key}"}
        )

    async with api("memberships") as ms, api("loyalty") as ly, api("inventory") as inv, api("notifications") as nt:
        type_id = _ok(await ms.post("/membership-types", json=MEMBERSHIP_TYPE))["id"]
        sold = [
            {
                "event_id": f"e-sale-{plan.tag}-{i}",
                "occurred_at": (START - timedelta(days=1)).isoformat(),
                "chain_id": chain_id,
                "location_id": LOCATION,
                "sale_id": f"sale-{plan.tag}-{i}",
                "membership_type_id": type_id,
                "code": plan.code(i),
                "client": plan.client(i),
                "price": MEMBERSHIP_TYPE["price"],
            }
            for i in range(plan.clients)
        ]
        await asyncio.gather(
            *[
                await kafka.producer.send(
                    topics.MEMBERSHIP_SOLD, json.dumps(s).encode(), key=s["client"]["id"].encode()
                )
                for s in sold
            ]
        )

        _ok(await ly.put(f"/locations/{LOCATION}/loyalty-program", json=PROGRAM))
        card_type_id = _ok(await ly.post("/card-types", json={"name": "Club card", "location_ids": [LOCATION]}))["id"]
        promotion_id = _ok(await ly.post("/promotions", json={**PROMOTION, "card_type_ids": [card_type_id]}))["id"]
        # The cards as a chain moving in brings them: a thousand a request (a second play of the same plan
        # in this chain finds them there, same clients and type: left as they are), issued before the visits
        # (a card earns for visits from its issue on).
        issued = (START - timedelta(days=1)).isoformat()
        cards = [
            {
                "card_type_id": card_type_id,
                "client_id": plan.client(i)["id"],
                "phone": plan.client(i)["phone"],
                "number": plan.card_number(i),
                "issued_at": issued,
            }
            for i in range(plan.clients)
        ]
        gate = asyncio.Semaphore(parallel)

        async def import_cards(chunk: list[dict[str, Any]]) -> None:
            async with gate:
                _ok(await ly.post("/cards/import", json={"cards": chunk}))

        await asyncio.gather(*(import_cards(cards[i : i + 1000]) for i in range(0, len(cards), 1000)))

        for storage, name in ((SHELF, "Shop shelf"), (ROOM, "Treatment room")):
            await _created(inv.post("/storages", json={"id": storage, "location_id": LOCATION, "name": name}))
        await _created(
            inv.post(
                "/products",
                json={"id": OIL, "name": "Argan oil", "unit": "pcs", "sale_price": OIL_PRICE, "cost_price": "120"},
            )
        )
        await _created(
            inv.post(
                "/products",
                json={"id": LOTION, "name": "Massage lotion", "unit": "ml", "sale_price": "1", "cost_price": "0.20"},
            )
        )
        # Stock for any run (a line takes at most 1,000,000, the contract's bound): 10,000,000 pieces of oil
        # and 100,000,000 ml of lotion (30 ml a visit: over three million visits).
        for storage, product, arrivals in ((SHELF, OIL, 10), (ROOM, LOTION, 100)):
            for _ in range(arrivals):
                _ok(
                    await inv.post(
                        "/operations",
                        json={
                            "type": "arrival",
                            "storage_id": storage,
                            "user": "setup",
                            "lines": [{"product_id": product, "quantity": 1_000_000}],
                        },
                    )
                )
        _ok(
            await inv.put(
                f"/services/{MASSAGE}/bill-of-materials",
                json={"storage_id": ROOM, "items": [{"product_id": LOTION, "quantity": 30}]},
            )
        )
        _ok(await inv.put(f"/locations/{LOCATION}/inventory-settings", json={"consumables_on": "arrived"}))

        _ok(
            await nt.put(
                f"/locations/{LOCATION}/notification-settings",
                json={
                    "time_zone": "Europe/Budapest",
                    "location_name": "Centrum",
                    "types": {t: {"sms": True} for t in NOTICES_ON},
                },
            )
        )

        await _until(lambda: _sold(ms), plan.clients, timeout, "memberships issued")
    return Setup(type_id, card_type_id, promotion_id)


async def _sold(ms: httpx.AsyncClient) -> int:
    report = _ok(await ms.get("/reports/memberships"))
    return sum(int(row["sold"]) for row in report)


async def _until(probe: Any, want: int, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    have = 0
    while loop.time() < deadline:
        have = await probe()
        if have >= want:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"set-up: {what}: {have} of {want} after {timeout:.0f}s")


async def _created(request: Any) -> None:
    r = await request
    if r.status_code != 409:  # already there: a second play of the plan in the same chain
        _ok(r)


def _ok(r: httpx.Response) -> Any:
    if r.status_code >= 300:
        raise RuntimeError(f"set-up: {r.request.method} {r.request.url} answered {r.status_code}: {r.text[:500]}")
    return r.json()
