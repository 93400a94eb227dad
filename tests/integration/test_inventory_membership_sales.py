"""Membership products stocked like any product (arrival, sale, write-off, relocation move their stock; a
sale below zero is reported), and a membership code in use: refused up front where inventory can know it
(409 at the desk, the unit refused in a paid visit), and the loop closed where only the memberships
service finds it (`membership.issue_rejected`: the sale line marked refused, the unit back in stock, the
amounts corrected, `inventory.membership_sale_refused`, the administrator told), exactly once."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, eventually, of_chain
from tests.integration.helpers import ANNA, create_type
from tests.integration.inventory_helpers import balances, balances_eventually, get, operation, post, storage
from tests.integration.notifications_helpers import ADMIN_PHONE, put_settings
from tests.integration.proof import until_marker

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

INVENTORY_GROUP = "perkstream.inventory"


async def membership_product(chain: Chain, location_id: str = "loc-1") -> dict[str, Any]:
    [p] = await eventually(
        lambda: get(chain, "/products", category="Memberships", location_id=location_id),
        lambda ps: len(ps) == 1,
        what="the type's product",
    )
    return p  # type: ignore[no-any-return]


def membership_line(type_id: str, quantity: int, code: str | None, paid: str, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "membership",
        "item_id": type_id,
        "quantity": quantity,
        "sold": paid,
        "paid": paid,
        "code": code,
        **fields,
    }


def visit(chain: Chain, lines: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return chain.event(visit_id=f"v-{uuid.uuid4().hex[:8]}", client=ANNA, lines=lines, **fields)


async def visit_sales(chain: Chain, v: dict[str, Any], check: Any = lambda ops: len(ops) >= 1) -> list[dict[str, Any]]:
    return await eventually(
        lambda: get(chain, "/operations", source=f"visit:{v['visit_id']}"),
        check,  # type: ignore[no-any-return]
        what=f"the sales of {v['visit_id']}",
    )


async def consumed_by_inventory(kafka: Kafka, topic: str, match: Any, timeout: float = 30) -> None:
    """Waits until the inventory group has committed past the message of `topic` that `match` accepts (it
    commits a batch once its transaction has): the message has been applied."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: tuple[TopicPartition, int] | None = None
    try:
        deadline = time.monotonic() + timeout
        while found is None and time.monotonic() < deadline:
            for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                for r in records:
                    from deploy.kafka_io import decode

                    m = decode(r.value, r.headers)
                    if m is not None and match(m):
                        found = (tp, r.offset)
    finally:
        await consumer.stop()
    assert found is not None, f"no such message on {topic}"
    tp, offset = found
    await eventually(
        lambda: kafka.committed([INVENTORY_GROUP]),
        lambda c: c[INVENTORY_GROUP].get(tp, -1) > offset,
        timeout=timeout,
        what=f"inventory past {topic} offset {offset}",
    )


