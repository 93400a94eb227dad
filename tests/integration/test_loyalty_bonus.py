"""The bonus program through real Kafka and PostgreSQL: cashback accrued on a paid visit, points spent
on the next one (oldest first, never more than the balance), every Nth visit, the history's start date,
manual accruals and write-offs, the burn job, and bad input answered with the field or dead-lettered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain, publish
from tests.integration.loyalty_helpers import (
    PROGRAM,
    at,
    bonus_setup,
    card,
    card_eventually,
    client,
    create,
    run_job,
    visit_paid,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def balance_of_transactions(c: dict) -> Decimal:  # type: ignore[type-arg]
    return sum((Decimal(t["amount"]) for t in c["transactions"]), Decimal("0"))


async def test_cashback_accrues_on_a_paid_visit_and_is_spent_on_the_next(chain: Chain, kafka: Kafka) -> None:
    anna = client("anna")
    setup = await bonus_setup(chain, anna)
    card_id = setup["card"]["id"]

    first = visit_paid(chain, anna, "10500", "10000")  # no card named: the client's cards at loc-1 accrue
    await publish(kafka, topics.VISIT_PAID, first)
    await card_eventually(chain, card_id, lambda c: c["balance"] == "300.00")  # 3% of 10,000 paid

    second = visit_paid(chain, anna, "5200", "5000", card=card_id, spent="200")
    await publish(kafka, topics.VISIT_PAID, second)
    after = await card_eventually(chain, card_id, lambda c: len(c["transactions"]) == 3)
    assert after["balance"] == "250.00"  # 300 - 200 + 3% of 5,000

    too_much = visit_paid(chain, anna, "1000", card=setup["card"]["number"], spent="250.01")  # by number too
    await publish(kafka, topics.VISIT_PAID, too_much)
    last = await card_eventually(chain, card_id, lambda c: len(c["transactions"]) == 4)
    assert last["balance"] == "280.00"  # nothing taken; the visit's own cashback still accrues
    assert [(t["kind"], t["amount"], t["visit_id"]) for t in last["transactions"]] == [
        ("accrual", "300.00", first["visit_id"]),
        ("spend", "-200.00", second["visit_id"]),
        ("accrual", "150.00", second["visit_id"]),
        ("accrual", "30.00", too_much["visit_id"]),
    ]
    assert all(t["at"] for t in last["transactions"])
    assert balance_of_transactions(last) == Decimal(last["balance"])

    accrued = await kafka.read(topics.LOYALTY_BONUS_ACCRUED, of_chain(chain), count=3)
    assert [(a["amount"], a["balance"], a["kind"]) for a in accrued] == [
        ("300.00", "300.00", "cashback"),
        ("150.00", "250.00", "cashback"),
        ("30.00", "280.00", "cashback"),
    ]
    assert accrued[0]["promotion_id"] == setup["promotion"]["id"] and accrued[0]["card_number"] == "C-1"
    [spent] = await kafka.read(topics.LOYALTY_BONUS_SPENT, of_chain(chain))
    assert (spent["amount"], spent["balance"], spent["visit_id"]) == ("200.00", "100.00", second["visit_id"])
    [rejected] = await kafka.read(topics.LOYALTY_BONUS_SPEND_REJECTED, of_chain(chain))
    assert (rejected["requested"], rejected["reason"], rejected["balance"]) == (
        "250.01",
        "insufficient_balance",
        "250.00",
    )


async def test_a_paid_and_arrived_visit_raises_discount_and_level_and_accrues_cashback(
    chain: Chain, kafka: Kafka
) -> None:
    async with chain.client("loyalty") as http:
        assert (await http.put("/locations/loc-1/loyalty-program", json=PROGRAM)).status_code == 200
    eve = client("eve")
    setup = await bonus_setup(
        chain,
        eve,
        type="cumulative_cashback_sold",
        percent=None,
        rules=[{"from": "0", "percent": "3"}, {"from": "20000", "percent": "5"}],
    )
    v = visit_paid(chain, eve, "21000", "20000")
    await publish(kafka, topics.VISIT_PAID, v)
    await publish(kafka, topics.VISIT_ARRIVED, chain.event(visit_id=v["visit_id"], client=eve, scheduled_at=at()))
    c = await card_eventually(chain, setup["card"]["id"], lambda c: c["balance"] != "0.00")
    assert c["balance"] == "1050.00"  # 21,000 sold in the history reaches the 5% tier: 5% of 21,000
    async with chain.client("loyalty") as http:
        state = (await http.get(f"/clients/{eve['id']}/loyalty", params={"location_id": "loc-1"})).json()
    assert (state["discount_percent"], state["level"]) == ("5.00", "bronze")


async def test_every_3rd_visit_and_the_history_start_date(chain: Chain, kafka: Kafka) -> None:
    fay = client("fay")
    nth = await bonus_setup(
        chain, fay, number="N-1", every_nth_visit=3, percent="10", issued_at="2022-08-01T00:00:00+00:00"
    )  # before her visits
    start = await create(
        chain,
        "/promotions",
        {
            "name": "From Aug 15",
            "type": "cumulative_visits_cashback_sold",
            "card_type_ids": [nth["card_type"]["id"]],
            "rules": [{"from": "1", "percent": "1"}, {"from": "6", "percent": "5"}],
            "history_start": "2022-08-15",
        },
    )
    visits = []
    for day in range(10):  # 2022-08-10 .. 2022-08-19: the later 5 count for the second promotion
        when = datetime(2022, 8, 10 + day, 10, 0, tzinfo=UTC).isoformat()
        visits.append(visit_paid(chain, fay, "1000", occurred_at=when))
        await publish(kafka, topics.VISIT_PAID, visits[-1])
    c = await card_eventually(chain, nth["card"]["id"], lambda c: len(c["transactions"]) == 8)
    by_promotion: dict[str, list[tuple[str, str]]] = {}
    for t in c["transactions"]:
        by_promotion.setdefault(t["promotion_id"], []).append((t["visit_id"], t["amount"]))
    # Every 3rd visit: 10% of 1,000 on the 3rd, 6th and 9th.
    assert by_promotion[nth["promotion"]["id"]] == [(visits[i]["visit_id"], "100.00") for i in (2, 5, 8)]
    # From Aug 15 only: the 6th..10th visits are the 1st..5th counted, all in the 1% tier.
    assert by_promotion[start["id"]] == [(visits[i]["visit_id"], "10.00") for i in range(5, 10)]
    assert c["balance"] == "350.00" == str(balance_of_transactions(c))


async def test_points_burn_by_job_after_a_notice_and_the_balance_stays_exact(chain: Chain, kafka: Kafka) -> None:
    gus = client("gus")
    setup = await bonus_setup(chain, gus, burn_after={"n": 10, "unit": "day"}, burn_notice_days=3)
    card_id = setup["card"]["id"]
    visit = visit_paid(chain, gus, "10000")
    await publish(kafka, topics.VISIT_PAID, visit)
    await card_eventually(chain, card_id, lambda c: c["balance"] == "300.00")
    await publish(kafka, topics.VISIT_PAID, visit_paid(chain, gus, "100", "0", card=card_id, spent="100"))
    await card_eventually(chain, card_id, lambda c: c["balance"] == "200.00")

    async with chain.client("loyalty") as http:
        r = await http.post(
            f"/cards/{card_id}/transactions", json={"kind": "accrue", "amount": "50", "reason": "birthday gift"}
        )
        assert r.status_code == 200, r.text
        r = await http.post(
            f"/cards/{card_id}/transactions",
            json={"kind": "write_off", "amount": "20.50", "reason": "complaint settled"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["balance"] == "229.50"
        r = await http.post(
            f"/cards/{card_id}/transactions", json={"kind": "write_off", "amount": "1000", "reason": "too much"}
        )
        assert r.status_code == 409 and r.json()["error"] == "insufficient_balance"

    paid_at = datetime.fromisoformat(visit["occurred_at"])
    assert await run_job(chain, "burn", (paid_at + timedelta(days=6)).isoformat()) == {
        "notices": 0,
        "cards_burned": 0,
        "points_burned": "0",
    }
    assert (await run_job(chain, "burn", (paid_at + timedelta(days=8)).isoformat()))["notices"] == 1
    assert (await run_job(chain, "burn", (paid_at + timedelta(days=8)).isoformat()))["notices"] == 0  # once
    [burning] = await kafka.read(topics.LOYALTY_BONUS_BURNING, of_chain(chain))
    # The write-off took the oldest points: 300 - 100 - 20.50 of the cashback are left to burn.
    assert burning["amount"] == "179.50"
    assert datetime.fromisoformat(burning["burns_at"]) == paid_at + timedelta(days=10)

    changed = await run_job(chain, "burn", (paid_at + timedelta(days=11)).isoformat())
    assert changed == {"notices": 0, "cards_burned": 1, "points_burned": "179.50"}
    assert (await run_job(chain, "burn", (paid_at + timedelta(days=11)).isoformat()))["cards_burned"] == 0
    [burned] = await kafka.read(topics.LOYALTY_BONUS_BURNED, of_chain(chain))
    assert (burned["amount"], burned["balance"]) == ("179.50", "50.00")

    c = await card(chain, card_id)
    assert c["balance"] == "50.00"  # the gift never burns
    assert [t["kind"] for t in c["transactions"]] == ["accrual", "spend", "manual", "manual", "burn"]
    assert [t["reason"] for t in c["transactions"] if t["kind"] == "manual"] == ["birthday gift", "complaint settled"]
    assert balance_of_transactions(c) == Decimal("50.00")


async def test_a_card_is_spent_and_accrues_only_where_its_type_is_valid(chain: Chain, kafka: Kafka) -> None:
    ivy = client("ivy")
    setup = await bonus_setup(chain, ivy, location_ids=[])  # the promotion everywhere, the card type at loc-1
    card_id = setup["card"]["id"]
    await publish(kafka, topics.VISIT_PAID, visit_paid(chain, ivy, "1000"))
    await card_eventually(chain, card_id, lambda c: c["balance"] == "30.00")
    away = visit_paid(chain, ivy, "1000", location_id="loc-2", card=card_id, spent="10")
    await publish(kafka, topics.VISIT_PAID, away)
    [rejected] = await kafka.read(topics.LOYALTY_BONUS_SPEND_REJECTED, of_chain(chain))
    assert (rejected["reason"], rejected["visit_id"], rejected["location_id"]) == (
        "location_not_allowed",
        away["visit_id"],
        "loc-2",
    )
    c = await card(chain, card_id)
    assert c["balance"] == "30.00" and len(c["transactions"]) == 1


async def test_bad_input_is_refused_naming_the_field(chain: Chain) -> None:
    async with chain.client("loyalty") as http:
        bad = {**PROGRAM, "discount_rules": [{"basis": "sold", "from": "5000", "percent": "150"}]}
        r = await http.put("/locations/loc-1/loyalty-program", json=bad)
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "discount_rules.0.percent"
        bad = {**PROGRAM, "discount_rules": [{"basis": "sold", "from": "-5", "percent": "5"}]}
        r = await http.put("/locations/loc-1/loyalty-program", json=bad)
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "discount_rules.0.from"

        card_type = (await http.post("/card-types", json={"name": "Silver"})).json()
        promo = {
            "name": "Cashback",
            "type": "cumulative_cashback_paid",
            "card_type_ids": [card_type["id"]],
            "rules": [{"from": "0", "percent": "3"}, {"from": "0", "percent": "5"}],
        }
        r = await http.post("/promotions", json=promo)
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "rules"
        unknown = str(uuid.uuid4())
        r = await http.post(
            "/promotions", json={**promo, "rules": [{"from": "0", "percent": "3"}], "card_type_ids": [unknown]}
        )
        assert r.status_code == 422 and r.json()["field"] == "card_type_ids"
        r = await http.post("/cards", json={"card_type_id": unknown, "client_id": "cl-1", "number": "X"})
        assert r.status_code == 422 and r.json()["field"] == "card_type_id"

        ok = await http.post("/promotions", json={**promo, "rules": [{"from": "0", "percent": "3"}]})
        assert ok.status_code == 201
        r = await http.patch(f"/promotions/{ok.json()['id']}", json={"rules": [{"from": "0", "percent": "101"}]})
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "rules.0.percent"
        r = await http.patch(f"/promotions/{ok.json()['id']}", json={"max_uses": 2, "name": "Cashback x2"})
        assert r.status_code == 200 and (r.json()["max_uses"], r.json()["name"]) == (2, "Cashback x2")

        body = {"card_type_id": card_type["id"], "client_id": "cl-1", "number": "0001"}
        assert (await http.post("/cards", json=body)).status_code == 201
        r = await http.post("/cards", json={**body, "client_id": "cl-2"})
        assert r.status_code == 409 and r.json()["error"] == "number_taken"
        r = await http.patch(f"/card-types/{card_type['id']}", json={"location_ids": ["loc-9"]})
        assert r.status_code == 200 and r.json() == {
            **card_type,
            "location_ids": ["loc-9"],
            "promotion_ids": [ok.json()["id"]],
        }  # attached above


async def test_a_visit_naming_an_unknown_card_is_dead_lettered_with_the_reason(chain: Chain, kafka: Kafka) -> None:
    hal = client("hal")
    bad = visit_paid(chain, hal, "100", card="NO-SUCH-CARD", spent="10")
    await publish(kafka, topics.VISIT_PAID, bad)
    dead = await kafka.read(
        topics.dlq(topics.VISIT_PAID),
        lambda m: (
            m.get("visit_id") == bad["visit_id"] and m["_headers"].get("x-consumer-group") == "perkstream.loyalty"
        ),
    )
    assert "loyalty_card_id: no loyalty card 'NO-SUCH-CARD'" in dead[0]["_headers"]["x-error"]
