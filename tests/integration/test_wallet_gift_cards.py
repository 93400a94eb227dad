"""Gift cards through the real Kafka and PostgreSQL: types over HTTP, cards issued from `gift_card.sold`
(once per sale, codes unique per chain, no-code cards bound to a phone), paying visits' lines (write-off
single and multiple, each application limit, each validity kind), refunds on `visit.cancelled`. All new
behaviour (the wallet service is new in this change)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain, publish
from tests.integration.proof import until_marker
from tests.integration.wallet_helpers import (
    BEA,
    by_card,
    card_eventually,
    card_sale,
    create_card_type,
    get_card,
    line,
    pay,
    rejected_for,
    sell_card,
    visit,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def code() -> str:
    return f"G-{uuid.uuid4().hex[:8]}"


async def test_a_type_is_created_replaced_archived_and_restored_each_change_published(
    chain: Chain, kafka: Kafka
) -> None:
    t = await create_card_type(chain, validity={"kind": "period", "unit": "month", "count": 6})
    assert t["par_value"] == "10000.00" and t["archived"] is False
    async with chain.client("wallet") as http:
        body = {**{k: t[k] for k in ("name", "write_off", "location_ids", "limits", "validity")}, "par_value": "5000"}
        r = await http.put(f"/gift-card-types/{t['id']}", json=body)
        assert r.status_code == 200 and r.json()["par_value"] == "5000.00", r.text
        assert (await http.post(f"/gift-card-types/{t['id']}/archive")).json()["archived"] is True
        archived = (await http.get("/gift-card-types", params={"archived": "true"})).json()
        assert [a["id"] for a in archived] == [t["id"]]
        assert (await http.post(f"/gift-card-types/{t['id']}/restore")).json()["archived"] is False
        bad = await http.post("/gift-card-types", json={"name": "X", "par_value": "1", "validity": {"kind": "until"}})
        assert bad.status_code == 422 and "until" in bad.text
        assert (await http.get(f"/gift-card-types/{uuid.uuid4()}")).status_code == 404
    [created] = await kafka.read(topics.GIFT_CARD_TYPE_CREATED, of_chain(chain, gift_card_type_id=t["id"]))
    assert created["validity"] == {"kind": "period", "until": None, "unit": "month", "count": 6}
    changes = await kafka.read(topics.GIFT_CARD_TYPE_CHANGED, of_chain(chain, gift_card_type_id=t["id"]), count=3)
    assert [(c["par_value"], c["archived"]) for c in changes] == [
        ("5000.00", False),
        ("5000.00", True),
        ("5000.00", False),
    ]


async def test_a_sold_card_starts_at_its_par_value_once_per_sale_and_its_code_is_the_chains_once(
    chain: Chain, kafka: Kafka
) -> None:
    t = await create_card_type(chain)
    first = card_sale(chain, t["id"], "GIFT-1", price="9000")
    await publish(kafka, topics.GIFT_CARD_SOLD, first)
    card = await card_eventually(chain, "gift-1")  # codes are case-insensitive
    assert (card["balance"], card["price"], card["status"], card["code"]) == ("10000.00", "9000.00", "active", "GIFT-1")
    await publish(kafka, topics.GIFT_CARD_SOLD, {**first, "event_id": f"e-{uuid.uuid4()}"})  # the sale again
    taken = card_sale(chain, t["id"], "gift-1")
    await publish(kafka, topics.GIFT_CARD_SOLD, taken)
    [rejected] = await kafka.read(topics.GIFT_CARD_ISSUE_REJECTED, of_chain(chain, sale_id=taken["sale_id"]))
    assert rejected["reason"] == "code_taken"
    marker = card_sale(chain, t["id"], "GIFT-2")
    await publish(kafka, topics.GIFT_CARD_SOLD, marker)
    issued = await until_marker(
        kafka, topics.GIFT_CARD_ISSUED, of_chain(chain), of_chain(chain, sale_id=marker["sale_id"])
    )
    assert [i["sale_id"] for i in issued] == [first["sale_id"]]
    assert issued[0]["balance"] == "10000.00" and issued[0]["valid_until"] is None


@pytest.mark.parametrize(
    ("change", "sale_fields", "reason"),
    [
        ({"archive": True}, {}, "archived"),
        ({"location_ids": ["loc-9"]}, {}, "wrong_location"),
        ({"online_sale": False}, {"channel": "online"}, "not_sold_online"),
        ({}, {"code": None}, "code_required"),
        ({"allow_without_code": True}, {"code": None, "client": {"id": "cl-x"}}, "phone_required"),
        ({"allow_without_code": True}, {"code": None, "client": {"id": "cl-x", "phone": "12"}}, "phone_invalid"),
    ],
)
async def test_a_sale_the_type_does_not_allow_issues_nothing_with_the_reason(
    chain: Chain, kafka: Kafka, change: dict[str, Any], sale_fields: dict[str, Any], reason: str
) -> None:
    archive = change.get("archive", False)
    t = await create_card_type(chain, **{k: v for k, v in change.items() if k != "archive"})
    if archive:
        async with chain.client("wallet") as http:
            assert (await http.post(f"/gift-card-types/{t['id']}/archive")).status_code == 200
    sale = {**card_sale(chain, t["id"], code()), **sale_fields}
    await publish(kafka, topics.GIFT_CARD_SOLD, sale)
    [rejected] = await kafka.read(topics.GIFT_CARD_ISSUE_REJECTED, of_chain(chain, sale_id=sale["sale_id"]))
    assert rejected["reason"] == reason
    unknown = card_sale(chain, str(uuid.uuid4()), code())
    await publish(kafka, topics.GIFT_CARD_SOLD, unknown)
    [rejected] = await kafka.read(topics.GIFT_CARD_ISSUE_REJECTED, of_chain(chain, sale_id=unknown["sale_id"]))
    assert rejected["reason"] == "type_not_found"


async def test_auto_codes_and_a_no_code_card_bound_to_the_holders_phone(chain: Chain, kafka: Kafka) -> None:
    t = await create_card_type(chain, allow_without_code=True)
    auto = card_sale(chain, t["id"], "auto")
    no_code = card_sale(chain, t["id"], None, holder=BEA)
    for sale in (auto, no_code):
        await publish(kafka, topics.GIFT_CARD_SOLD, sale)
    [a] = await kafka.read(topics.GIFT_CARD_ISSUED, of_chain(chain, sale_id=auto["sale_id"]))
    [n] = await kafka.read(topics.GIFT_CARD_ISSUED, of_chain(chain, sale_id=no_code["sale_id"]))
    assert a["code"] and a["code"] != "auto" and (await get_card(chain, a["code"])) is not None
    assert n["code"] is None and n["holder"]["id"] == BEA["id"]
    by_id = {"instrument": "gift_card", "gift_card": {"id": n["gift_card_id"]}, "amount": "100"}
    anna = await pay(kafka, visit(chain, line(payments=[by_id])))
    assert (await rejected_for(kafka, chain, anna["visit_id"]))["rejected"][0]["reason"] == "phone_mismatch"
    await pay(kafka, visit(chain, line(payments=[by_id]), client={**BEA, "phone": "+36 20 765 4321"}))
    await card_eventually(chain, n["gift_card_id"], lambda c: c["balance"] == "9900.00")


async def test_a_multiple_card_pays_until_zero_and_a_single_card_is_spent_whole_on_first_use(
    chain: Chain, kafka: Kafka
) -> None:
    multiple, single = code(), code()
    await sell_card(chain, kafka, (await create_card_type(chain))["id"], multiple)
    await sell_card(chain, kafka, (await create_card_type(chain, write_off="single"))["id"], single)
    await pay(kafka, visit(chain, line(paid="4000", payments=[by_card(multiple, "4000")])))
    await card_eventually(chain, multiple, lambda c: c["balance"] == "6000.00")
    too_much = await pay(kafka, visit(chain, line(paid="7000", payments=[by_card(multiple, "7000")])))
    assert (await rejected_for(kafka, chain, too_much["visit_id"]))["rejected"][0]["reason"] == "insufficient_balance"
    await pay(kafka, visit(chain, line(paid="6000", payments=[by_card(multiple, "6000")])))
    await card_eventually(chain, multiple, lambda c: (c["balance"], c["status"]) == ("0.00", "spent"))

    first = await pay(kafka, visit(chain, line(paid="500", payments=[by_card(single, "500")])))
    [charged] = await kafka.read(topics.GIFT_CARD_CHARGED, of_chain(chain, visit_id=first["visit_id"]))
    assert (charged["amount"], charged["balance"], charged["status"]) == ("10000.00", "0.00", "spent")
    again = await pay(kafka, visit(chain, line(paid="500", payments=[by_card(single, "500")])))
    assert (await rejected_for(kafka, chain, again["visit_id"]))["rejected"][0]["reason"] == "spent"
    async with chain.client("wallet") as http:
        history = (await http.get(f"/gift-cards/{multiple}/history")).json()
    assert [(h["kind"], h["amount"], h["balance"]) for h in history] == [
        ("issue", "10000.00", "10000.00"),
        ("charge", "-4000.00", "6000.00"),
        ("charge", "-6000.00", "0.00"),
    ]


LINES = [
    line("service", "svc-massage", "100"),  # named by id
    {**line("service", "svc-hair", "100"), "category_id": "cat-hair"},  # named by its category
    {**line("service", "svc-nails", "100"), "category_id": "cat-nails"},  # not named
    {**line("product", "prod-oil", "100"), "category_id": None},
]


@pytest.mark.parametrize(
    ("applies_to", "taken"),
    [
        ("any", [0, 1, 2, 3]),
        ("services", [0, 1, 2]),
        ("products", [3]),
        ("some_services_and_products", [0, 1, 3]),
        ("some_services", [0, 1]),
    ],
)
async def test_each_application_limit_pays_the_lines_it_names(
    chain: Chain, kafka: Kafka, applies_to: str, taken: list[int]
) -> None:
    limits = {"applies_to": applies_to, "service_ids": ["svc-massage"], "category_ids": ["cat-hair"]}
    c = code()
    await sell_card(chain, kafka, (await create_card_type(chain, limits=limits))["id"], c)
    v = await pay(
        kafka, visit(chain, *[{**ln, "payments": [by_card(c, "100")]} for ln in LINES], partial_payments=True)
    )
    if len(taken) < len(LINES):
        r = await rejected_for(kafka, chain, v["visit_id"])
        assert [t["line"] for t in r["taken"]] == taken
        assert {x["line"]: x["reason"] for x in r["rejected"]} == {
            i: "not_applicable" for i in range(len(LINES)) if i not in taken
        }
    left = f"{10000 - 100 * len(taken)}.00"
    await card_eventually(chain, c, lambda card: card["balance"] == left)


async def test_each_validity_kind_is_checked_at_the_visit(chain: Chain, kafka: Kafka) -> None:
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    cases: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
        "until": ({"kind": "until", "until": yesterday}, {}),
        "period": ({"kind": "period", "unit": "day", "count": 1}, {"occurred_at": two_days_ago}),
        "unlimited": ({"kind": "unlimited"}, {"occurred_at": two_days_ago}),
        "year": ({"kind": "period", "unit": "year", "count": 1}, {}),
    }
    codes = {}
    for name, (validity, sale_fields) in cases.items():
        codes[name] = code()
        t = await create_card_type(chain, validity=validity)
        await publish(kafka, topics.GIFT_CARD_SOLD, card_sale(chain, t["id"], codes[name], **sale_fields))
        await card_eventually(chain, codes[name])
    year = await get_card(chain, codes["year"])
    assert year is not None and year["valid_until"][:4] == str(int(year["sold_at"][:4]) + 1)
    v = await pay(
        kafka,
        visit(chain, *[line(paid="10", payments=[by_card(c, "10")]) for c in codes.values()], partial_payments=True),
    )
    r = await rejected_for(kafka, chain, v["visit_id"])
    assert {x["code"]: x["reason"] for x in r["rejected"]} == {codes["until"]: "expired", codes["period"]: "expired"}
    assert sorted(t["code"] for t in r["taken"]) == sorted([codes["unlimited"], codes["year"]])


def cancelled(chain: Chain, v: dict[str, Any]) -> dict[str, Any]:
    at = v["occurred_at"]
    return chain.event(visit_id=v["visit_id"], client=v["client"], scheduled_at=at, services=[], cancelled_at=at)


async def test_a_cancelled_visit_gives_back_what_its_cards_paid_once(chain: Chain, kafka: Kafka) -> None:
    multiple, single = code(), code()
    await sell_card(chain, kafka, (await create_card_type(chain))["id"], multiple)
    await sell_card(chain, kafka, (await create_card_type(chain, write_off="single"))["id"], single)
    v = await pay(kafka, visit(chain, line(paid="3000", payments=[by_card(multiple, "2500"), by_card(single, "500")])))
    w = await pay(kafka, visit(chain, line(paid="100", payments=[by_card(multiple, "100")])))
    await card_eventually(chain, single, lambda c: c["status"] == "spent")
    await card_eventually(chain, multiple, lambda c: c["balance"] == "7400.00")
    once = cancelled(chain, v)
    await publish(kafka, topics.VISIT_CANCELLED, once)
    await publish(kafka, topics.VISIT_CANCELLED, {**once, "event_id": f"e-{uuid.uuid4()}"})  # again
    await publish(kafka, topics.VISIT_CANCELLED, cancelled(chain, w))  # the marker, on the same key
    back = await until_marker(
        kafka,
        topics.GIFT_CARD_REFUNDED,
        of_chain(chain, visit_id=v["visit_id"]),
        of_chain(chain, visit_id=w["visit_id"]),
    )
    assert sorted((b["code"], b["amount"], b["status"]) for b in back) == sorted(
        [(multiple, "2500.00", "active"), (single, "10000.00", "active")]
    )
    assert (await get_card(chain, single))["balance"] == "10000.00"  # type: ignore[index]
    assert (await get_card(chain, multiple))["balance"] == "10000.00"  # type: ignore[index]


async def test_an_administrator_edits_a_cards_balance_and_validity_with_the_reason_in_its_history(
    chain: Chain, kafka: Kafka
) -> None:
    c = code()
    await sell_card(chain, kafka, (await create_card_type(chain, write_off="single"))["id"], c)
    v = await pay(kafka, visit(chain, line(paid="10", payments=[by_card(c, "10")])))
    await card_eventually(chain, c, lambda card: card["status"] == "spent")
    until = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    async with chain.client("wallet") as http:
        edit = {"balance": "2500", "valid_until": until.isoformat(), "reason": "goodwill"}
        r = await http.patch(f"/gift-cards/{c}", json=edit, headers={"X-User": "eva"})
        assert r.status_code == 200, r.text
        assert (r.json()["balance"], r.json()["status"]) == ("2500.00", "active")
        assert (
            await http.patch(f"/gift-cards/{c}", json={"reason": "x"}, headers={"X-User": "eva"})
        ).status_code == 422
        history = (await http.get(f"/gift-cards/{c}/history")).json()
    assert [(h["kind"], h["amount"], h["balance"], h["source"]) for h in history][-1] == (
        "adjust", "2500.00", "2500.00", "user:eva"
    )  # fmt: skip
    assert history[-1]["detail"]["reason"] == "goodwill"
    [adjusted] = await kafka.read(topics.GIFT_CARD_ADJUSTED, of_chain(chain, code=c))
    assert (adjusted["balance_before"], adjusted["balance_after"], adjusted["user"]) == ("0.00", "2500.00", "eva")
    assert adjusted["valid_until_before"] is None and adjusted["valid_until_after"].startswith(until.date().isoformat())
    again = await pay(kafka, visit(chain, line(paid="10", payments=[by_card(c, "10")])))
    [charged] = await kafka.read(topics.GIFT_CARD_CHARGED, of_chain(chain, visit_id=again["visit_id"]))
    assert (charged["amount"], charged["status"]) == ("2500.00", "spent") and v["visit_id"] != again["visit_id"]
