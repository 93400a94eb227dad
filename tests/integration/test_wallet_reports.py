"""The wallet's reports through the real Kafka and PostgreSQL: gift cards by type and location (sold, used,
refunded in a period; active and outstanding now), accounts by client (balance, credit, money in and out),
as JSON pages and CSV. New behaviour (the wallet service is new in this change)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, publish
from tests.integration.wallet_helpers import (
    ANNA,
    BEA,
    account_eventually,
    by_account,
    by_card,
    card_eventually,
    card_sale,
    create_card_type,
    deposit,
    line,
    pay,
    visit,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_the_gift_card_report_gives_sold_used_refunded_and_outstanding_by_type_and_location(
    chain: Chain, kafka: Kafka
) -> None:
    t = await create_card_type(chain, name="A spa card")
    codes = [f"G-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    for c, location in zip(codes, ["loc-1", "loc-1", "loc-2"], strict=True):
        await publish(kafka, topics.GIFT_CARD_SOLD, card_sale(chain, t["id"], c, location_id=location, price="9000"))
        await card_eventually(chain, c)
    used = await pay(kafka, visit(chain, line(paid="2500", payments=[by_card(codes[0], "2500")])))
    await pay(kafka, visit(chain, line(paid="500", payments=[by_card(codes[1], "500")])))
    await card_eventually(chain, codes[1], lambda card: card["balance"] == "9500.00")
    cancel = chain.event(visit_id=used["visit_id"], client=ANNA, scheduled_at=used["occurred_at"], services=[],
                         cancelled_at=used["occurred_at"])  # fmt: skip
    await publish(kafka, topics.VISIT_CANCELLED, cancel)
    await card_eventually(chain, codes[0], lambda card: card["balance"] == "10000.00")
    async with chain.client("wallet") as http:
        rows = (await http.get("/reports/gift-cards")).json()
        one = (await http.get("/reports/gift-cards", params={"location_id": "loc-2"})).json()
        later = (
            await http.get(
                "/reports/gift-cards", params={"since": (datetime.now(UTC) + timedelta(minutes=9)).isoformat()}
            )
        ).json()
        exported = await http.get("/reports/gift-cards", params={"format": "csv"})
    assert [(r["location_id"], r["sold"], r["sold_value"], r["sold_price"], r["used"], r["refunded"], r["active"],
             r["outstanding"]) for r in rows] == [
        ("loc-1", 2, "20000.00", "18000.00", "3000.00", "2500.00", 2, "19500.00"),
        ("loc-2", 1, "10000.00", "9000.00", "0.00", "0.00", 1, "10000.00"),
    ]  # fmt: skip
    assert [r["location_id"] for r in one] == ["loc-2"]
    assert [(r["sold"], r["used"], r["outstanding"]) for r in later] == [
        (0, "0.00", "19500.00"),
        (0, "0.00", "10000.00"),
    ]
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["type_name"], r["location_id"], r["outstanding"]) for r in table] == [
        ("A spa card", "loc-1", "19500.00"),
        ("A spa card", "loc-2", "10000.00"),
    ]


async def test_the_account_report_gives_each_clients_balance_and_money_in_and_out(chain: Chain, kafka: Kafka) -> None:
    await deposit(chain, kafka, "1000")
    await deposit(chain, kafka, "300", client=BEA, location_id="loc-2")
    await account_eventually(chain, lambda a: a["balance"] == "1000.00")
    await pay(kafka, visit(chain, line(paid="400", payments=[by_account("400")])))
    await account_eventually(chain, lambda a: a["balance"] == "600.00")
    await account_eventually(chain, lambda a: a["balance"] == "300.00", client_id=BEA["id"])
    async with chain.client("wallet") as http:
        rows = (await http.get("/reports/accounts")).json()
        at_2 = (await http.get("/reports/accounts", params={"location_id": "loc-2"})).json()
        paged = await http.get("/reports/accounts", params={"limit": 1})
    assert [(r["client_id"], r["balance"], r["money_in"], r["money_out"]) for r in rows] == [
        (ANNA["id"], "600.00", "1000.00", "400.00"),
        (BEA["id"], "300.00", "300.00", "0.00"),
    ]
    assert [(r["client_id"], r["money_in"]) for r in at_2] == [(ANNA["id"], "0.00"), (BEA["id"], "300.00")]
    assert len(paged.json()) == 1 and "x-next-cursor" in paged.headers


async def test_a_card_is_told_of_its_end_once_then_expires_forfeiting_its_balance(chain: Chain, kafka: Kafka) -> None:
    c = f"G-{uuid.uuid4().hex[:8]}"
    t = await create_card_type(chain, validity={"kind": "period", "unit": "day", "count": 10})
    await publish(kafka, topics.GIFT_CARD_SOLD, card_sale(chain, t["id"], c))
    card = await card_eventually(chain, c)
    end = datetime.fromisoformat(card["valid_until"])

    async def run(job: str, as_of: datetime) -> int:
        async with chain.admin("wallet") as http:
            r = await http.post(f"/jobs/{job}/run", json={"as_of": as_of.isoformat()})
        assert r.status_code == 200, r.text
        return int(r.json()["changed"]["count"])

    assert await run("gift_card_expiring", end - timedelta(days=8)) == 0  # not yet: 7 days before
    assert await run("gift_card_expiring", end - timedelta(days=5)) == 1
    assert await run("gift_card_expiring", end - timedelta(days=4)) == 0  # told once
    [expiring] = await kafka.read(topics.GIFT_CARD_EXPIRING, lambda m: m.get("code") == c)
    assert (expiring["days_left"], expiring["balance"]) == (5, "10000.00")
    assert await run("gift_card_expiry", end - timedelta(seconds=1)) == 0
    assert await run("gift_card_expiry", end) == 1
    assert await run("gift_card_expiry", end + timedelta(days=1)) == 0
    [expired] = await kafka.read(topics.GIFT_CARD_EXPIRED, lambda m: m.get("code") == c)
    assert (expired["forfeited"], expired["balance"]) == ("10000.00", "0.00")
    card = await card_eventually(chain, c, lambda g: g["status"] == "expired")
    assert card["balance"] == "0.00"
    async with chain.client("wallet") as http:  # the report counts it expired, its balance forfeited
        [row] = (await http.get("/reports/gift-cards", params={"gift_card_type_id": t["id"]})).json()
    assert (row["sold"], row["expired"], row["expired_value"], row["active"], row["outstanding"]) == (
        1,
        1,
        "10000.00",
        0,
        "0.00",
    )
    v = await pay(kafka, visit(chain, line(paid="10", payments=[by_card(c, "10")])))
    [refused] = await kafka.read(topics.WALLET_PAYMENT_REJECTED, lambda m: m.get("visit_id") == v["visit_id"])
    assert refused["rejected"][0]["reason"] == "expired"