async def test_membership_products_are_stocked_like_any_product(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain)  # at loc-1 and loc-2: a product at each
    p = await membership_product(chain)
    pid = p["id"]
    await storage(chain, "st-1")
    await storage(chain, "st-2")

    # Arrival, relocation, write-off move a membership product's stock as any product's.
    arrival = await operation(chain, "arrival", "st-1", [{"product_id": pid, "quantity": 3}])
    assert arrival["lines"][0]["quantity"] == "3" and "sales" not in arrival["lines"][0]
    await operation(chain, "relocation", "st-1", [{"product_id": pid, "quantity": 1}], to_storage_id="st-2")
    await operation(chain, "write_off", "st-2", [{"product_id": pid, "quantity": 1}])
    # More than a sale may sell at once (each unit sold is a membership): stock, not sales.
    await operation(chain, "arrival", "st-2", [{"product_id": pid, "quantity": 150}])
    await operation(chain, "write_off", "st-2", [{"product_id": pid, "quantity": 150}])
    short = await operation(chain, "write_off", "st-2", [{"product_id": pid, "quantity": 1}], status=409)
    assert short["error"] == "insufficient_stock"  # a hand-entered write-off takes only what is there
    coded = await operation(chain, "arrival", "st-1", [{"product_id": pid, "quantity": 1, "codes": ["1"]}], status=422)
    assert (coded["error"], coded["field"]) == ("codes_not_allowed", "lines.0.codes")
    assert await balances(chain) == {("st-1", pid): "2", ("st-2", pid): "0"}

    # A desk sale takes from its storage, below zero: recorded, and reported as any product.
    sale = await operation(
        chain, "sale", "st-1", [{"product_id": pid, "quantity": 3, "codes": ["S-1", "S-2", "auto"]}], client=ANNA
    )
    assert sale["lines"][0]["quantity"] == "3" and len(sale["lines"][0]["sales"]) == 3
    assert await balances(chain) == {("st-1", pid): "-1", ("st-2", pid): "0"}
    [low] = await kafka.read(topics.INVENTORY_STOCK_LOW, of_chain(chain, product_id=pid))
    assert (low["storage_id"], low["balance"], low["reason"]) == ("st-1", "-1", "negative")

    # A paid visit's membership line: its storage_id, else the location's consumables storage (else its
    # only storage); a location without a known storage sells without moving stock.
    await post(
        chain, "/locations/loc-1/inventory-settings", {"consumables_storage_id": "st-2"}, status=200, method="PUT"
    )
    v = visit(
        chain,
        [membership_line(t["id"], 1, "V-1", "8000"), membership_line(t["id"], 1, "V-2", "8000", storage_id="st-1")],
    )
    await kafka.publish(topics.VISIT_PAID, v, key=ANNA["id"])
    ops = await visit_sales(chain, v, lambda ops: len(ops) == 2)
    assert sorted((o["storage_id"], o["lines"][0]["sales"][0]["code"]) for o in ops) == [
        ("st-1", "V-2"),
        ("st-2", "V-1"),
    ]
    await balances_eventually(chain, {("st-1", pid): "-2", ("st-2", pid): "-1"})
    elsewhere = visit(chain, [membership_line(t["id"], 1, "V-3", "8000")], location_id="loc-2")
    await kafka.publish(topics.VISIT_PAID, elsewhere, key=ANNA["id"])
    [op] = await visit_sales(chain, elsewhere)
    assert op["storage_id"] is None and op["lines"][0]["quantity"] == "1"
    assert await balances(chain) == {("st-1", pid): "-2", ("st-2", pid): "-1"}
    lows = await kafka.read(topics.INVENTORY_STOCK_LOW, of_chain(chain, product_id=pid), count=2)
    assert sorted((x["storage_id"], x["balance"]) for x in lows) == [("st-1", "-1"), ("st-2", "-1")]


async def test_a_desk_sale_of_a_code_in_use_is_refused_naming_the_code(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain)
    p = await membership_product(chain)
    await storage(chain, "st-1")
    first = await operation(
        chain, "sale", "st-1", [{"product_id": p["id"], "quantity": 1, "codes": ["GIFT-1"]}], client=ANNA
    )

    # Taken by an earlier sale (codes compare case-insensitively): 409 naming the code, nothing recorded.
    taken = await operation(
        chain,
        "sale",
        "st-1",
        [{"product_id": p["id"], "quantity": 2, "codes": ["GIFT-2", "gift-1"]}],
        status=409,
        client=ANNA,
    )
    assert (taken["error"], taken["field"]) == ("code_taken", "lines.0.codes.1")
    # Repeated within the request, on one line or on two: the request's own fault (422 naming the repeat).
    twice = await operation(
        chain,
        "sale",
        "st-1",
        [
            {"product_id": p["id"], "quantity": 1, "codes": ["G-3"]},
            {"product_id": p["id"], "quantity": 1, "codes": ["g-3"]},
        ],
        status=422,
        client=ANNA,
    )
    assert (twice["error"], twice["field"]) == ("codes_invalid", "lines.1.codes.0")
    one = await operation(
        chain, "sale", "st-1", [{"product_id": p["id"], "quantity": 2, "codes": ["G-4"]}], status=422, client=ANNA
    )
    assert (one["error"], one["field"]) == ("codes_invalid", "lines.0.codes")  # 2 units need 2 codes

    # A code the memberships service issued from elsewhere (an import): inventory knows it from
    # membership.issued.
    async with chain.client("memberships") as http:
        r = await http.post(
            "/memberships/import",
            json={
                "memberships": [
                    {
                        "sale_id": "old-1",
                        "membership_type_id": t["id"],
                        "code": "IMP-1",
                        "location_id": "loc-1",
                        "client": {"id": "cl-imp", "phone": "+36201112233"},
                        "price": "8000",
                        "sold_at": "2026-01-01T10:00:00+00:00",
                    }
                ]
            },
        )
    assert r.status_code == 200 and r.json()["issued"] == 1, r.text
    await consumed_by_inventory(kafka, topics.MEMBERSHIP_ISSUED, of_chain(chain, sale_id="old-1"))
    imported = await operation(
        chain, "sale", "st-1", [{"product_id": p["id"], "quantity": 1, "codes": ["imp-1"]}], status=409, client=ANNA
    )
    assert (imported["error"], imported["field"]) == ("code_taken", "lines.0.codes.0")

    # A refused request claimed nothing: its other code is free.
    gift2 = await operation(
        chain, "sale", "st-1", [{"product_id": p["id"], "quantity": 1, "codes": ["GIFT-2"]}], client=ANNA
    )
    assert [o["id"] for o in await get(chain, "/operations")] == [first["id"], gift2["id"]]
    assert await balances(chain) == {("st-1", p["id"]): "-2"}
    # The code is free again for the same retried operation (its own sale holds it).
    again = await post(
        chain,
        "/operations",
        {
            "id": first["id"],
            "type": "sale",
            "storage_id": "st-1",
            "client": ANNA,
            "lines": [{"product_id": p["id"], "quantity": 1, "codes": ["GIFT-1"]}],
        },
    )
    assert again["number"] == first["number"]


