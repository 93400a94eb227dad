"""The referral program through real Kafka and PostgreSQL: a referral recorded by code (the API) or named
on the invitee's first visit, the discount offered on the first paid visit only, once per invitee, never
self-referral (id or phone), never a client who already visited, the referrer paid once (a replayed visit
too), the referrer's notice, and the referrals report."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, eventually, of_chain, publish
from tests.integration.loyalty_helpers import (
    bonus_setup,
    card,
    card_eventually,
    client,
    create,
    loyalty_eventually,
    visit_paid,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


SETTING = {"enabled": True, "invitee_discount_percent": "10", "referrer_cashback": "500"}


async def program(chain: Chain, **fields: Any) -> dict[str, Any]:
    """A "Friends" card type and the chain's referral program on it: 10% for the invitee, 500 points."""
    friends = await create(chain, "/card-types", {"name": "Friends card", "location_ids": []})
    body = {**SETTING, "card_type_id": friends["id"]}
    async with chain.client("loyalty") as http:
        r = await http.put("/referral-program", json={**body, **fields})
    assert r.status_code == 200, r.text
    return {**r.json(), "card_type": friends}


async def friends_card(chain: Chain, who: dict[str, Any], card_type_id: str, number: str) -> dict[str, Any]:
    return await create(
        chain, "/cards", {"card_type_id": card_type_id, "client_id": who["id"], "phone": who["phone"], "number": number}
    )


async def code_of(chain: Chain, who: dict[str, Any]) -> str:
    async with chain.client("loyalty") as http:
        r = await http.get(f"/clients/{who['id']}/referral-code")
    assert r.status_code == 200, r.text
    return str(r.json()["code"])


async def refer(chain: Chain, invitee: dict[str, Any], **referrer: str) -> Any:
    async with chain.client("loyalty") as http:
        return await http.post(
            "/referrals", json={"invitee": {"id": invitee["id"], "phone": invitee["phone"]}, "referrer": referrer}
        )


async def referral(chain: Chain, invitee_id: str) -> dict[str, Any] | None:
    """The invitee's row of the referrals report (None: no referral recorded)."""
    async with chain.client("loyalty") as http:
        r = await http.get("/reports/referrals")
    assert r.status_code == 200, r.text
    return next((row for row in r.json() if row["invitee_id"] == invitee_id), None)


