"""The loyalty transactions report across the chain (issue 14, point 14), through real Kafka and
PostgreSQL: accruals, spends, burns and manual changes made by visits, the burn job and the API, read
back filtered by period, location, kind and card, with totals per kind, in pages and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, Stack, new_chain, publish
from tests.integration.loyalty_helpers import (
    at,
    bonus_setup,
    card_eventually,
    client,
    create,
    run_job,
    visit_paid,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
REPORT = "/reports/loyalty-transactions"


async def report(chain: Chain, path: str = REPORT, **params: Any) -> Any:
    async with chain.client("loyalty") as http:
        r = await http.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def a_month_of_points(chain: Chain, kafka: Kafka) -> dict[str, Any]:
    """Anna's card: 30 points accrued 40 days ago (they burn after a month), 10 spent and 15 accrued
    today, 100 given and 5 written off by hand, the 15 left of the first accrual burned. Bob's card: 6
    accrued today."""
    anna, bob = client("anna"), client("bob")
    setup = await bonus_setup(chain, anna, issued_at=at(-60), burn_after={"n": 1, "unit": "month"})
    card = setup["card"]
    bobs = await create(
        chain,
        "/cards",
        {"card_type_id": setup["card_type"]["id"], "client_id": bob["id"], "phone": bob["phone"], "number": "C-2"},
    )
    await publish(kafka, topics.VISIT_PAID, visit_paid(chain, anna, "1000", occurred_at=at(-40)))
    await card_eventually(chain, card["id"], lambda c: c["balance"] == "30.00")
    await publish(kafka, topics.VISIT_PAID, visit_paid(chain, anna, "500", card="C-1", spent="10"))
    await publish(kafka, topics.VISIT_PAID, visit_paid(chain, bob, "200"))
    await card_eventually(chain, card["id"], lambda c: c["balance"] == "35.00")
    await card_eventually(chain, bobs["id"], lambda c: c["balance"] == "6.00")
    async with chain.client("loyalty") as http:
        for kind, amount, reason in (("accrue", "100", "birthday"), ("write_off", "5", "correction")):
            r = await http.post(
                f"/cards/{card['id']}/transactions", json={"kind": kind, "amount": amount, "reason": reason}
            )
            assert r.status_code == 200, r.text
    # What is left of the first accrual: 30 - the 10 spent - the 5 written off (oldest points first).
    assert (await run_job(chain, "burn", at()))["points_burned"] == "15.00"
    return {"card": card, "bobs": bobs, "promotion": setup["promotion"]}


async def test_the_report_lists_every_kind_filtered_with_totals_in_pages_and_as_csv(chain: Chain, kafka: Kafka) -> None:
    made = await a_month_of_points(chain, kafka)
    card, bobs = made["card"], made["bobs"]

    rows = await report(chain)
    assert [(r["kind"], r["amount"], r["card_number"]) for r in rows if r["card_id"] == card["id"]] == [
        ("accrual", "30.00", "C-1"),
        ("spend", "-10.00", "C-1"),
        ("accrual", "15.00", "C-1"),
        ("manual", "100.00", "C-1"),
        ("manual", "-5.00", "C-1"),
        ("burn", "-15.00", "C-1"),
    ]
    assert len(rows) == 7 and [(r["at"], r["id"]) for r in rows] == sorted((r["at"], r["id"]) for r in rows)
    first = rows[0]
    assert (first["client_id"], first["location_id"], first["promotion_name"], first["balance_after"]) == (
        "cl-anna",
        "loc-1",
        "Cashback",
        "30.00",
    )
    assert first["visit_id"] and first["promotion_id"] == made["promotion"]["id"]

    manual = await report(chain, kind="manual")
    assert [(r["amount"], r["reason"], r["location_id"]) for r in manual] == [
        ("100.00", "birthday", None),
        ("-5.00", "correction", None),
    ]
    assert [r["kind"] for r in await report(chain, kind="burn")] == ["burn"]
    # A location: its visits' accruals and spends (a burn or a manual change is at no location).
    assert {r["kind"] for r in await report(chain, location_id="loc-1")} == {"accrual", "spend"}
    assert await report(chain, location_id="loc-2") == []
    # A card, by its id or its number.
    assert [r["amount"] for r in await report(chain, card_id=bobs["id"])] == ["6.00"]
    assert [r["amount"] for r in await report(chain, card_id="C-2")] == ["6.00"]
    assert await report(chain, card_id="C-404") == []
    # A period: from (inclusive) to (exclusive), a date or a time.
    recent = await report(chain, **{"from": at(-1)})
    assert ("accrual", "30.00") not in [(r["kind"], r["amount"]) for r in recent] and len(recent) == 6
    old = await report(chain, **{"from": (datetime.now(UTC) - timedelta(days=41)).date().isoformat(), "to": at(-1)})
    assert [(r["kind"], r["amount"]) for r in old] == [("accrual", "30.00")]

    totals = await report(chain, f"{REPORT}/totals")
    assert totals["kinds"] == [
        {"kind": "accrual", "count": 3, "amount": "51.00", "added": "51.00", "taken": "0.00"},
        {"kind": "spend", "count": 1, "amount": "-10.00", "added": "0.00", "taken": "10.00"},
        {"kind": "burn", "count": 1, "amount": "-15.00", "added": "0.00", "taken": "15.00"},
        {"kind": "manual", "count": 2, "amount": "95.00", "added": "100.00", "taken": "5.00"},
    ]
    assert totals["total"] == {"kind": None, "count": 7, "amount": "121.00", "added": "151.00", "taken": "30.00"}
    mine = await report(chain, f"{REPORT}/totals", card_id="C-1", kind="accrual")
    assert mine["total"]["amount"] == "45.00" and [k["count"] for k in mine["kinds"]] == [2, 0, 0, 0]

    # Pages: the same rows, in the same order, by the cursor the answer names.
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 3}
    async with chain.client("loyalty") as http:
        while True:
            r = await http.get(REPORT, params=params)
            assert r.status_code == 200, r.text
            seen += r.json()
            if "x-next-cursor" not in r.headers:
                break
            assert r.headers["link"].endswith('rel="next"')
            params["cursor"] = r.headers["x-next-cursor"]
        assert seen == rows
        # CSV: every row, a header first; Accept: text/csv asks for it too.
        r = await http.get(REPORT, params={"format": "csv"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
        table = list(csv.DictReader(io.StringIO(r.text)))
        assert [(t["id"], t["kind"], t["amount"], t["card_number"]) for t in table] == [
            (str(x["id"]), x["kind"], x["amount"], x["card_number"]) for x in rows
        ]
        r = await http.get(REPORT, params={"kind": "manual"}, headers={"Accept": "text/csv"})
        assert [t["reason"] for t in csv.DictReader(io.StringIO(r.text))] == ["birthday", "correction"]
        # Bad input names its field.
        for bad in ({"kind": "gift"}, {"from": "yesterday"}, {"cursor": "nope"}, {"location_id": "x" * 129}):
            r = await http.get(REPORT, params=bad)
            assert r.status_code == 422, (bad, r.text)
            assert next(iter(bad)) in r.text


async def test_another_chain_sees_none_of_it(chain: Chain, kafka: Kafka, stack: Stack) -> None:
    await a_month_of_points(chain, kafka)
    other = await new_chain(stack)
    assert await report(other) == []
    assert (await report(other, f"{REPORT}/totals"))["total"]["count"] == 0