async def test_a_paid_visit_does_not_sell_a_code_in_use(chain: Chain, kafka: Kafka) -> None:
    await put_settings(chain, location_name="Centrum", administrator={"name": "Eva", "phone": ADMIN_PHONE})
    t = await create_type(chain)
    p = await membership_product(chain)
    await storage(chain, "st-1")  # the location's only storage: membership lines leave it
    desk = await operation(
        chain, "sale", "st-1", [{"product_id": p["id"], "quantity": 1, "codes": ["G-1"]}], client=ANNA
    )
    # Issued by the memberships service, and known to inventory so: a code the memberships service would
    # refuse for sure (an unconfirmed sale's code is left for it to judge: the earlier sale may yet fail).
    await consumed_by_inventory(
        kafka, topics.MEMBERSHIP_ISSUED, of_chain(chain, sale_id=desk["lines"][0]["sales"][0]["sale_id"])
    )

    # One code for two units (the second is refused), and a code in use (refused).
    v = visit(chain, [membership_line(t["id"], 2, "9001", "15000"), membership_line(t["id"], 1, "g-1", "8000")])
    await kafka.publish(topics.VISIT_PAID, v, key=ANNA["id"])
    [sale] = await visit_sales(chain, v)
    first, second = sale["lines"]
    assert (first["quantity"], first["amount"], first["refused_quantity"], first["refused_amount"]) == (
        "1",
        "7500.00",
        "1",
        "7500.00",
    )
    vid = v["visit_id"]
    assert first["sales"] == [
        {"sale_id": f"inventory:visit:{vid}:0:0", "code": "9001"},
        {"sale_id": f"inventory:visit:{vid}:0:1", "code": "9001", "refused": "code_taken"},
    ]
    assert (second["quantity"], second["amount"], second["refused_quantity"]) == ("0", "0.00", "1")
    assert second["sales"] == [{"sale_id": f"inventory:visit:{vid}:1:0", "code": "g-1", "refused": "code_taken"}]
    assert await balances(chain) == {("st-1", p["id"]): "-2"}  # one unit left: the one sold

    # What was sold is published, what was refused is not: a later visit (same key) is the marker.
    marker = visit(chain, [membership_line(t["id"], 1, "9002", "8000")])
    await kafka.publish(topics.VISIT_PAID, marker, key=ANNA["id"])
    sold = await until_marker(kafka, topics.MEMBERSHIP_SOLD, of_chain(chain), of_chain(chain, code="9002"))
    assert sorted(s["sale_id"] for s in sold if vid in s["sale_id"]) == [f"inventory:visit:{vid}:0:0"]
    refused = await kafka.read(topics.INVENTORY_MEMBERSHIP_SALE_REFUSED, of_chain(chain), count=2, settle=1)
    assert sorted((e["sale_id"], e["code"], e["reason"], e["amount"]) for e in refused) == [
        (f"inventory:visit:{vid}:0:1", "9001", "code_taken", "7500.00"),
        (f"inventory:visit:{vid}:1:0", "g-1", "code_taken", "8000.00"),
    ]
    assert {(e["operation_id"], e["client"]["id"], e["location_id"]) for e in refused} == {
        (sale["id"], ANNA["id"], "loc-1")
    }
    sms = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain, type="inventory.membership_sale_refused"), count=2)
    assert {(m["to"], m["audience"]) for m in sms} == {(ADMIN_PHONE, "administrator")}
    assert (
        "Centrum: membership g-1 (Massage membership) sold to Anna was not issued: the code is already in "
        f"use. 8000 was paid for it (operation {sale['number']})."
    ) in [m["text"] for m in sms]


