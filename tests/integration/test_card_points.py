"""GET /cards/{id} shows the points a balance is made of and when each burns (the seed's bonus page:
"points ... and when they burn"), oldest first, as spending takes them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, publish
from tests.integration.loyalty_helpers import bonus_setup, card, card_eventually, client, visit_paid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_a_card_shows_its_points_oldest_first_with_when_each_burns(chain: Chain, kafka: Kafka) -> None:
    hal = client("hal")
    setup = await bonus_setup(chain, hal, burn_after={"n": 10, "unit": "day"}, burn_notice_days=3)
    card_id = setup["card"]["id"]
    first = visit_paid(chain, hal, "10000")
    await publish(kafka, topics.VISIT_PAID, first)
    await card_eventually(chain, card_id, lambda c: c["balance"] == "300.00")
    async with chain.client("loyalty") as http:
        r = await http.post(f"/cards/{card_id}/transactions", json={"kind": "accrue", "amount": "50", "reason": "gift"})
        assert r.status_code == 200, r.text
    # Spending takes the oldest points first: 120 of the cashback.
    await publish(kafka, topics.VISIT_PAID, visit_paid(chain, hal, "100", "0", card=card_id, spent="120"))
    c = await card_eventually(chain, card_id, lambda c: c["balance"] == "230.00")

    paid_at = datetime.fromisoformat(first["occurred_at"])
    points = c["points"]
    assert [(p["amount"], p["remaining"]) for p in points] == [("300.00", "180.00"), ("50.00", "50.00")]
    assert datetime.fromisoformat(points[0]["burns_at"]) == paid_at + timedelta(days=10)
    assert points[0]["promotion_id"] == setup["promotion"]["id"]
    assert (points[1]["burns_at"], points[1]["promotion_id"]) == (None, None)  # a manual accrual never burns
    assert sum(float(p["remaining"]) for p in points) == float(c["balance"])

    # The list of a client's cards stays short: no transactions, no points.
    async with chain.client("loyalty") as http:
        [listed] = (await http.get("/cards", params={"client_id": hal["id"]})).json()
    assert "points" not in listed and "transactions" not in listed
    assert (await card(chain, setup["card"]["number"]))["points"] == points  # by number too