async def offer(chain: Chain, client_id: str) -> dict[str, Any]:
    async with chain.client("loyalty") as http:
        r = await http.get(f"/clients/{client_id}/referral-offer")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def settled(chain: Chain, invitee_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        return await referral(chain, invitee_id) or {}

    return await eventually(probe, lambda r: r.get("reward_status") not in (None, "pending"), what="referral settled")


async def test_a_referral_by_code_pays_the_referrer_once_on_the_invitees_first_paid_visit(
    chain: Chain, kafka: Kafka
) -> None:
    setting = await program(chain)
    anna, bea = client("anna"), client("bea")
    friends = await friends_card(chain, anna, setting["card_type"]["id"], "F-1")
    code = await code_of(chain, anna)
    assert await code_of(chain, anna) == code  # stable

    r = await refer(chain, bea, code=code.lower())  # read out and typed in lower case
    assert r.status_code == 201, r.text
    assert (r.json()["referrer_id"], r.json()["source"], r.json()["reward_status"]) == (anna["id"], "api", "pending")
    assert await offer(chain, bea["id"]) | {"reason": ""} == {
        "client_id": bea["id"],
        "percent": "10.00",
        "code": "first_visit_referral",
        "reason": "",
    }

    first = visit_paid(chain, bea, "1000", "900")
    await publish(kafka, topics.VISIT_PAID, first)
    done = await settled(chain, bea["id"])
    assert (done["reward_status"], done["first_visit_id"]) == ("rewarded", first["visit_id"])
    paid = await card(chain, friends["id"])
    assert paid["balance"] == "500.00"
    assert [(t["kind"], t["amount"], t["visit_id"], t["reason"]) for t in paid["transactions"]] == [
        ("accrual", "500.00", first["visit_id"], "referral")
    ]
    assert (await offer(chain, bea["id"]))["code"] == "not_first_visit"  # the first paid visit only

    # The first visit again (as redelivered, and re-sent under a new event id), then a second visit: the
    # referrer is paid once. The marker: bea's own card accrues cashback on the second visit.
    marker = await bonus_setup(chain, bea, number="B-1")
    await publish(kafka, topics.VISIT_PAID, first)
    await publish(kafka, topics.VISIT_PAID, {**first, "event_id": first["event_id"] + "-again"})
    second = visit_paid(chain, bea, "2000")
    await publish(kafka, topics.VISIT_PAID, second)
    await card_eventually(chain, marker["card"]["id"], lambda c: c["balance"] == "60.00")  # 3% of 2,000
    again = await card(chain, friends["id"])
    assert (again["balance"], len(again["transactions"])) == ("500.00", 1)
    assert (await referral(chain, bea["id"]) or {})["first_visit_id"] == first["visit_id"]

    rewarded = await kafka.read_to_end(topics.LOYALTY_REFERRAL_REWARDED, of_chain(chain))
    assert len(rewarded) == 1
    e = rewarded[0]
    assert (e["referrer"]["id"], e["invitee"]["id"], e["amount"], e["balance"], e["card_number"], e["visit_id"]) == (
        anna["id"],
        bea["id"],
        "500.00",
        "500.00",
        "F-1",
        first["visit_id"],
    )

    [sms] = await kafka.read(
        topics.NOTIFICATION_SMS, lambda m: of_chain(chain)(m) and m["type"] == "loyalty.referral_rewarded"
    )
    assert (sms["to"], sms["client_id"], sms["source_event_id"]) == (anna["phone"], anna["id"], e["event_id"])
    assert "500 bonus points added to card F-1" in sms["text"] and bea["name"] not in sms["text"]


async def test_a_referral_named_on_the_first_visit_is_recorded_and_paid_by_that_visit(
    chain: Chain, kafka: Kafka
) -> None:
    setting = await program(chain)
    anna, cleo, dora = client("anna"), client("cleo"), client("dora")
    friends = await friends_card(chain, anna, setting["card_type"]["id"], "F-2")
    code = await code_of(chain, anna)
    first = visit_paid(chain, cleo, "800", referral={"code": code})
    await publish(kafka, topics.VISIT_PAID, first)
    done = await settled(chain, cleo["id"])
    assert (done["referrer_id"], done["source"], done["reward_status"], done["first_visit_id"]) == (
        anna["id"],
        "visit",
        "rewarded",
        first["visit_id"],
    )
    await card_eventually(chain, friends["id"], lambda c: c["balance"] == "500.00")

    by_id = visit_paid(chain, dora, "800", referral={"referrer_client_id": anna["id"]})
    await publish(kafka, topics.VISIT_PAID, by_id)
    assert (await settled(chain, dora["id"]))["reward_status"] == "rewarded"
    await card_eventually(chain, friends["id"], lambda c: c["balance"] == "1000.00")


async def test_once_per_invitee_the_first_recorded_referrer_wins(chain: Chain, kafka: Kafka) -> None:
    setting = await program(chain)
    anna, bea, eve = client("anna"), client("bea"), client("eve")
    anna_card = await friends_card(chain, anna, setting["card_type"]["id"], "F-3")
    eve_card = await friends_card(chain, eve, setting["card_type"]["id"], "F-4")
    assert (await refer(chain, bea, client_id=anna["id"])).status_code == 201
    late = await refer(chain, bea, code=await code_of(chain, eve))
    assert (late.status_code, late.json()["error"], late.json()["field"]) == (409, "already_referred", "invitee.id")

    first = visit_paid(chain, bea, "1000", referral={"referrer_client_id": eve["id"]})  # names eve: refused
    await publish(kafka, topics.VISIT_PAID, first)
    done = await settled(chain, bea["id"])
    assert (done["referrer_id"], done["source"]) == (anna["id"], "api")
    await card_eventually(chain, anna_card["id"], lambda c: c["balance"] == "500.00")
    assert (await card(chain, eve_card["id"]))["balance"] == "0.00"


async def test_no_self_referral_by_id_or_phone(chain: Chain, kafka: Kafka) -> None:
    await program(chain)
    anna = client("anna")
    same = await refer(chain, anna, client_id=anna["id"])
    assert (same.status_code, same.json()["error"]) == (409, "self_referral")
    # Her second profile with her number written another way (national form): the same E.164 phone.
    twin = {"id": "cl-anna-2", "phone": "06" + anna["phone"][3:]}
    await publish(kafka, topics.VISIT_PAID, visit_paid(chain, anna, "100"))  # loyalty learns her phone
    await loyalty_eventually(chain, anna["id"], lambda s: s["sold"] == "100.00", location_id=None)
    by_phone = await refer(chain, twin, code=await code_of(chain, anna))
    assert (by_phone.status_code, by_phone.json()["error"], by_phone.json()["field"]) == (
        409,
        "self_referral",
        "referrer",
    )

    # Named on the visit: not recorded. The marker: the visit itself counted in her statistics.
    fay = client("fay")
    await publish(kafka, topics.VISIT_PAID, visit_paid(chain, fay, "300", referral={"referrer_client_id": fay["id"]}))
    await loyalty_eventually(chain, fay["id"], lambda s: s["sold"] == "300.00", location_id=None)
    assert await referral(chain, fay["id"]) is None
    assert (await offer(chain, fay["id"]))["code"] == "no_referral"


async def test_never_a_client_who_already_visited(chain: Chain, kafka: Kafka) -> None:
    await program(chain)
    anna, gia = client("anna"), client("gia")
    await publish(kafka, topics.VISIT_PAID, visit_paid(chain, gia, "400"))
    await loyalty_eventually(chain, gia["id"], lambda s: s["sold"] == "400.00", location_id=None)
    r = await refer(chain, gia, client_id=anna["id"])
    assert (r.status_code, r.json()["error"]) == (409, "already_a_client")

    second = visit_paid(chain, gia, "600", referral={"referrer_client_id": anna["id"]})
    await publish(kafka, topics.VISIT_PAID, second)
    await loyalty_eventually(chain, gia["id"], lambda s: s["sold"] == "1000.00", location_id=None)  # marker
    assert await referral(chain, gia["id"]) is None


async def test_a_referrer_without_a_card_of_the_type_is_reported_no_card_and_the_report_lists_referrals(
    chain: Chain, kafka: Kafka
) -> None:
    await program(chain)
    anna, hal, ida = client("anna"), client("hal"), client("ida")
    assert (await refer(chain, hal, client_id=anna["id"])).status_code == 201
    first = visit_paid(chain, hal, "1000")
    await publish(kafka, topics.VISIT_PAID, first)
    assert (await settled(chain, hal["id"]))["reward_status"] == "no_card"
    assert (await refer(chain, ida, client_id=anna["id"])).status_code == 201  # pending

    async with chain.client("loyalty") as http:
        rows = (await http.get("/reports/referrals", params={"from": "2020-01-01"})).json()
        as_csv = await http.get("/reports/referrals", params={"format": "csv"})
        empty = (await http.get("/reports/referrals", params={"to": "2020-01-01"})).json()
    assert [
        (r["referrer_id"], r["invitee_id"], r["source"], r["first_visit_id"], r["reward_status"], r["reward_amount"])
        for r in rows
    ] == [
        (anna["id"], hal["id"], "api", first["visit_id"], "no_card", None),
        (anna["id"], ida["id"], "api", None, "pending", None),
    ]
    assert empty == []
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(t["invitee_id"], t["reward_status"]) for t in table] == [(hal["id"], "no_card"), (ida["id"], "pending")]
    assert await kafka.read_to_end(topics.LOYALTY_REFERRAL_REWARDED, of_chain(chain)) == []