async def test_a_sale_the_memberships_service_refuses_later_is_marked_refused_once(chain: Chain, kafka: Kafka) -> None:
    await put_settings(chain, location_name="Centrum", administrator={"name": "Eva", "phone": ADMIN_PHONE})
    t = await create_type(chain)
    p = await membership_product(chain)
    await storage(chain, "st-1")
    await operation(chain, "arrival", "st-1", [{"product_id": p["id"], "quantity": 5}])
    async with chain.client("memberships") as http:
        assert (await http.post(f"/membership-types/{t['id']}/archive")).status_code == 200
    # A visit sells the archived type (the booking system still had it): inventory sells, the memberships
    # service refuses each unit (type_archived), and inventory closes the loop.
    v = visit(chain, [membership_line(t["id"], 2, "auto", "16000")])
    await kafka.publish(topics.VISIT_PAID, v, key=ANNA["id"])
    vid = v["visit_id"]
    [sale] = await visit_sales(chain, v, lambda ops: ops and ops[0]["lines"][0]["quantity"] == "0")
    [line] = sale["lines"]
    assert (line["quantity"], line["amount"], line["refused_quantity"], line["refused_amount"]) == (
        "0",
        "0.00",
        "2",
        "16000.00",
    )
    assert [s.get("refused") for s in line["sales"]] == ["type_archived", "type_archived"]
    assert await balances(chain) == {("st-1", p["id"]): "5"}  # both units back
    changed = await kafka.read(topics.INVENTORY_STOCK_CHANGED, of_chain(chain, operation_id=sale["id"]), count=3)
    assert sorted(c["delta"] for c in changed) == ["-2", "1", "1"]
    refused = await kafka.read(topics.INVENTORY_MEMBERSHIP_SALE_REFUSED, of_chain(chain), count=2)
    assert sorted((e["sale_id"], e["reason"], e["amount"], e["operation_number"]) for e in refused) == [
        (f"inventory:visit:{vid}:0:{u}", "type_archived", "8000.00", sale["number"]) for u in (0, 1)
    ]
    sms = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain, type="inventory.membership_sale_refused"), count=2)
    assert {m["to"] for m in sms} == {ADMIN_PHONE}
    assert {m["source_event_id"] for m in sms} == {e["event_id"] for e in refused}

    # The rejection again: redelivered (the same event) and replayed (a new event id) changes nothing.
    [rejected, *_] = await kafka.read(topics.MEMBERSHIP_ISSUE_REJECTED, of_chain(chain), count=2)
    copy = {k: v for k, v in rejected.items() if not k.startswith("_")}
    await kafka.publish(topics.MEMBERSHIP_ISSUE_REJECTED, copy, key=ANNA["id"])
    await kafka.publish(topics.MEMBERSHIP_ISSUE_REJECTED, {**copy, "event_id": str(uuid.uuid4())}, key=ANNA["id"])
    # The marker: a later refused visit, whose rejections come after the copies on Anna's partition.
    later = visit(chain, [membership_line(t["id"], 1, "auto", "8000")])
    await kafka.publish(topics.VISIT_PAID, later, key=ANNA["id"])
    all_refused = await until_marker(
        kafka,
        topics.INVENTORY_MEMBERSHIP_SALE_REFUSED,
        of_chain(chain),
        lambda m: of_chain(chain)(m) and later["visit_id"] in m["sale_id"],
    )
    assert len(all_refused) == 2
    assert await balances(chain) == {("st-1", p["id"]): "5"}
    [again] = await get(chain, "/operations", source=f"visit:{vid}")
    assert again == sale
