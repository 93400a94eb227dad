"""POST /memberships/import through the real service, database and Kafka: memberships sold before the chain
came, each issued as its membership.sold would be, each sale once (the import again, or the sale's own
membership.sold later, issues nothing more)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain
from tests.integration.helpers import create_type, get_membership, membership_eventually, sale

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SOLD_AT = (datetime.now(UTC) - timedelta(days=20)).isoformat()


def row(type_id: str, sale_id: str, code: str | None, client: str = "cl-imp", **fields: Any) -> dict[str, Any]:
    return {
        "sale_id": sale_id,
        "membership_type_id": type_id,
        "code": code,
        "location_id": "loc-1",
        "client": {"id": client, "phone": "+36201112233", "name": "Imre"},
        "price": "8000",
        "sold_at": SOLD_AT,
        **fields,
    }


async def import_memberships(chain: Chain, rows: list[dict[str, Any]]) -> httpx.Response:
    async with chain.client("memberships") as http:
        return await http.post("/memberships/import", json={"memberships": rows})


async def test_imported_memberships_are_issued_like_sales_and_each_sale_once(chain: Chain, kafka: Kafka) -> None:
    t = await create_type(chain)
    unknown = str(uuid.uuid4())
    rows = [
        row(t["id"], "old-1", "IMP-1"),
        row(t["id"], "old-2", "auto", client="cl-imp2"),
        row(unknown, "old-3", "IMP-3"),
        row(t["id"], "old-4", "IMP-1", client="cl-imp4"),
    ]
    r = await import_memberships(chain, rows)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["issued"], body["rejected"], body["duplicate"]) == (2, 2, 0)
    got = body["memberships"]
    assert [(m["sale_id"], m["status"], m.get("reason")) for m in got] == [
        ("old-1", "issued", None),
        ("old-2", "issued", None),
        ("old-3", "rejected", "unknown_type"),
        ("old-4", "rejected", "code_taken"),
    ]
    auto_code = got[1]["code"]
    assert got[0]["code"] == "IMP-1" and auto_code and auto_code != "auto"

    m = await membership_eventually(chain, "IMP-1", lambda m: True)
    assert (m["id"], m["status"], m["client_id"]) == (got[0]["membership_id"], "sold", "cl-imp")
    assert datetime.fromisoformat(m["history"][0]["at"]) == datetime.fromisoformat(SOLD_AT)
    issued = await kafka.read(topics.MEMBERSHIP_ISSUED, of_chain(chain), count=2)
    assert sorted(e["sale_id"] for e in issued) == ["old-1", "old-2"]
    rejected = await kafka.read(topics.MEMBERSHIP_ISSUE_REJECTED, of_chain(chain), count=2)
    assert sorted((e["sale_id"], e["reason"]) for e in rejected) == [("old-3", "unknown_type"), ("old-4", "code_taken")]

    # The same import again: every sale was decided already.
    again = (await import_memberships(chain, rows)).json()
    assert (again["issued"], again["rejected"], again["duplicate"]) == (0, 0, 4)
    # The first sale's own membership.sold, late, under another code: nothing more is issued. Marker: a
    # later sale on the same client's key, issued.
    late = sale(chain, t["id"], "IMP-LATE", client={"id": "cl-imp"}, sale_id="old-1")
    await kafka.publish(topics.MEMBERSHIP_SOLD, late, key="cl-imp")
    await kafka.publish(topics.MEMBERSHIP_SOLD, sale(chain, t["id"], "IMP-MARK", client={"id": "cl-imp"}), key="cl-imp")
    await membership_eventually(chain, "IMP-MARK", lambda m: True)
    assert (await get_membership(chain, "IMP-LATE")).status_code == 404


async def test_an_import_that_is_not_one_is_a_422_naming_the_row(chain: Chain) -> None:
    t = await create_type(chain)
    twice = await import_memberships(chain, [row(t["id"], "s-1", "A-1"), row(t["id"], "s-1", "A-2")])
    assert twice.status_code == 422 and twice.json()["error"] == "duplicate_sale"
    assert twice.json()["field"] == "memberships.1.sale_id"
    ahead = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    future = await import_memberships(chain, [row(t["id"], "s-2", "A-3", sold_at=ahead)])
    assert future.status_code == 422 and [f["field"] for f in future.json()["fields"]] == ["memberships.0.sold_at"]
    big = await import_memberships(chain, [row(t["id"], f"s-{i}", f"B-{i}") for i in range(1001)])
    assert big.status_code == 422 and [f["field"] for f in big.json()["fields"]] == ["memberships"]
    assert (await get_membership(chain, "A-1")).status_code == 404
