"""The location program through real Kafka and PostgreSQL: statistics from visit events in any order,
the discount, level and categories they give, their change events, the inactivity job, the
recalculate button, and saving a program recalculating every client of the location."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import asyncpg
import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, eventually, of_chain, publish
from tests.integration.loyalty_helpers import (
    PROGRAM,
    arrived,
    at,
    client,
    loyalty,
    loyalty_eventually,
    program_recalculated,
    put_program,
    run_job,
    visit_paid,
)
from tests.integration.proof import until_marker

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_a_paid_and_arrived_visit_raises_the_discount_level_and_categories(chain: Chain, kafka: Kafka) -> None:
    await put_program(chain)
    anna = client("anna")
    visit = visit_paid(chain, anna, "25000", "24000")
    await publish(kafka, topics.VISIT_PAID, visit)
    await publish(kafka, topics.VISIT_ARRIVED, arrived(chain, anna, visit["visit_id"]))

    state = await loyalty_eventually(chain, anna["id"], lambda s: s["visits"] == 1 and s["level"] == "bronze")
    assert state["discount_percent"] == "5.00"
    assert (state["sold"], state["paid"]) == ("25000.00", "24000.00")
    assert state["categories"] == []  # Economy from 2,000 sold, taken away again from 10,000 sold
    assert state["last_visit_at"] is not None

    # A no-show of hers afterwards gives her a category: once that change is on the topic (her key, and
    # written after everything her visit caused), a change of categories by the visit would be there too.
    no_show = arrived(chain, anna, f"v-{uuid.uuid4().hex[:10]}")
    await publish(kafka, topics.VISIT_NO_SHOW, no_show)
    assert (
        await until_marker(
            kafka, topics.LOYALTY_CATEGORIES_CHANGED, of_chain(chain), of_chain(chain, added=["Unreliable"])
        )
        == []
    )
    [discount] = await kafka.read_to_end(topics.LOYALTY_DISCOUNT_CHANGED, of_chain(chain))
    assert (discount["old_percent"], discount["new_percent"]) == ("0.00", "5.00")
    assert discount["client"]["id"] == anna["id"] and discount["location_id"] == "loc-1"
    assert discount["expires_at"] is not None  # 60 days after the last visit, notify_discount_expiration
    [level] = await kafka.read_to_end(topics.LOYALTY_LEVEL_CHANGED, of_chain(chain))
    assert (level["old_level"], level["new_level"]) == (None, "bronze")


async def test_the_statistics_are_the_same_whatever_the_order_and_a_visit_counts_once(
    chain: Chain, kafka: Kafka
) -> None:
    await put_program(chain, location_id="loc-3")  # for a marker below
    bob = client("bob")
    v1 = visit_paid(chain, bob, "1000", "900")
    v2 = visit_paid(chain, bob, "500")
    # Arrived before paid, a redelivery, the same visit paid again under another event id, a no-show
    # reported before the arrival that replaced it.
    await publish(kafka, topics.VISIT_ARRIVED, arrived(chain, bob, v1["visit_id"]))
    await publish(kafka, topics.VISIT_PAID, v1)
    await publish(kafka, topics.VISIT_PAID, v1)
    await publish(kafka, topics.VISIT_PAID, {**v1, "event_id": "e-again-" + v1["visit_id"]})
    early = arrived(chain, bob, v2["visit_id"], occurred_at=at(-0.01))
    came = arrived(chain, bob, v2["visit_id"])
    await publish(kafka, topics.VISIT_ARRIVED, came)
    await publish(kafka, topics.VISIT_NO_SHOW, early)  # older than the arrival: ignored
    await publish(kafka, topics.VISIT_ARRIVED, {**came, "event_id": "e-twice-" + v2["visit_id"]})  # reported twice
    await publish(kafka, topics.VISIT_PAID, v2)
    elsewhere = visit_paid(chain, bob, "700", location_id="loc-2")  # counts for the chain, not at loc-1
    await publish(kafka, topics.VISIT_PAID, elsewhere)
    # Markers after them on Bob's key, one per topic, each with an effect of its own: Eve's arrival,
    # Eve's no-show at loc-3 (its program makes her Unreliable there), and on visit.paid the one at loc-2.
    eve = client("eve")
    await kafka.publish(topics.VISIT_ARRIVED, arrived(chain, eve, "v-eve-1"), key=bob["id"])
    await kafka.publish(topics.VISIT_NO_SHOW, arrived(chain, eve, "v-eve-2", location_id="loc-3"), key=bob["id"])
    await loyalty_eventually(chain, eve["id"], lambda s: s["visits"] == 1)
    await loyalty_eventually(chain, eve["id"], lambda s: s["categories"] == ["Unreliable"], location_id="loc-3")
    chain_wide = await loyalty_eventually(chain, bob["id"], lambda s: s["sold"] == "2200.00", location_id=None)
    assert (chain_wide["visits"], chain_wide["location_id"]) == (2, None)

    state = await loyalty(chain, bob["id"])
    assert (state["sold"], state["paid"], state["visits"]) == ("1500.00", "1400.00", 2)
    assert (await loyalty(chain, bob["id"], location_id="loc-2"))["sold"] == "700.00"


async def test_a_no_show_gives_its_category_and_the_button_recalculates(chain: Chain, kafka: Kafka) -> None:
    cleo = client("cleo")
    v = visit_paid(chain, cleo, "3000")
    await publish(kafka, topics.VISIT_PAID, v)
    await publish(kafka, topics.VISIT_NO_SHOW, arrived(chain, cleo, v["visit_id"]))
    await loyalty_eventually(chain, cleo["id"], lambda s: s["sold"] == "3000.00")
    # No program yet: statistics only. The program comes; the client card's button applies it at once.
    async with chain.client("loyalty") as http:
        r = await http.put("/locations/loc-1/loyalty-program", json=PROGRAM)
        assert r.status_code == 200
        r = await http.post(f"/clients/{cleo['id']}/loyalty/recalculate", params={"location_id": "loc-1"})
    assert r.status_code == 200, r.text
    assert r.json()["categories"] == ["Economy", "Unreliable"]
    [changed] = await kafka.read(topics.LOYALTY_CATEGORIES_CHANGED, of_chain(chain), settle=1)
    assert changed["old_categories"] == [] and changed["added"] == ["Economy", "Unreliable"]


async def test_the_inactivity_job_resets_the_discount_after_60_days_and_marks_lost_after_90(
    chain: Chain, kafka: Kafka
) -> None:
    await put_program(chain)
    dora = client("dora")
    v = visit_paid(chain, dora, "6000")
    await publish(kafka, topics.VISIT_PAID, v)
    await publish(kafka, topics.VISIT_ARRIVED, arrived(chain, dora, v["visit_id"]))
    await loyalty_eventually(chain, dora["id"], lambda s: s["discount_percent"] == "5.00" and s["visits"] == 1)

    assert (await run_job(chain, "inactivity", at(59)))["clients_changed"] == 0
    assert (await run_job(chain, "inactivity", at(61)))["clients_changed"] == 1
    # Run again: she was calculated after crossing 60 days, so nobody is even looked at.
    assert await run_job(chain, "inactivity", at(61)) == {
        "clients_checked": 0,
        "clients_changed": 0,
        "discount_warnings": 0,
    }
    state = await loyalty(chain, dora["id"])
    assert state["discount_percent"] == "0.00" and state["categories"] == ["Economy"]
    await run_job(chain, "inactivity", at(91))
    assert (await loyalty(chain, dora["id"]))["categories"] == ["Economy", "Lost"]

    reset = await kafka.read(topics.LOYALTY_DISCOUNT_CHANGED, of_chain(chain, reason="inactivity"))
    assert [(e["old_percent"], e["new_percent"]) for e in reset] == [("5.00", "0.00")]
    [lost] = await kafka.read(topics.LOYALTY_CATEGORIES_CHANGED, of_chain(chain, reason="inactivity"))
    assert lost["added"] == ["Lost"] and lost["old_categories"] == ["Economy"]

    # She comes back: the next visit brings the discount back and Lost goes.
    v2 = visit_paid(chain, dora, "100")
    await publish(kafka, topics.VISIT_PAID, v2)
    await publish(kafka, topics.VISIT_ARRIVED, arrived(chain, dora, v2["visit_id"]))
    back = await loyalty_eventually(chain, dora["id"], lambda s: s["visits"] == 2)
    assert back["discount_percent"] == "5.00" and back["categories"] == ["Economy"]


async def test_saving_a_program_recalculates_1000_clients_in_the_background(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool
) -> None:
    n = 1000
    sends = []
    for i in range(n):
        who = {"id": f"cl-{i:04d}", "phone": None, "name": None}
        event = visit_paid(chain, who, "6000" if i % 2 else "2500")
        sends.append(await kafka.producer.send(topics.VISIT_PAID, json.dumps(event).encode(), key=who["id"].encode()))
    await asyncio.gather(*sends)

    async def seeded() -> int:
        return await db.fetchval(  # type: ignore[no-any-return]
            "SELECT count(*) FROM loyalty.visits WHERE chain_id = $1", chain.id
        )

    await eventually(seeded, lambda c: c == n, timeout=60, what="1000 visits recorded")

    started = time.monotonic()
    saved = await put_program(chain)
    answered = time.monotonic() - started
    assert saved["recalculation"]["status"] in ("running", "done")
    done = await program_recalculated(chain)
    took = time.monotonic() - started
    print(f"\nPUT answered in {answered:.3f}s; 1000 clients recalculated in {took:.2f}s")
    assert done["recalculation"]["clients_done"] == n
    assert done["recalculation"]["changed"] == n  # every one has Economy at least
    assert answered < 1.0 and took < 15

    discounts = await kafka.read(topics.LOYALTY_DISCOUNT_CHANGED, of_chain(chain), count=n // 2, settle=1)
    assert len(discounts) == n // 2 and {d["reason"] for d in discounts} == {"program_saved"}
    assert (await loyalty(chain, "cl-0001"))["discount_percent"] == "5.00"
    assert (await loyalty(chain, "cl-0002"))["categories"] == ["Economy"]

    # A visit consumed while nothing changes in the program publishes nothing new for the others.
    await put_program(chain)
    again = await program_recalculated(chain)
    assert again["recalculation"]["changed"] == 0


async def test_visits_consumed_while_the_program_recalculates_change_each_client_once(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool
) -> None:
    n = 200
    clients = [{"id": f"cl-r{i:03d}", "phone": None, "name": None} for i in range(n)]

    async def send_all(sold: str) -> None:
        sends = [
            await kafka.producer.send(
                topics.VISIT_PAID, json.dumps(visit_paid(chain, c, sold)).encode(), key=c["id"].encode()
            )
            for c in clients
        ]
        await asyncio.gather(*sends)

    await send_all("2500")  # Economy only, once a program exists

    async def seeded() -> int:
        return await db.fetchval(  # type: ignore[no-any-return]
            "SELECT count(*) FROM loyalty.visits WHERE chain_id = $1", chain.id
        )

    await eventually(seeded, lambda c: c == n, timeout=60, what="visits recorded")
    # The program is saved while a second visit of every client (5,500 sold in all: 5%) is consumed.
    await asyncio.gather(put_program(chain), send_all("3000"))
    await program_recalculated(chain)
    await eventually(seeded, lambda c: c == 2 * n, timeout=60, what="second visits recorded")

    async def states() -> list:  # type: ignore[type-arg]
        return await db.fetch(  # type: ignore[no-any-return]
            "SELECT discount_percent, categories FROM loyalty.client_loyalty WHERE chain_id = $1", chain.id
        )

    final = await eventually(
        states, lambda rows: len(rows) == n and all(r["discount_percent"] == 5 for r in rows), what="every client at 5%"
    )
    assert {tuple(r["categories"]) for r in final} == {("Economy",)}
    # Whether the page or the visit got to a client first, each change was published exactly once.
    discounts = await kafka.read(topics.LOYALTY_DISCOUNT_CHANGED, of_chain(chain), count=n, settle=1)
    assert sorted(d["client"]["id"] for d in discounts) == [c["id"] for c in clients]
    categories = await kafka.read(topics.LOYALTY_CATEGORIES_CHANGED, of_chain(chain), count=n, settle=1)
    assert sorted(d["client"]["id"] for d in categories) == [c["id"] for c in clients]
