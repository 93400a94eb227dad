"""A personal discount, level and categories set by hand in the client card (issue 14, point 6), through
real Kafka and PostgreSQL: a manual value overrides the derived one until it is removed (null); the
program's recalculations (a visit, the inactivity job) keep computing the derived values beside it and
never change it; setting or removing one publishes the change of what the client has (reason `manual`)."""

from __future__ import annotations

from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain, publish
from tests.integration.loyalty_helpers import (
    arrived,
    at,
    client,
    loyalty,
    loyalty_eventually,
    put_program,
    run_job,
    visit_paid,
)
from tests.integration.proof import until_marker

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def patch(chain: Chain, client_id: str, body: dict[str, Any], location_id: str | None = "loc-1") -> Any:
    async with chain.client("loyalty") as http:
        params = {"location_id": location_id} if location_id else {}
        return await http.patch(f"/clients/{client_id}/loyalty", params=params, json=body)


async def test_a_manual_discount_level_and_categories_override_the_program_until_removed(
    chain: Chain, kafka: Kafka
) -> None:
    await put_program(chain)  # 5% from 5,000 sold (reset after 60 days away); bronze from 20,000; Economy
    mia = client("mia")

    async def comes(sold: str) -> None:
        v = visit_paid(chain, mia, sold)
        await publish(kafka, topics.VISIT_PAID, v)
        await publish(kafka, topics.VISIT_ARRIVED, arrived(chain, mia, v["visit_id"]))

    await comes("6000")
    await loyalty_eventually(chain, mia["id"], lambda s: s["visits"] == 1 and s["discount_percent"] == "5.00")

    r = await patch(chain, mia["id"], {"discount_percent": "15", "level": "gold", "categories": ["Staff", "Friends"]})
    assert r.status_code == 200, r.text
    card = r.json()
    assert (card["discount_percent"], card["level"], card["categories"]) == ("15.00", "gold", ["Friends", "Staff"])
    assert card["manual"] == {"discount_percent": "15.00", "level": "gold", "categories": ["Friends", "Staff"]}
    assert (card["derived_discount_percent"], card["derived_level"], card["derived_categories"]) == (
        "5.00",
        None,
        ["Economy"],
    )

    # A second visit: the derived values move (bronze from 20,000 sold; Economy goes at 10,000), hers stay.
    await comes("20000")
    state = await loyalty_eventually(chain, mia["id"], lambda s: s["visits"] == 2)
    assert (state["discount_percent"], state["level"], state["categories"]) == ("15.00", "gold", ["Friends", "Staff"])
    assert (state["derived_level"], state["derived_categories"]) == ("bronze", [])
    # 61 days away: the program's discount lapses, the manual one does not.
    await run_job(chain, "inactivity", at(61))
    state = await loyalty(chain, mia["id"])
    assert (state["discount_percent"], state["derived_discount_percent"]) == ("15.00", "0.00")

    # Removed (null): the derived values are hers again (as of now: she was here today, so 5% and bronze).
    r = await patch(chain, mia["id"], {"discount_percent": None, "level": None})
    assert r.status_code == 200, r.text
    assert (r.json()["discount_percent"], r.json()["level"], r.json()["categories"]) == (
        "5.00",
        "bronze",
        ["Friends", "Staff"],
    )
    assert r.json()["manual"] == {"discount_percent": None, "level": None, "categories": ["Friends", "Staff"]}

    # Her discount changes, in order: the first visit's, the manual 15%, and (the marker) the removal:
    # nothing from the second visit nor the inactivity job between them.
    back = of_chain(chain, client_id=mia["id"], reason="manual", new_percent="5.00")
    changes = await until_marker(kafka, topics.LOYALTY_DISCOUNT_CHANGED, of_chain(chain, client_id=mia["id"]), back)
    assert [(c["reason"], c["old_percent"], c["new_percent"]) for c in changes] == [
        (changes[0]["reason"], "0.00", "5.00"),
        ("manual", "5.00", "15.00"),
    ]
    assert changes[1]["expires_at"] is None  # a manual discount does not lapse
    levels = await until_marker(
        kafka,
        topics.LOYALTY_LEVEL_CHANGED,
        of_chain(chain, client_id=mia["id"]),
        of_chain(chain, client_id=mia["id"], new_level="bronze"),
    )
    assert [(c["reason"], c["old_level"], c["new_level"]) for c in levels] == [("manual", None, "gold")]
    [cats] = await kafka.read(topics.LOYALTY_CATEGORIES_CHANGED, of_chain(chain, client_id=mia["id"], reason="manual"))
    assert (cats["old_categories"], cats["new_categories"]) == (["Economy"], ["Friends", "Staff"])


async def test_manual_values_are_checked(chain: Chain) -> None:
    assert (await patch(chain, "cl-x", {"discount_percent": "5"}, location_id=None)).status_code == 422
    r = await patch(chain, "cl-x", {"level": "platinum"})
    assert r.status_code == 422 and "level" in r.text
    r = await patch(chain, "cl-x", {"discount_percent": "101"})
    assert r.status_code == 422 and "discount_percent" in r.text
    # A client the location knows nothing of yet (no program either) may still be given a discount.
    r = await patch(chain, "cl-x", {"discount_percent": "10"})
    assert r.status_code == 200, r.text
    assert (r.json()["discount_percent"], r.json()["derived_discount_percent"]) == ("10.00", "0.00")