async def test_a_program_off_refuses_and_offers_nothing_and_bad_settings_name_the_field(chain: Chain) -> None:
    anna, bea = client("anna"), client("bea")
    assert (await offer(chain, bea["id"]))["code"] == "program_disabled"  # none set
    async with chain.client("loyalty") as http:
        assert (await http.get("/referral-program")).status_code == 404
    setting = await program(chain, enabled=False)
    r = await refer(chain, bea, client_id=anna["id"])
    assert (r.status_code, r.json()["error"]) == (409, "program_disabled")
    assert (await offer(chain, bea["id"]))["code"] == "program_disabled"
    unknown = await refer(chain, bea, code="NOPE1234")
    assert (unknown.status_code, unknown.json()["error"]) == (409, "program_disabled")
    await program(chain)
    unknown = await refer(chain, bea, code="NOPE1234")
    assert (unknown.status_code, unknown.json()["error"], unknown.json()["field"]) == (
        409,
        "unknown_code",
        "referrer.code",
    )

    body = {**SETTING, "card_type_id": setting["card_type_id"]}
    async with chain.client("loyalty") as http:
        for bad, field in (
            ({"invitee_discount_percent": "0"}, "invitee_discount_percent"),
            ({"invitee_discount_percent": "100.01"}, "invitee_discount_percent"),
            ({"referrer_cashback": "-1"}, "referrer_cashback"),
            ({"card_type_id": "8a3f1b52-6c4d-4e7f-8a9b-0c1d2e3f4a5b"}, "card_type_id"),
        ):
            r = await http.put("/referral-program", json={**body, **bad})
            named = r.json().get("field") or next(f["field"] for f in r.json()["fields"])
            assert (r.status_code, named) == (422, field), (bad, r.text)
        both = await http.post("/referrals", json={"invitee": {"id": "x"}, "referrer": {"client_id": "a", "code": "B"}})
        assert both.status_code == 422, both.text
        got = (await http.get("/referral-program")).json()
    assert (got["enabled"], got["invitee_discount_percent"], got["referrer_cashback"]) == (True, "10.00", "500.00")


