"""Altegio / YCLIENTS webhooks through the gateway, from the real payloads (tests/fixtures/booking-webhooks,
changed only in documented fields), against a stand-in of their REST API: each delivery stored before
its 200, applied once, in the events the mapping says."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.booking_standin import BookingApiStandIn, booking_api
from tests.integration.conftest import Chain, eventually, new_chain, of_chain
from tests.integration.gateway_helpers import (
    COMPANY,
    SERVICE,
    connect,
    deliver,
    deliveries,
    goods_sale,
    new_id,
    real,
    record,
)
from tests.integration.helpers import create_type, membership_eventually, paid_visit, sale

pytestmark = pytest.mark.asyncio(loop_scope="session")
MASSAGE = [{"service_id": str(SERVICE), "category_id": "cat-hair", "visits": 10}]


@pytest.fixture
def standin() -> Any:
    with booking_api() as api:
        api.services[SERVICE] = {"id": SERVICE, "title": "Haircut", "category_id": 7001}
        yield api


def at(minutes: int) -> datetime:
    """The Almaty branch's wall clock (UTC+5) an hour ago, plus `minutes` (the snapshots' order)."""
    return (datetime.now(UTC) + timedelta(hours=4, minutes=minutes)).replace(tzinfo=None)


async def applied(gateway: str, chain: Chain, connection_id: str, count: int) -> list[dict[str, Any]]:
    """Every delivery of the connection, once `count` of them are done (none pending or waiting)."""
    return await eventually(
        lambda: deliveries(gateway, chain, connection_id),
        lambda ds: len(ds) >= count and all(d["state"] not in ("pending", "waiting") for d in ds),
        what=f"{count} deliveries applied",
    )


async def on_topic(kafka: Kafka, topic: str, chain: Chain, marker_visit: str) -> list[dict[str, Any]]:
    await kafka.read(topic, of_chain(chain, visit_id=marker_visit), timeout=30)
    return await kafka.read_to_end(topic, of_chain(chain))


async def test_a_records_lifecycle_gives_one_arrived_and_one_paid(
    gateway: str, chain: Chain, kafka: Kafka, standin: BookingApiStandIn
) -> None:
    cid, secret = await connect(gateway, chain, standin)
    rid, marker = new_id(), new_id()
    lifecycle = [
        record(rid, at(0), status="create"),
        record(rid, at(1), attendance=2),
        *[record(rid, at(2), attendance=1)] * 4,  # the sender repeats an update (4x seen)
        record(rid, at(3), attendance=1, paid=1),
        record(rid, at(3), attendance=1, paid=1),
    ]
    for body in lifecycle:
        r = await deliver(gateway, cid, secret, body)
        assert r.status_code == 200, r.text
    assert [r.json()["duplicate"] for r in [await deliver(gateway, cid, secret, lifecycle[-1])]] == [True]
    await deliver(gateway, cid, secret, record(marker, at(4), attendance=1, paid=1))
    arrived = await on_topic(kafka, topics.VISIT_ARRIVED, chain, str(marker))
    paid = await on_topic(kafka, topics.VISIT_PAID, chain, str(marker))
    assert [m["visit_id"] for m in arrived] == [str(rid), str(marker)]
    assert [m["visit_id"] for m in paid] == [str(rid), str(marker)]
    [visit] = [m for m in paid if m["visit_id"] == str(rid)]
    assert visit["client"] == {"id": "169711586", "phone": "+77770220606", "name": "Вячослав"}
    [line] = visit["lines"]
    assert {k: line[k] for k in ("kind", "item_id", "category_id", "quantity", "sold", "paid", "membership")} == {
        "kind": "service",
        "item_id": str(SERVICE),
        "category_id": "7001",
        "quantity": 1,
        "sold": "4000.00",
        "paid": "4000.00",
        "membership": None,
    }
    assert visit["event_id"] == f"altegio:{COMPANY}:record:{rid}:paid" and visit["location_id"] == "loc-1"
    # create, confirmed, arrived (4 sendings: stored once), paid (twice: once), the marker's
    states = [d["state"] for d in await applied(gateway, chain, cid, 5)]
    assert states == ["ignored", "ignored", "applied", "applied", "applied"]
    assert "Bearer partner-token, User user-token" in standin.authorizations


async def test_paid_before_arrived_gives_both_once_and_an_older_update_changes_nothing(
    gateway: str, chain: Chain, kafka: Kafka, standin: BookingApiStandIn
) -> None:
    cid, secret = await connect(gateway, chain, standin)
    rid, marker = new_id(), new_id()
    for body in (
        record(rid, at(5), paid=1),
        record(rid, at(2), attendance=1),  # older: overtaken
        record(rid, at(6), attendance=1, paid=1),
        record(marker, at(7), attendance=1, paid=1),
    ):
        assert (await deliver(gateway, cid, secret, body)).status_code == 200
    arrived = await on_topic(kafka, topics.VISIT_ARRIVED, chain, str(marker))
    paid = await on_topic(kafka, topics.VISIT_PAID, chain, str(marker))
    assert [m["visit_id"] for m in paid] == [str(rid), str(marker)]
    assert [m["visit_id"] for m in arrived] == [str(rid), str(marker)]
    stale = [d for d in await applied(gateway, chain, cid, 4) if d["reason"] and d["reason"].startswith("stale")]
    assert len(stale) == 1


async def test_a_no_show_deducts_through_the_policy_and_a_delete_cancels(
    gateway: str, chain: Chain, kafka: Kafka, standin: BookingApiStandIn
) -> None:
    type_id = (await create_type(chain, services=MASSAGE))["id"]
    client = {"id": "169711586", "phone": "+77770220606", "name": "V"}
    await kafka.publish(topics.MEMBERSHIP_SOLD, sale(chain, type_id, "5501", client=client), key=client["id"])
    await membership_eventually(chain, "5501", lambda m: m["visits_left"] == 10)
    async with chain.client("memberships") as http:
        r = await http.put("/locations/loc-1/deduction-policy", json={"no_show": True, "late_cancel_hours": None})
        assert r.status_code == 200, r.text
    cid, secret = await connect(gateway, chain, standin)
    no_show, cancelled = new_id(), new_id()
    # attendance -1 and a delete: no real capture has them; the real record with those documented fields set
    for body in (record(no_show, at(0), attendance=-1), record(cancelled, at(1), status="delete", deleted=True)):
        assert (await deliver(gateway, cid, secret, body)).status_code == 200
    m = await membership_eventually(chain, "5501", lambda m: m["visits_left"] == 9)
    assert [h["visit_id"] for h in m["history"] if h["kind"] == "deduction"] == [str(no_show)]
    [c] = await kafka.read(topics.VISIT_CANCELLED, of_chain(chain, visit_id=str(cancelled)))
    assert c["event_id"] == f"altegio:{COMPANY}:record:{cancelled}:cancelled"


async def test_a_membership_sold_and_used_at_altegio_ends_as_the_native_visit(
    gateway: str, chain: Chain, kafka: Kafka, db: asyncpg.Pool, standin: BookingApiStandIn
) -> None:
    native = await new_chain(chain.stack, db)
    types = [(await create_type(c, services=MASSAGE))["id"] for c in (chain, native)]
    good, sale_id, rid = new_id(), new_id(), new_id()
    standin.goods[good] = {"good_id": good, "title": "Massage x10", "loyalty_abonement_type_id": 896}
    standin.abonements["77770220606"] = [
        {"id": 901, "number": 4567, "created_date": 1630064891, "type": {"id": 896, "title": "Massage x10"}}
    ]
    standin.visits[(rid, rid + 1)] = [
        {
            "id": 1,
            "type_id": 9,
            "abonement_id": 901,
            "item_id": SERVICE,
            "item_record_id": rid,
            "salon_group_id": 279982,
            "amount": 1,
        }
    ]
    cid, secret = await connect(gateway, chain, standin, membership_types={"896": types[0]})
    assert (await deliver(gateway, cid, secret, goods_sale(sale_id, good, at(0), cost=8000))).status_code == 200
    await membership_eventually(chain, "4567", lambda m: m["visits_left"] == 10)
    assert (await deliver(gateway, cid, secret, record(rid, at(1), attendance=1, paid=1))).status_code == 200
    webhook = await membership_eventually(chain, "4567", lambda m: m["visits_left"] == 9)
    # the same visit, published natively by a booking system that speaks our contract
    client = {"id": "169711586", "phone": "+77770220606", "name": "Вячослав"}
    await kafka.publish(
        topics.MEMBERSHIP_SOLD, sale(native, types[1], "4567", client=client, price="8000"), key=client["id"]
    )
    await membership_eventually(native, "4567", lambda m: m["visits_left"] == 10)
    visit = paid_visit(native, "4567", service=str(SERVICE), client=client)
    visit["lines"][0].update(sold="4000", paid="4000", category_id="7001")
    arrived = native.event(
        visit_id=visit["visit_id"],
        client=client,
        scheduled_at=visit["occurred_at"],
        services=[{"service_id": str(SERVICE)}],
    )
    await kafka.publish(topics.VISIT_ARRIVED, arrived, key=client["id"])  # the webhook's record was arrived too
    await kafka.publish(topics.VISIT_PAID, visit, key=client["id"])
    natively = await membership_eventually(native, "4567", lambda m: m["visits_left"] == 9)
    for key in ("status", "balance", "visits_left", "price"):
        assert webhook[key] == natively[key], key
    assert [h["kind"] for h in webhook["history"]] == [h["kind"] for h in natively["history"]]
    texts = []
    for c in (chain, native):
        async with c.client("notifications") as http:
            found = await eventually(
                lambda http=http: http.get("/notifications", params={"client_id": client["id"]}),
                lambda r: any(n["type"] == "membership.deducted" for n in r.json()),
                what="the deduction's SMS",
            )
        texts.append(sorted((n["type"], n["recipient"], n["text"]) for n in found.json()))
    assert texts[0] == texts[1]
    stats = []
    for c in (chain, native):  # the client's loyalty statistics: the same visit, the same sums
        async with c.client("loyalty") as http:
            found = await eventually(
                lambda http=http: http.get(f"/clients/{client['id']}/loyalty", params={"location_id": "loc-1"}),
                lambda r: r.status_code == 200 and r.json()["paid"] not in ("0", "0.00"),
                what="the visit in the client's loyalty statistics",
            )
        stats.append({k: found.json()[k] for k in ("sold", "paid", "visits", "discount_percent", "level")})
    assert stats[0] == stats[1]


async def test_secrets_are_checked_and_an_unknown_company_is_kept_then_replayed(
    gateway: str, chain: Chain, kafka: Kafka, standin: BookingApiStandIn
) -> None:
    cid, secret = await connect(gateway, chain, standin)
    rid = new_id()
    body = record(rid, at(0), attendance=1, company=999001)
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.post(f"{gateway}/v1/webhooks/{cid}", json=body)).status_code == 401
        r = await http.post(f"{gateway}/v1/webhooks/{cid}", params={"secret": "guess"}, json=body)
        assert r.status_code == 403
        r = await http.post(f"{gateway}/v1/webhooks/{cid}", json=body, headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 200, r.text
    [kept] = await eventually(
        lambda: deliveries(gateway, chain, cid, "kept"), lambda ds: len(ds) == 1, what="the delivery kept"
    )
    assert kept["reason"].startswith("unknown_company") and kept["company_id"] == 999001
    async with httpx.AsyncClient(
        base_url=f"{gateway}/v1/chains/{chain.id}", timeout=10, headers={"Authorization": f"Bearer {chain.key}"}
    ) as http:
        r = await http.patch(
            f"/connections/{cid}",
            json={
                "locations": [
                    {"company_id": COMPANY, "location_id": "loc-1", "time_zone": "Asia/Almaty"},
                    {"company_id": 999001, "location_id": "loc-2", "time_zone": "Asia/Almaty"},
                ]
            },
        )
        assert r.status_code == 200, r.text
        assert "user_token" not in r.json() and "secret" not in r.json()
        r = await http.post(f"/connections/{cid}/deliveries/replay", json={"states": ["kept"]})
        assert r.json() == {"replayed": 1}, r.text
    [m] = await kafka.read(topics.VISIT_ARRIVED, of_chain(chain, visit_id=str(rid)))
    assert m["location_id"] == "loc-2"


async def test_the_api_down_the_paid_visit_waits_and_is_applied_when_it_is_back(
    gateway: str, chain: Chain, kafka: Kafka, standin: BookingApiStandIn
) -> None:
    cid, secret = await connect(gateway, chain, standin)
    rid = new_id()
    standin.down = True
    assert (await deliver(gateway, cid, secret, record(rid, at(0), attendance=1, paid=1))).status_code == 200
    [waiting] = await eventually(
        lambda: deliveries(gateway, chain, cid, "waiting"),
        lambda ds: len(ds) == 1,
        what="the delivery waiting for the API",
    )
    assert waiting["reason"].startswith("api_down")
    await kafka.read(topics.VISIT_ARRIVED, of_chain(chain, visit_id=str(rid)))  # what needs no API went out
    standin.down = False
    [paid] = await kafka.read(topics.VISIT_PAID, of_chain(chain, visit_id=str(rid)), timeout=60)
    assert paid["lines"][0]["category_id"] == "7001"
    [done] = await applied(gateway, chain, cid, 1)
    assert done["state"] == "applied" and done["attempts"] >= 1


async def test_each_real_payload_gives_what_the_mapping_says(
    gateway: str, chain: Chain, kafka: Kafka, standin: BookingApiStandIn
) -> None:
    """The five real payloads as captured, their companies mapped to our locations."""
    payloads = {
        name: real(name)
        for name in (
            "altegio_record_update_arrived_paid.json",
            "altegio_client_update.json",
            "yclients_record_update_waiting_unpaid.json",
            "yclients_goods_operations_sale_with_client.json",
            "yclients_finances_operation_create.json",
        )
    }
    companies = sorted({p["company_id"] for p in payloads.values()})
    standin.goods[12911618] = {"good_id": 12911618, "loyalty_abonement_type_id": 0}  # a product, not a membership
    standin.services[6137968] = {"id": 6137968, "category_id": 7002}
    cid, secret = await connect(
        gateway,
        chain,
        standin,
        locations=[{"company_id": c, "location_id": f"loc-{c}", "time_zone": "Europe/Moscow"} for c in companies],
    )
    for body in payloads.values():
        assert (await deliver(gateway, cid, secret, body)).status_code == 200
    done = {d["resource"] + ":" + str(d["resource_id"]): d for d in await applied(gateway, chain, cid, 5)}
    assert done["record:596792978"]["state"] == "applied"  # arrived and paid
    assert done["record:234961815"]["reason"].startswith("no_change")  # waiting, unpaid: nothing yet
    assert done["goods_operations_sale:176687032"]["reason"].startswith("not_a_membership")
    assert done["client:" + str(payloads["altegio_client_update.json"]["resource_id"])]["state"] == "ignored"
    assert done["finances_operation:199254095"]["state"] == "ignored"
    [arrived] = await kafka.read(topics.VISIT_ARRIVED, of_chain(chain, visit_id="596792978"))
    [paid] = await kafka.read(topics.VISIT_PAID, of_chain(chain, visit_id="596792978"))
    # its `date` is the branch's wall clock, read in the location's zone (the offsets sent are not trusted)
    assert datetime.fromisoformat(arrived["scheduled_at"]) == datetime(2025, 7, 12, 9, 10, tzinfo=UTC)
    assert paid["lines"][0]["sold"] == "4000.00"


async def test_a_burst_of_deliveries_is_stored_and_applied(
    gateway: str, chain: Chain, standin: BookingApiStandIn
) -> None:
    cid, secret = await connect(gateway, chain, standin)
    bodies = [record(new_id(), at(0), attendance=2) for _ in range(300)]
    async with httpx.AsyncClient(timeout=30) as http:
        answers = await asyncio.gather(
            *(http.post(f"{gateway}/v1/webhooks/{cid}", params={"secret": secret}, json=b) for b in bodies)
        )
    assert [r.status_code for r in answers] == [200] * len(bodies)
    done = await applied(gateway, chain, cid, len(bodies))
    assert len(done) == len(bodies) and {d["reason"].split(":")[0] for d in done} == {"no_change"}


async def test_a_backfill_reads_back_what_the_sender_never_retried(
    gateway: str, chain: Chain, kafka: Kafka, standin: BookingApiStandIn
) -> None:
    cid, secret = await connect(gateway, chain, standin)
    seen, missed = new_id(), new_id()
    delivered = record(seen, at(0), attendance=1)
    assert (await deliver(gateway, cid, secret, delivered)).status_code == 200
    # their API lists both records: the one we had as a webhook, and one whose webhook never came
    standin.records[COMPANY] = [delivered["data"], record(missed, at(1), attendance=1)["data"]]
    async with httpx.AsyncClient(
        base_url=f"{gateway}/v1/chains/{chain.id}", timeout=30, headers={"Authorization": f"Bearer {chain.key}"}
    ) as http:
        now = datetime.now(UTC)
        r = await http.post(
            f"/connections/{cid}/backfill", json={"from": (now - timedelta(days=1)).isoformat(), "to": now.isoformat()}
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"records": 2, "stored": 1}  # the webhook it had is the same delivery
        r = await http.post(
            f"/connections/{cid}/backfill", json={"from": (now - timedelta(days=40)).isoformat(), "to": now.isoformat()}
        )
        assert (r.status_code, r.json()["field"]) == (422, "to")
        standin.down = True
        r = await http.post(
            f"/connections/{cid}/backfill", json={"from": (now - timedelta(days=1)).isoformat(), "to": now.isoformat()}
        )
        assert (r.status_code, r.json()["error"]) == (503, "booking_api_unavailable")
    arrived = await on_topic(kafka, topics.VISIT_ARRIVED, chain, str(missed))
    assert sorted(m["visit_id"] for m in arrived) == sorted([str(seen), str(missed)])
