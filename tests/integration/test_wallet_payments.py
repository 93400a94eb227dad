"""Client accounts and paying across instruments through the real Kafka and PostgreSQL: deposits (once per
deposit id), desk top-ups (once per Idempotency-Key), paying on credit down to the client's limit, a
visit's payments all or none vs each on its own, history and statement, and two wallet replicas paying
with one card at once never overdrawing it. All new behaviour (the wallet service is new in this change)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from deploy import processes
from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, eventually, of_chain, publish
from tests.integration.proof import until_marker
from tests.integration.wallet_helpers import (
    ANNA,
    account,
    account_eventually,
    by_account,
    by_card,
    card_eventually,
    create_card_type,
    deposit,
    get_card,
    line,
    pay,
    rejected_for,
    sell_card,
    visit,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_a_deposit_tops_up_once_per_deposit_id_and_a_desk_top_up_once_per_key(chain: Chain, kafka: Kafka) -> None:
    first = await deposit(chain, kafka, "5000")
    await publish(kafka, topics.ACCOUNT_DEPOSIT, {**first, "event_id": f"e-{uuid.uuid4()}"})  # the same deposit
    marker = await deposit(chain, kafka, "1")
    ups = await until_marker(
        kafka,
        topics.ACCOUNT_TOPPED_UP,
        of_chain(chain),
        of_chain(chain, deposit_id=marker["deposit_id"]),
    )
    assert [(u["deposit_id"], u["amount"], u["balance"], u["source"]) for u in ups] == [
        (first["deposit_id"], "5000.00", "5000.00", "deposit")
    ]
    assert (await account(chain))["balance"] == "5001.00"
    async with chain.client("wallet") as http:
        body = {"amount": "250.50", "method": "card", "location_id": "loc-2"}
        headers = {"X-User": "eva", "Idempotency-Key": f"k-{uuid.uuid4()}"}
        one, two = await asyncio.gather(
            http.post(f"/clients/{ANNA['id']}/account/top-ups", json=body, headers=headers),
            http.post(f"/clients/{ANNA['id']}/account/top-ups", json=body, headers=headers),
        )
        assert {one.status_code, two.status_code} == {201}, (one.text, two.text)
        assert sorted([one.json()["replayed"], two.json()["replayed"]]) == [False, True]
        assert one.json()["balance"] == two.json()["balance"] == "5251.50"
        other = await http.post(f"/clients/{ANNA['id']}/account/top-ups", json={**body, "amount": "1"}, headers=headers)
        assert other.status_code == 409 and other.json()["error"] == "idempotency_key_reused", other.text
        no_user = await http.post(f"/clients/{ANNA['id']}/account/top-ups", json=body)
        assert no_user.status_code == 422
        moves = (await http.get(f"/clients/{ANNA['id']}/account/movements")).json()
    assert [(m["kind"], m["amount"], m["location_id"]) for m in moves][-1] == ("top_up", "250.50", "loc-2")
    assert (await account(chain))["balance"] == "5251.50"


async def test_an_account_pays_down_to_zero_or_on_credit_down_to_the_clients_limit(chain: Chain, kafka: Kafka) -> None:
    await deposit(chain, kafka, "200")
    await account_eventually(chain, lambda a: a["balance"] == "200.00")
    no_credit = await pay(kafka, visit(chain, line(paid="300", payments=[by_account("300")])))
    assert (await rejected_for(kafka, chain, no_credit["visit_id"]))["rejected"][0]["reason"] == "insufficient_balance"
    async with chain.client("wallet") as http:
        assert (await http.put("/wallet-settings", json={"allow_credit": True})).status_code == 200
        r = await http.put(f"/clients/{ANNA['id']}/account", json={"credit_limit": "500"})
        assert r.json() == {"client_id": ANNA["id"], "balance": "200.00", "credit_limit": "500.00",
                            "allow_credit": True, "available": "700.00"}  # fmt: skip
    on_credit = await pay(kafka, visit(chain, line(paid="600", payments=[by_account("600")])))
    [charged] = await kafka.read(topics.ACCOUNT_CHARGED, of_chain(chain, visit_id=on_credit["visit_id"]))
    assert (charged["amount"], charged["balance"], charged["credit_limit"]) == ("600.00", "-400.00", "500.00")
    beyond = await pay(kafka, visit(chain, line(paid="101", payments=[by_account("101")])))
    assert (await rejected_for(kafka, chain, beyond["visit_id"]))["rejected"][0]["reason"] == "credit_limit_exceeded"
    async with chain.client("wallet") as http:
        r = await http.put(f"/clients/{ANNA['id']}/account", json={"credit_limit": "399.99"})
        assert r.status_code == 409 and r.json()["error"] == "credit_limit_below_debt", r.text
    assert (await account(chain))["balance"] == "-400.00"


async def test_a_visits_payments_are_taken_all_or_none_unless_it_says_partial(chain: Chain, kafka: Kafka) -> None:
    card = f"G-{uuid.uuid4().hex[:8]}"
    await sell_card(chain, kafka, (await create_card_type(chain))["id"], card)
    await deposit(chain, kafka, "100")
    await account_eventually(chain, lambda a: a["balance"] == "100.00")
    lines = [line(paid="1000", payments=[by_card(card, "1000")]), line(paid="300", payments=[by_account("300")])]
    whole = await pay(kafka, visit(chain, *lines))
    r = await rejected_for(kafka, chain, whole["visit_id"])
    assert r["partial_payments"] is False and r["taken"] == []
    assert [(x["line"], x["instrument"], x["reason"]) for x in r["rejected"]] == [
        (0, "gift_card", "not_taken"),
        (1, "account", "insufficient_balance"),
    ]
    partial = await pay(kafka, visit(chain, *lines, partial_payments=True))
    r = await rejected_for(kafka, chain, partial["visit_id"])
    assert [(t["line"], t["code"], t["amount"]) for t in r["taken"]] == [(0, card, "1000.00")]
    assert [(x["line"], x["reason"]) for x in r["rejected"]] == [(1, "insufficient_balance")]
    await card_eventually(chain, card, lambda c: c["balance"] == "9000.00")  # the partial visit's, only
    assert (await account(chain))["balance"] == "100.00"
    both = await pay(kafka, visit(chain, line(paid="1100", payments=[by_card(card, "1000"), by_account("100")])))
    await account_eventually(chain, lambda a: a["balance"] == "0.00")
    await card_eventually(chain, card, lambda c: c["balance"] == "8000.00")
    cancel = chain.event(visit_id=both["visit_id"], client=ANNA, scheduled_at=both["occurred_at"], services=[],
                         cancelled_at=both["occurred_at"])  # fmt: skip
    await publish(kafka, topics.VISIT_CANCELLED, cancel)
    await account_eventually(chain, lambda a: a["balance"] == "100.00")
    await card_eventually(chain, card, lambda c: c["balance"] == "9000.00")
    [refunded] = await kafka.read(topics.ACCOUNT_REFUNDED, of_chain(chain, visit_id=both["visit_id"]))
    assert (refunded["amount"], refunded["balance"]) == ("100.00", "100.00")


async def test_a_statement_gives_the_opening_balance_what_came_and_went_and_the_closing_one(
    chain: Chain, kafka: Kafka
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=10)
    await deposit(chain, kafka, "1000", occurred_at=long_ago.isoformat())
    await deposit(chain, kafka, "500")
    await account_eventually(chain, lambda a: a["balance"] == "1500.00")
    await pay(kafka, visit(chain, line(paid="200", payments=[by_account("200")])))
    await account_eventually(chain, lambda a: a["balance"] == "1300.00")
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    until = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    async with chain.client("wallet") as http:
        s = (await http.get(f"/clients/{ANNA['id']}/account/statement", params={"since": since, "until": until})).json()
        bad = await http.get(f"/clients/{ANNA['id']}/account/statement", params={"since": until, "until": since})
    assert (s["opening_balance"], s["money_in"], s["money_out"], s["closing_balance"]) == (
        "1000.00", "500.00", "200.00", "1300.00"
    )  # fmt: skip
    assert [m["kind"] for m in s["movements"]] == ["top_up", "charge"]
    assert bad.status_code == 422


async def test_two_replicas_paying_with_one_card_at_once_never_overdraw_it(
    stack: Stack, chain: Chain, kafka: Kafka
) -> None:
    card = f"G-{uuid.uuid4().hex[:8]}"
    await sell_card(chain, kafka, (await create_card_type(chain, par_value="1000"))["id"], card)
    replica = stack.start_replica("wallet")
    try:
        # 40 clients (keys spread over every partition, so both replicas take some), each paying 100 with the
        # card at once: it holds 10 of them.
        visits = [visit(chain, line(paid="100", payments=[by_card(card, "100")]), client={"id": f"cl-{i}"})
                  for i in range(40)]  # fmt: skip
        await asyncio.gather(*(pay(kafka, v) for v in visits))
        ids = {v["visit_id"] for v in visits}

        async def outcomes() -> tuple[list[dict], list[dict]]:  # type: ignore[type-arg]
            charged = await kafka.read_to_end(topics.GIFT_CARD_CHARGED, lambda m: m.get("visit_id") in ids)
            refused = await kafka.read_to_end(topics.WALLET_PAYMENT_REJECTED, lambda m: m.get("visit_id") in ids)
            return charged, refused

        charged, refused = await eventually(
            outcomes, lambda o: len({m["visit_id"] for m in o[0] + o[1]}) == 40, timeout=60, what="40 visits decided"
        )
        # Both replicas took part (each logs the visits it paid, by chain).
        for proc in (stack.services["wallet"], replica):
            paid_here = [
                ln for ln in proc.logfile.read_text().splitlines() if "visit_payments" in ln and chain.id in ln
            ]
            assert paid_here, f"{proc.logfile.name} paid none of the visits"
    finally:
        processes.stop([replica])
    assert len({m["visit_id"] for m in charged}) == 10
    assert {r["rejected"][0]["reason"] for r in refused} == {"spent"}  # at 0 a card is spent
    assert sorted(Decimal(m["balance"]) for m in charged) == [Decimal(100 * i) for i in range(10)]
    final = await get_card(chain, card)
    assert final is not None and (final["balance"], final["status"]) == ("0.00", "spent")


async def test_an_administrator_corrects_an_account_with_the_reason_within_its_range(
    chain: Chain, kafka: Kafka
) -> None:
    async with chain.client("wallet") as http:
        url, who = f"/clients/{ANNA['id']}/account/adjustments", {"X-User": "eva"}
        r = await http.post(url, json={"amount": "120.50", "reason": "opening balance"}, headers=who)
        assert r.status_code == 200 and r.json()["balance"] == "120.50", r.text
        r = await http.post(url, json={"amount": "-120.51", "reason": "too much"}, headers=who)
        assert r.status_code == 409 and r.json()["error"] == "balance_out_of_range", r.text
        r = await http.post(url, json={"amount": "-20.50", "reason": "a correction"}, headers=who)
        assert r.json()["balance"] == "100.00"
        moves = (await http.get(f"/clients/{ANNA['id']}/account/movements")).json()
    assert [(m["kind"], m["amount"], m["source"], m["detail"]["reason"]) for m in moves] == [
        ("adjust", "120.50", "user:eva", "opening balance"),
        ("adjust", "-20.50", "user:eva", "a correction"),
    ]
    adjusted = await kafka.read(topics.ACCOUNT_ADJUSTED, of_chain(chain, client_id=ANNA["id"]), count=2)
    assert [(a["amount"], a["balance"], a["reason"]) for a in adjusted] == [
        ("120.50", "120.50", "opening balance"),
        ("-20.50", "100.00", "a correction"),
    ]
