"""Seed rules of the memberships service (issue 14): phones compared as numbers (point 5), the sale's channel
(point 10) and the report of memberships sold, one row per membership, with its CSV export (point 13);
through the real Kafka, PostgreSQL and service."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain
from tests.integration.helpers import ANNA, create_type, membership_eventually, paid_visit, sale, sell

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

PIROSKA = {"id": "cl-p", "phone": "06201234567", "name": "Piroska"}  # a national form (region HU)


def visit_by_id(chain: Chain, membership_id: str, phone: str | None) -> dict[str, Any]:
    v = paid_visit(chain, "x", client={"id": "cl-9", "phone": phone, "name": "Bea"})
    v["lines"][0]["membership"] = {"id": membership_id}
    return v


# --- point 5: phones ------------------------------------------------------------------------------


async def test_a_no_code_membership_knows_its_buyer_whatever_form_the_phone_comes_in(
    chain: Chain, kafka: Kafka
) -> None:
    t = await create_type(chain, allow_without_code=True)
    await kafka.publish(topics.MEMBERSHIP_SOLD, sale(chain, t["id"], None, client=PIROSKA), key=PIROSKA["id"])
    [issued] = await kafka.read(topics.MEMBERSHIP_ISSUED, of_chain(chain))
    m = await membership_eventually(chain, issued["membership_id"], lambda m: True)
    assert m["phone"] == "+36201234567"  # stored in E.164

    # The same number without its "+", with the international prefix, spaced: one client.
    await kafka.publish(topics.VISIT_PAID, visit_by_id(chain, m["id"], "36201234567"), key="cl-9")
    await membership_eventually(chain, m["id"], lambda m: m["visits_left"] == 9)
    await kafka.publish(topics.VISIT_PAID, visit_by_id(chain, m["id"], "0036 20 123 4567"), key="cl-9")
    await membership_eventually(chain, m["id"], lambda m: m["visits_left"] == 8)
    async with chain.client("memberships") as http:
        ok = (
            await http.get(
                f"/memberships/{m['id']}/eligibility",
                params={"service_id": "svc-massage", "location_id": "loc-1", "phone": "+36 20 123 4567"},
            )
        ).json()
        other = (
            await http.get(
                f"/memberships/{m['id']}/eligibility",
                params={"service_id": "svc-massage", "location_id": "loc-1", "phone": "06209999999"},
            )
        ).json()
        found = (await http.get("/memberships", params={"phone": "06 20 123 4567"})).json()
    assert ok["eligible"] is True
    assert (other["eligible"], other["reason"]) == (False, "phone_mismatch")
    assert [f["id"] for f in found] == [m["id"]]


async def test_a_no_code_sale_without_a_usable_phone_is_refused(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain, allow_without_code=True)
    without = sale(chain, t["id"], None, client={"id": "cl-n", "name": "Nobody"})
    garbled = sale(chain, t["id"], None, client={"id": "cl-g", "phone": "12-34", "name": "Garbled"})
    for event in (without, garbled):
        await kafka.publish(topics.MEMBERSHIP_SOLD, event, key=event["client"]["id"])
    rejected = await kafka.read(topics.MEMBERSHIP_ISSUE_REJECTED, of_chain(chain), count=2)
    assert sorted((r["sale_id"], r["reason"]) for r in rejected) == sorted(
        [(without["sale_id"], "phone_required"), (garbled["sale_id"], "phone_invalid")]
    )
    # A sale with a code needs no phone.
    m = await sell(chain, kafka, t["id"], "PH-CODE", client={"id": "cl-n", "name": "Nobody"})
    assert m["phone"] is None


async def test_the_phones_job_brings_phones_stored_before_to_e164(chain: Chain, kafka: Kafka, db: asyncpg.Pool) -> None:
    """Phones stored as digits before (a national form kept as given) are rewritten in E.164 by the `phones`
    job; one that is no number stays as it is, and is read once."""
    t = await create_type(chain, allow_without_code=True)
    ids = [uuid.uuid4() for _ in range(3)]
    await db.execute(
        """INSERT INTO memberships.memberships (id, chain_id, type_id, code, sale_id, client_id, phone, location_id,
               status, balance, price, sold_at)
           SELECT i, $1, $2::uuid, NULL, 'legacy-' || i, 'cl-legacy', p, 'loc-1', 'sold', '{"svc-massage": 10}',
                  8000, now() - interval '1 day'
           FROM unnest($3::uuid[], $4::text[]) AS t(i, p)""",
        chain.id,
        uuid.UUID(t["id"]),
        ids,
        ["06201234567", "+36201234567", "12-34"],
    )
    async with chain.admin("memberships") as http:
        first = await http.post("/jobs/phones/run", json={})
        again = await http.post("/jobs/phones/run", json={})
    assert first.status_code == 200, first.text
    assert first.json()["changed"] == {"count": 1, "memberships": [str(ids[0])]}
    assert again.json()["changed"] == {"count": 0, "memberships": []}
    phones = {
        r["id"]: r["phone"]
        for r in await db.fetch("SELECT id, phone FROM memberships.memberships WHERE chain_id = $1", chain.id)
    }
    assert phones == {ids[0]: "+36201234567", ids[1]: "+36201234567", ids[2]: "12-34"}
    # The legacy buyer now pays in any form of the number.
    await kafka.publish(topics.VISIT_PAID, visit_by_id(chain, str(ids[0]), "+36 20 123 4567"), key="cl-9")
    await membership_eventually(chain, str(ids[0]), lambda m: m["visits_left"] == 9)


# --- point 10: the channel ------------------------------------------------------------------------


async def test_an_online_sale_of_a_type_not_sold_online_is_refused(chain: Chain, kafka: Kafka) -> None:
    desk_only = await create_type(chain, name="Desk only", online_sale=False)
    online = await create_type(chain, name="Online too", online_sale=True)
    refused = sale(chain, desk_only["id"], "CH-1", channel="online")
    await kafka.publish(topics.MEMBERSHIP_SOLD, refused, key=ANNA["id"])
    [rejected] = await kafka.read(topics.MEMBERSHIP_ISSUE_REJECTED, of_chain(chain))
    assert (rejected["sale_id"], rejected["reason"], rejected["code"]) == (
        refused["sale_id"],
        "not_sold_online",
        "CH-1",
    )
    assert (await sell(chain, kafka, desk_only["id"], "CH-2", channel="desk"))["code"] == "CH-2"
    assert (await sell(chain, kafka, desk_only["id"], "CH-3"))["code"] == "CH-3"  # no channel: the desk
    assert (await sell(chain, kafka, online["id"], "CH-4", channel="online"))["code"] == "CH-4"
    async with chain.client("memberships") as http:
        assert (await http.get("/memberships/CH-1")).status_code == 404


# --- point 13: the report of memberships sold -----------------------------------------------------


def at(day: str) -> str:
    return f"{day}T10:00:00+00:00"


async def test_the_report_of_memberships_sold_one_row_each_with_filters_pages_and_csv(
    chain: Chain, kafka: Kafka
) -> None:
    recalculated = await create_type(chain, name="Massage x10")  # 8000 / 10 visits: 800.00 a visit
    plain = await create_type(
        chain,
        name="Sauna x5",
        balance="overall",
        total_visits=5,
        price="5000",
        recalculate_service_cost=False,
        services=[{"service_id": "svc-sauna"}],
    )
    await sell(chain, kafka, recalculated["id"], "RP-1", occurred_at=at("2026-01-10"), price="7000")
    await sell(chain, kafka, recalculated["id"], "RP-2", occurred_at=at("2026-02-10"), location_id="loc-2")
    await sell(chain, kafka, plain["id"], "RP-3", occurred_at=at("2026-02-15"), price="5000")
    await sell(chain, kafka, recalculated["id"], "RP-OLD", occurred_at=at("2025-06-01"))
    await kafka.publish(topics.VISIT_PAID, paid_visit(chain, "RP-1", quantity=2), key=ANNA["id"])
    await membership_eventually(chain, "RP-1", lambda m: m["visits_left"] == 8)

    period = {"from": "2026-01-01", "to": "2026-03-01"}
    async with chain.client("memberships") as http:
        r = await http.get("/reports/memberships/sold", params=period)
        assert r.status_code == 200, r.text
        rows = r.json()
        by_location = (await http.get("/reports/memberships/sold", params={**period, "location_id": "loc-2"})).json()
        by_type = (
            await http.get("/reports/memberships/sold", params={**period, "membership_type_id": plain["id"]})
        ).json()
        active = (await http.get("/reports/memberships/sold", params={**period, "status": "active"})).json()
        bad = await http.get("/reports/memberships/sold", params={"status": "lost"})
        first = await http.get("/reports/memberships/sold", params={**period, "limit": 2})
        rest = await http.get(
            "/reports/memberships/sold", params={**period, "limit": 2, "cursor": first.headers["X-Next-Cursor"]}
        )
        as_csv = await http.get("/reports/memberships/sold", params=period, headers={"Accept": "text/csv"})
        by_format = await http.get("/reports/memberships/sold", params={**period, "format": "csv"})

    assert [row["code"] for row in rows] == ["RP-3", "RP-2", "RP-1"]  # the latest sold first
    rp1 = rows[2]
    assert rp1 == {
        **rp1,
        "membership_type_id": recalculated["id"],
        "type_name": "Massage x10",
        "balance": {"svc-massage": 8},
        "visits_left": 8,
        "status": "active",
        "client_id": ANNA["id"],
        "client_name": "Anna",
        "sold_at": "2026-01-10T10:00:00Z",
        "location_id": "loc-1",
        "cost": "8000.00",
        "paid": "7000.00",
        "visits_used": 2,
        "debited": "1600.00",
        "service_cost": "800.00",
    }
    assert rp1["valid_until"] is not None
    assert rows[0] == {
        **rows[0],
        "status": "sold",
        "visits_left": 5,
        "visits_used": 0,
        "cost": "5000.00",
        "paid": "5000.00",
        "debited": None,
        "service_cost": None,
        "valid_until": None,
    }
    assert [row["code"] for row in by_location] == ["RP-2"]
    assert [row["code"] for row in by_type] == ["RP-3"]
    assert [row["code"] for row in active] == ["RP-1"]
    assert bad.status_code == 422 and "status" in bad.text
    assert [row["code"] for row in first.json()] == ["RP-3", "RP-2"]
    assert [row["code"] for row in rest.json()] == ["RP-1"] and "X-Next-Cursor" not in rest.headers

    for answer in (as_csv, by_format):
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(answer.text)))
        assert [row["code"] for row in table] == ["RP-3", "RP-2", "RP-1"]
        assert table[2] == {
            **table[2],
            "type_name": "Massage x10",
            "status": "active",
            "visits_left": "8",
            "cost": "8000.00",
            "paid": "7000.00",
            "debited": "1600.00",
            "service_cost": "800.00",
            "location_id": "loc-1",
            "sold_at": "2026-01-10T10:00:00Z",
        }
        assert table[0]["service_cost"] == "" and table[0]["debited"] == ""


async def test_a_csv_cell_a_spreadsheet_would_run_is_written_as_text(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain, name='=HYPERLINK("http://x")')
    sold_at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    await sell(
        chain,
        kafka,
        t["id"],
        "CSV-1",
        occurred_at=sold_at,
        client={"id": "cl-c", "phone": "+36201234567", "name": "@SUM(A1)"},
    )
    async with chain.client("memberships") as http:
        answer = await http.get("/reports/memberships/sold", params={"format": "csv"})
    [row] = list(csv.DictReader(io.StringIO(answer.text)))
    assert (row["type_name"], row["client_name"]) == ('\'=HYPERLINK("http://x")', "'@SUM(A1)")
    assert row["client_phone"] == "+36201234567"  # a number, not a formula: left as it is
