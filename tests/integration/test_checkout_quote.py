"""The checkout quote (issue 18, point 3) through the real stack: the gateway's POST .../checkout/quote asks
memberships, loyalty and the wallet for their parts and composes them. Each reason code of each part, a part
that is down or late (reported, never a 500), and another chain's data never visible."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from deploy import local
from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, eventually, new_chain, publish
from tests.integration.helpers import ANNA, create_type, membership_eventually, paid_visit, sale, sell
from tests.integration.loyalty_helpers import PROGRAM, bonus_setup, create, loyalty_eventually, put_program
from tests.integration.loyalty_helpers import visit_paid as loyalty_visit
from tests.integration.proof import metric
from tests.integration.wallet_helpers import (
    by_card,
    card_eventually,
    card_sale,
    create_card_type,
    deposit,
    pay,
    sell_card,
    visit,
)
from tests.integration.wallet_helpers import line as wallet_line

D = Decimal
MASSAGE = {"service_id": "svc-massage", "category_id": "cat-body"}


def line(kind: str = "service", item_id: str = "svc-massage", sold: str = "1000", **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "item_id": item_id, "category_id": "cat-body", "quantity": 1, "sold": sold, **fields}


def quote_body(*lines: dict[str, Any], client: dict[str, Any] = ANNA, **fields: Any) -> dict[str, Any]:
    return {"location_id": "loc-1", "client": client, "lines": list(lines), **fields}


async def quote(gateway: str, chain: Chain, body: dict[str, Any], key: str | None = "default") -> httpx.Response:
    headers = {"Authorization": f"Bearer {chain.key if key == 'default' else key}"} if key else {}
    async with httpx.AsyncClient(base_url=f"{gateway}/v1/chains/{chain.id}", headers=headers, timeout=20) as http:
        return await http.post("/checkout/quote", json=body)


async def quoted(gateway: str, chain: Chain, body: dict[str, Any]) -> dict[str, Any]:
    r = await quote(gateway, chain, body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def options(membership_line: dict[str, Any]) -> dict[str, str]:
    """The line's other memberships: code -> reason code (a no-code one under "<no code>")."""
    return {o["code_ref"] or "<no code>": o["code"] for o in membership_line["options"]}


async def test_the_memberships_part_names_the_one_that_pays_each_service_line_and_why_each_other_cannot(
    chain: Chain, kafka: Kafka, gateway: str
) -> None:
    def kind(name: str, **fields: Any) -> Any:
        return create_type(chain, name=f"{name} {uuid.uuid4().hex[:6]}", **fields)

    soon = await kind("Soon", validity={"period": 1, "unit": "month", "counted_from": "sale"})
    later = await kind("Later")  # 3 months from its first visit: unused, it would run from the visit
    day = await kind("Day", validity={"period": 1, "unit": "day", "counted_from": "sale"})
    nails = await kind("Nails", services=[{"service_id": "svc-nails", "category_id": "cat-hands", "visits": 5}])
    far = await kind("Far", location_ids=["loc-9"])
    once = await kind("Once", services=[{**MASSAGE, "visits": 1}])
    no_code = await kind("Phone", allow_without_code=True)
    # A no-code membership bought with another phone (under Anna's client id): first on her partition, so
    # the sales read back below were applied after it.
    await publish(kafka, topics.MEMBERSHIP_SOLD, sale(chain, no_code["id"], None, {**ANNA, "phone": "+36209999999"}))
    suffix = uuid.uuid4().hex[:6].upper()
    codes = {name: f"{name}-{suffix}" for name in ("SOON", "LATER", "FROZEN", "DAY", "NAILS", "FAR", "ONCE")}
    for name, t in (("SOON", soon), ("LATER", later), ("FROZEN", later), ("DAY", day), ("NAILS", nails),
                    ("FAR", far), ("ONCE", once)):  # fmt: skip
        await sell(chain, kafka, t["id"], codes[name], location_id="loc-9" if name == "FAR" else "loc-1")
    await publish(kafka, topics.VISIT_PAID, paid_visit(chain, codes["ONCE"]))
    await membership_eventually(chain, codes["ONCE"], lambda m: m["status"] == "exhausted")
    async with chain.client("memberships") as http:
        r = await http.post(
            f"/memberships/{codes['FROZEN']}/freeze",
            json={"from": datetime.now(UTC).date().isoformat(), "days": 7},
            headers={"X-User": "desk"},
        )
    assert r.status_code == 200, r.text

    # Two days on: the one-day membership has expired, the frozen one is still frozen.
    body = quote_body(
        line(),  # none named: the eligible one that expires soonest
        line("product", "prod-oil", "400"),
        line(membership={"code": "NOPE-1"}),
        line(membership={"code": codes["LATER"]}),  # named: that one
        line(item_id="svc-hair"),  # no membership of hers covers it
        occurred_at=(datetime.now(UTC) + timedelta(days=2)).isoformat(),
    )
    q = await quoted(gateway, chain, body)
    assert q["memberships"]["available"] is True
    first, product, unknown, named, hair = (x["membership"] for x in q["lines"])
    assert first["covered"] and first["code"] == "chosen" and first["chosen"]["code_ref"] == codes["SOON"]
    assert "expires soonest" in first["chosen"]["reason"]
    assert options(first) == {
        codes["LATER"]: "usable",
        codes["FROZEN"]: "frozen",
        codes["DAY"]: "expired",
        codes["NAILS"]: "service_not_included",
        codes["FAR"]: "location_not_allowed",
        codes["ONCE"]: "exhausted",
        "<no code>": "phone_mismatch",
    }
    assert all(o["reason"] for o in first["options"])
    assert product == {"code": "not_a_service", "reason": product["reason"]}
    assert not unknown["covered"] and unknown["code"] == "unknown_code"
    assert named["covered"] and named["chosen"]["code_ref"] == codes["LATER"] and "names it" in named["reason"]
    assert not hair["covered"] and hair["code"] == "none_eligible"
    totals = q["totals"]
    assert D(totals["sold"]["amount"]) == D("4400")
    assert D(totals["membership_covered"]["amount"]) == D("2000")
    assert D(totals["after_discounts"]["amount"]) == D("2400")
    assert all(v["code"] and v["reason"] for v in totals.values())
    # The quote changed nothing: both memberships still have all their visits.
    for code in (codes["SOON"], codes["LATER"]):
        assert (await membership_eventually(chain, code, lambda m: True))["visits_left"] == 10

    # The visits one line would take are not there for the next: ten of ten, then none left.
    twice = quote_body(line(membership={"code": codes["SOON"]}), line(membership={"code": codes["SOON"]}))
    twice["lines"][0]["quantity"] = 10
    q = await quoted(gateway, chain, twice)
    assert [x["membership"]["code"] for x in q["lines"]] == ["chosen", "exhausted"]


