"""A bad message lands in `<topic>.dlq` with the reason, and the consumer goes on."""

from __future__ import annotations

import asyncpg
import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain
from tests.integration.helpers import ANNA, create_type, membership_eventually, paid_visit, sale, sell

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_malformed_and_invalid_messages_are_dead_lettered_and_the_next_one_is_processed(
    chain: Chain, kafka: Kafka
) -> None:
    t = await create_type(chain)
    await sell(chain, kafka, t["id"], "9090")

    malformed = f"{{not json at all {chain.id}".encode()
    bad_field = paid_visit(chain, "9090")
    bad_field["lines"][0]["quantity"] = -1
    bad_money = paid_visit(chain, "9090")
    bad_money["lines"][0]["sold"] = "10.005"
    await kafka.publish(
        topics.VISIT_PAID,
        malformed,
        key=ANNA["id"],
        headers=[("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")],
    )
    await kafka.publish(topics.VISIT_PAID, bad_field, key=ANNA["id"])
    await kafka.publish(topics.VISIT_PAID, bad_money, key=ANNA["id"])
    good = paid_visit(chain, "9090")
    await kafka.publish(topics.VISIT_PAID, good, key=ANNA["id"])

    # The good message after the bad ones is still applied.
    await membership_eventually(chain, "9090", lambda m: m["visits_left"] == 9)

    def ours(m: dict) -> bool:  # type: ignore[type-arg]
        return chain.id in str(m.get("_raw", "")) or m.get("chain_id") == chain.id  # _raw: 42 is not JSON text

    dead = await kafka.read(topics.dlq(topics.VISIT_PAID), ours, count=12, settle=1)
    by_service = {}
    for d in dead:
        by_service.setdefault(d["_headers"]["x-consumer-group"], []).append(d)
    # Every service consuming visit.paid dead-letters on its own, and says who it is.
    assert set(by_service) == {
        "perkstream.memberships",
        "perkstream.loyalty",
        "perkstream.inventory",
        "perkstream.wallet",
    }
    mine = by_service["perkstream.memberships"]
    assert len(mine) == 3
    errors = sorted(d["_headers"]["x-error"] for d in mine)
    assert errors[0].startswith("invalid visit.paid: lines.0.quantity")
    assert errors[1].startswith("invalid visit.paid: lines.0.sold")
    assert errors[2].startswith("not JSON")
    raw = [d for d in mine if "_raw" in d]
    assert raw[0]["_raw"] == malformed.decode()  # the original bytes, untouched
    assert raw[0]["_headers"]["traceparent"].startswith("00-0af7651916cd43dd")  # the trace carried on
    assert {d["_headers"]["x-original-topic"] for d in mine} == {"visit.paid"}


async def test_a_sale_with_a_bad_field_is_dead_lettered_naming_it(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain)
    too_long = sale(chain, t["id"], "X" * 33)
    negative = sale(chain, t["id"], "NEG-1", price="-5")
    naive = sale(chain, t["id"], "NAIVE-1", occurred_at="2026-03-01T10:00:00")
    for event in (too_long, negative, naive):
        await kafka.publish(topics.MEMBERSHIP_SOLD, event, key=ANNA["id"])
    await sell(chain, kafka, t["id"], "GOOD-1")  # the consumer went on

    dead = await kafka.read(topics.dlq(topics.MEMBERSHIP_SOLD), lambda m: m.get("chain_id") == chain.id, count=3)
    reasons = {d["event_id"]: d["_headers"]["x-error"] for d in dead}
    assert reasons[too_long["event_id"]].startswith("invalid membership.sold: code:")
    assert reasons[negative["event_id"]].startswith("invalid membership.sold: price:")
    assert reasons[naive["event_id"]].startswith("invalid membership.sold: occurred_at:")
    async with chain.client("memberships") as http:
        owned = (await http.get("/memberships", params={"client_id": ANNA["id"]})).json()
    assert [m["code"] for m in owned] == ["GOOD-1"]


async def test_a_message_whose_processing_fails_for_good_is_dead_lettered_alone(
    chain: Chain, kafka: Kafka, db: asyncpg.Pool
) -> None:
    """A sale the database refuses for good (a trigger, standing for any statement that fails for this
    message only) is valid, but its handler fails: it goes to the DLQ with the reason, and the messages
    around it are applied. A sale dated in December 9999 never reaches its handler: too far ahead of the
    clock. (Text PostgreSQL cannot store, such as a NUL, is refused sooner, at validation.)"""
    t = await create_type(chain, validity={"period": 3, "unit": "month", "counted_from": "sale"})
    good1 = sale(chain, t["id"], "OK-1")
    far_future = sale(chain, t["id"], "BAD-1", occurred_at="9999-12-01T00:00:00+00:00")
    bad_name = sale(chain, t["id"], "BAD-2", client={**ANNA, "name": "An\u0000na"})
    refused = sale(chain, t["id"], "BAD-3")
    good2 = sale(chain, t["id"], "OK-2")
    trigger = f"dead_letters_{chain.id.replace('-', '_')}"
    await db.execute(f"""
        CREATE FUNCTION memberships.{trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.chain_id = '{chain.id}' AND NEW.code = 'BAD-3' THEN RAISE EXCEPTION 'not this one'; END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER {trigger} BEFORE INSERT ON memberships.memberships
          FOR EACH ROW EXECUTE FUNCTION memberships.{trigger}();""")
    try:
        for event in (good1, far_future, bad_name, refused, good2):
            await kafka.publish(topics.MEMBERSHIP_SOLD, event, key=ANNA["id"])

        await membership_eventually(chain, "OK-2", lambda m: True)
        await membership_eventually(chain, "OK-1", lambda m: True)
        dead = await kafka.read(
            topics.dlq(topics.MEMBERSHIP_SOLD), lambda m: m.get("chain_id") == chain.id, count=3, settle=1
        )
    finally:
        await db.execute(f"DROP TRIGGER {trigger} ON memberships.memberships; DROP FUNCTION memberships.{trigger}()")
    reasons = {d["code"]: d["_headers"]["x-error"] for d in dead}
    assert sorted(reasons) == ["BAD-1", "BAD-2", "BAD-3"]
    assert reasons["BAD-1"].startswith("clock_skew: occurred_at 9999-12-01T00:00:00+00:00 is ")
    assert reasons["BAD-2"].startswith("invalid membership.sold: client.name: Value error, text must be valid UTF-8")
    assert reasons["BAD-3"].startswith("processing failed: RaiseError: not this one")
    assert {d["code"]: d["_headers"]["x-error-reason"] for d in dead} == {
        "BAD-1": "clock_skew",
        "BAD-2": "invalid",
        "BAD-3": "processing_failed",
    }
    async with chain.client("memberships") as http:
        owned = (await http.get("/memberships", params={"client_id": ANNA["id"]})).json()
    assert sorted(m["code"] for m in owned) == ["OK-1", "OK-2"]