def with_referral_discount(event: dict[str, Any], percent: str, amount: str) -> dict[str, Any]:
    """The visit's line as the booking system applied the quote's referral discount to it."""
    [line] = event["lines"]
    line["discount"] = {"source": "referral", "percent": percent, "amount": amount}
    return event


async def test_a_referral_discount_a_visit_applied_stands_on_the_invitees_first_paid_visit_only(
    chain: Chain, kafka: Kafka
) -> None:
    await program(chain)
    anna, jan, kim, lea = client("anna"), client("jan"), client("kim"), client("lea")
    assert (await refer(chain, jan, client_id=anna["id"])).status_code == 201
    first = with_referral_discount(visit_paid(chain, jan, "1000", "900"), "10", "100")
    await publish(kafka, topics.VISIT_PAID, first)
    await settled(chain, jan["id"])
    second = with_referral_discount(visit_paid(chain, jan, "1000", "900"), "10", "100")  # not her first
    await publish(kafka, topics.VISIT_PAID, second)
    # Named on the visit itself: its discount stands; a client never referred: none.
    named = with_referral_discount(
        visit_paid(chain, kim, "500", "450", referral={"referrer_client_id": anna["id"]}), "10", "50"
    )
    await publish(kafka, topics.VISIT_PAID, named)
    nobody = with_referral_discount(visit_paid(chain, lea, "500", "450"), "10", "50")
    await publish(kafka, topics.VISIT_PAID, nobody)
    greedy = with_referral_discount(
        visit_paid(chain, client("max"), "500", "400", referral={"referrer_client_id": anna["id"]}), "20", "100"
    )
    await publish(kafka, topics.VISIT_PAID, greedy)

    applied = await kafka.read(topics.LOYALTY_DISCOUNT_APPLIED, of_chain(chain), count=2, settle=1)
    assert sorted((a["visit_id"], a["lines"][0]["source"]) for a in applied) == sorted(
        [(first["visit_id"], "referral"), (named["visit_id"], "referral")]
    )
    refused = await kafka.read(topics.LOYALTY_DISCOUNT_REFUSED, of_chain(chain), count=3, settle=1)
    assert sorted((r["visit_id"], r["lines"][0]["source"], r["lines"][0]["reason"]) for r in refused) == sorted(
        [
            (second["visit_id"], "referral", "not_first_visit"),
            (nobody["visit_id"], "referral", "no_referral"),
            (greedy["visit_id"], "referral", "percent_exceeds_offer"),
        ]
    )


async def test_the_offer_for_a_referral_the_visit_will_name_is_what_the_payment_accepts(chain: Chain) -> None:
    await program(chain)
    anna, nia = client("anna"), client("nia")
    code = await code_of(chain, anna)
    async with chain.client("loyalty") as http:

        async def named(who: dict[str, Any], **params: str) -> str:
            r = await http.get(f"/clients/{who['id']}/referral-offer", params=params)
            assert r.status_code == 200, r.text
            return str(r.json()["code"])

        assert await named(nia, code=code.lower()) == "first_visit_referral"
        assert await named(nia, referrer_client_id=anna["id"]) == "first_visit_referral"
        assert await named(nia) == "no_referral"
        # A referral the visit would name but a rule refuses is not recorded: the offer says which rule.
        assert await named(anna, code=code) == "self_referral"  # her own code
        assert await named(nia, code="NOPE1234") == "unknown_code"
        both = await http.get(f"/clients/{nia['id']}/referral-offer", params={"code": code, "referrer_client_id": "x"})
        assert both.status_code == 422, both.text