async def test_the_loyalty_part_gives_the_personal_discount_the_points_and_the_cashback_the_visit_would_earn(
    chain: Chain, kafka: Kafka, gateway: str
) -> None:
    await put_program(chain, PROGRAM)  # 5% from 5,000 sold
    setup = await bonus_setup(chain, ANNA, number=f"C-{uuid.uuid4().hex[:6]}")  # 3% of what is paid
    elsewhere = await create(chain, "/card-types", {"name": "Loc 9 card", "location_ids": ["loc-9"]})
    other = await create(
        chain,
        "/cards",
        {"card_type_id": elsewhere["id"], "client_id": ANNA["id"], "phone": ANNA["phone"], "number": "L9-1"},
    )
    await publish(kafka, topics.VISIT_PAID, loyalty_visit(chain, ANNA, "6000"))
    await loyalty_eventually(chain, ANNA["id"], lambda s: D(s["discount_percent"]) == D("5"))

    body = quote_body(
        line(item_id="svc-hair"),
        line("product", "prod-oil", "400"),
        line("membership", "type-1", "8000"),
    )
    q = await eventually(
        lambda: quoted(gateway, chain, body),
        lambda q: q["loyalty"].get("points_available", {}).get("amount") == "180.00",
        what="the first visit's cashback on the card",
    )
    part = q["loyalty"]
    assert part["personal_discount"]["code"] == "program" and D(part["personal_discount"]["percent"]) == D("5")
    hair, oil, membership = (x["discount"] for x in q["lines"])
    assert (hair["code"], D(hair["amount"]), hair["chosen"]["source"]) == ("personal_discount", D("50"), "personal")
    assert D(oil["amount"]) == D("20")
    assert membership["code"] == "not_discounted" and D(membership["amount"]) == 0
    cards = {c["number"]: c for c in part["cards"]}
    assert cards[setup["card"]["number"]]["code"] == "spendable"
    assert cards[other["number"]]["code"] == "location_not_allowed"
    assert part["points_available"]["code"] == "card_balance"
    # 3% of what would be paid: 950 + 380 + 8,000 (a membership sold counts), on the loc-1 card only.
    [cashback] = part["cashback"]
    assert (cashback["number"], D(cashback["amount"])) == (setup["card"]["number"], D("279.90"))
    totals = q["totals"]
    assert D(totals["discount"]["amount"]) == D("70") and D(totals["after_discounts"]["amount"]) == D("9330")
    assert D(totals["points_available"]["amount"]) == D("180")

    unknown = await quoted(gateway, chain, {**body, "loyalty_card_id": "NO-SUCH-CARD"})
    assert unknown["loyalty"]["points_available"]["code"] == "unknown_card"
    assert unknown["loyalty"]["cashback"] == []

    stranger = await quoted(gateway, chain, quote_body(line(item_id="svc-hair"), client={"id": "cl-new"}))
    assert stranger["lines"][0]["discount"]["code"] == "no_discount"
    assert stranger["loyalty"]["personal_discount"]["code"] == "no_rule_reached"
    assert stranger["loyalty"]["cashback_total"]["code"] == "no_cashback"


async def test_the_loyalty_part_says_a_discount_set_by_hand_a_location_without_a_program_and_a_card_without_points(
    chain: Chain, gateway: str
) -> None:
    await put_program(chain, PROGRAM)
    await bonus_setup(chain, ANNA, number=f"Z-{uuid.uuid4().hex[:6]}")  # a card, no visit yet: no points
    async with chain.client("loyalty") as http:
        r = await http.patch(
            f"/clients/{ANNA['id']}/loyalty", params={"location_id": "loc-1"}, json={"discount_percent": "12"}
        )
    assert r.status_code == 200, r.text

    q = await quoted(gateway, chain, quote_body(line(item_id="svc-hair")))
    part = q["loyalty"]
    assert (part["personal_discount"]["code"], D(part["personal_discount"]["percent"])) == ("manual", D("12"))
    assert D(q["lines"][0]["discount"]["amount"]) == D("120")
    [card] = part["cards"]
    assert (card["spendable"], card["code"]) == (False, "no_points")
    assert part["points_available"]["code"] == "no_points"

    elsewhere = await quoted(gateway, chain, {**quote_body(line(item_id="svc-hair")), "location_id": "loc-2"})
    assert elsewhere["loyalty"]["personal_discount"]["code"] == "no_program"


async def test_the_wallet_part_says_which_gift_card_pays_which_line_and_what_the_account_holds(
    chain: Chain, kafka: Kafka, gateway: str
) -> None:
    any_line = await create_card_type(chain)
    services = await create_card_type(chain, limits={"applies_to": "services"})
    far = await create_card_type(chain, location_ids=["loc-9"])
    suffix = uuid.uuid4().hex[:6].upper()
    for name, t in (("ANY", any_line), ("SRV", services), ("FAR", far)):
        await sell_card(chain, kafka, t["id"], f"{name}{suffix}", location_id="loc-9" if name == "FAR" else "loc-1")
    await deposit(chain, kafka, "300")
    body = quote_body(line(), line("product", "prod-oil", "400"))
    q = await eventually(
        lambda: quoted(gateway, chain, body),
        lambda q: q["wallet"].get("account", {}).get("available") == "300.00",
        what="the deposit on the account",
    )
    cards = {c["code_ref"]: [x["code"] for x in c["lines"]] for c in q["wallet"]["gift_cards"]}
    assert cards == {
        f"ANY{suffix}": ["pays", "pays"],
        f"SRV{suffix}": ["pays", "not_applicable"],
        f"FAR{suffix}": ["wrong_location", "wrong_location"],
    }
    account = q["wallet"]["account"]
    assert (account["allow_credit"], D(account["balance"])) == (False, D("300"))
    stored = q["totals"]["stored_value_available"]
    assert (stored["code"], D(stored["amount"])) == ("covers_all", D("1400"))

    poor = await quoted(gateway, chain, quote_body(line(), client={"id": "cl-nobody"}))
    assert poor["wallet"]["gift_cards"] == [] and poor["wallet"]["account"]["code"] == "nothing_available"
    assert D(poor["totals"]["stored_value_available"]["amount"]) == 0


async def test_the_wallet_part_says_a_card_is_spent_expired_or_bound_to_another_phone(
    chain: Chain, kafka: Kafka, gateway: str
) -> None:
    day = await create_card_type(chain, validity={"kind": "period", "unit": "day", "count": 1})
    once = await create_card_type(chain, write_off="single")
    no_code = await create_card_type(chain, allow_without_code=True)
    suffix = uuid.uuid4().hex[:6].upper()
    # A no-code card bought with another phone (under Anna's id): first on her partition.
    await publish(
        kafka, topics.GIFT_CARD_SOLD, card_sale(chain, no_code["id"], None, {**ANNA, "phone": "+36209999999"})
    )
    await sell_card(chain, kafka, day["id"], f"DAY{suffix}")
    await sell_card(chain, kafka, once["id"], f"ONE{suffix}")
    await pay(kafka, visit(chain, wallet_line(paid="100", payments=[by_card(f"ONE{suffix}", "100")])))
    await card_eventually(chain, f"ONE{suffix}", lambda c: c["status"] == "spent")

    def codes(q: dict[str, Any]) -> dict[str, str]:
        return {c["code_ref"] or "<no code>": c["lines"][0]["code"] for c in q["wallet"]["gift_cards"]}

    now = await quoted(gateway, chain, quote_body(line()))
    assert codes(now) == {f"DAY{suffix}": "pays", f"ONE{suffix}": "spent", "<no code>": "phone_mismatch"}
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    assert codes(await quoted(gateway, chain, quote_body(line(), occurred_at=later)))[f"DAY{suffix}"] == "expired"


def _silent_port() -> tuple[socket.socket, int]:
    """A port that takes connections and never answers: a service that hangs."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s, int(s.getsockname()[1])


async def test_a_part_that_is_down_or_late_is_reported_unavailable_and_the_quote_still_answers(
    stack: Stack, chain: Chain
) -> None:
    silent, port = _silent_port()
    replica = stack.start_replica(
        "gateway",
        LOYALTY_URL=f"http://127.0.0.1:{port}",
        WALLET_URL=f"http://127.0.0.1:{local.free_port()}",  # nobody listens
        QUOTE_PART_TIMEOUT_SECONDS="0.5",
    )
    try:
        started = time.monotonic()
        q = await quoted(replica.url, chain, quote_body(line()))
        elapsed = time.monotonic() - started
        # Each part's time and outcome, for an operator to see which part is slow or down.
        parts = {
            (part, outcome): await metric(
                replica.url, "perkstream_quote_part_seconds_count", part=part, outcome=outcome
            )
            for part in ("memberships", "loyalty", "wallet")
            for outcome in ("ok", "unavailable")
        }
        late = await metric(replica.url, "perkstream_quote_part_seconds_sum", part="loyalty", outcome="unavailable")
    finally:
        replica.process.terminate()
        await asyncio.to_thread(replica.process.wait, 20)
        silent.close()
    assert q["memberships"]["available"] is True
    for part in ("loyalty", "wallet"):
        assert q[part]["available"] is False and q[part]["code"] == "part_unavailable", q[part]
    assert "did not answer" in q["loyalty"]["reason"]
    assert q["lines"][0]["discount"]["code"] == "part_unavailable"
    assert q["totals"]["points_available"]["code"] == "part_unavailable"
    assert q["totals"]["stored_value_available"]["code"] == "part_unavailable"
    assert elapsed < 5, elapsed
    assert {k: v for k, v in parts.items() if v} == {
        ("memberships", "ok"): 1,
        ("loyalty", "unavailable"): 1,
        ("wallet", "unavailable"): 1,
    }
    assert 0.45 <= late < 5, late  # the silent one: its timeout (0.5 s by the event loop's clock)


async def test_another_chains_key_and_data_are_never_seen(
    stack: Stack, chain: Chain, kafka: Kafka, gateway: str
) -> None:
    other = await new_chain(stack)
    # The other chain has a membership, a loyalty card and a gift card of a client with Anna's id.
    t = await create_type(other)
    await sell(other, kafka, t["id"], f"OTHER-{uuid.uuid4().hex[:6]}")
    await bonus_setup(other, ANNA, number=f"O-{uuid.uuid4().hex[:6]}")
    gift = await create_card_type(other)
    await sell_card(other, kafka, gift["id"], f"OTH{uuid.uuid4().hex[:6].upper()}")

    body = quote_body(line())
    assert (await quote(gateway, chain, body, key=other.key)).status_code == 404  # as a chain that is not there
    assert (await quote(gateway, chain, body, key=None)).status_code == 401
    mine = await quoted(gateway, chain, body)
    assert mine["lines"][0]["membership"]["code"] == "no_membership"
    assert mine["lines"][0]["membership"]["options"] == []
    assert mine["loyalty"]["cards"] == [] and mine["loyalty"]["cashback"] == []
    assert mine["wallet"]["gift_cards"] == []
    theirs = await quoted(gateway, other, body)  # the same client id, in its own chain: all there
    assert theirs["lines"][0]["membership"]["covered"] is True
    assert len(theirs["loyalty"]["cards"]) == 1 and len(theirs["wallet"]["gift_cards"]) == 1


async def test_a_quote_answers_422_naming_the_field_out_of_bounds(chain: Chain, gateway: str) -> None:
    for bad, field in (
        (quote_body(line(quantity=0)), "lines.0.quantity"),
        (quote_body(line(sold="0.001")), "lines.0.sold"),
        (quote_body(), "lines"),
        (quote_body(*[line()] * 201), "lines"),
    ):
        r = await quote(gateway, chain, bad)
        assert r.status_code == 422 and field in r.text, (field, r.text)
