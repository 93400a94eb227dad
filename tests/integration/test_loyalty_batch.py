"""Visits applied a batch at a time give exactly what they gave one at a time: two chains' clients with
several visits each, interleaved and published together (so the consumer takes them in one batch),
where each visit's effect depends on the earlier ones of the batch: a spend of points only the
previous visit accrued, every 2nd visit, a tier reached by the history, a promotion used up, the
discount that a client's third arrival gives, and each change published once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, new_chain, of_chain
from tests.integration.isolation_helpers import publish_together
from tests.integration.loyalty_helpers import (
    PROGRAM,
    arrived,
    card_eventually,
    client,
    create,
    loyalty_eventually,
    put_program,
    visit_paid,
)
from tests.integration.proof import until_marker

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

T0 = datetime.now(UTC) - timedelta(hours=1)  # recent: the program resets discounts after 60 days away


async def _set_up(chain: Chain) -> dict[str, Any]:
    """The seed program at loc-1; a card type with two promotions (10% of what is paid on every 2nd
    visit; 1% of what is sold, 2% once the history has sold 2,500, three times at most); two clients
    with a card each."""
    await put_program(chain)
    card_type = await create(chain, "/card-types", {"name": "Club", "location_ids": ["loc-1"]})
    every_2nd = await create(
        chain,
        "/promotions",
        {
            "name": "Every 2nd",
            "type": "fixed_cashback_paid",
            "card_type_ids": [card_type["id"]],
            "percent": "10",
            "every_nth_visit": 2,
        },
    )
    tiers = await create(
        chain,
        "/promotions",
        {
            "name": "Tiers",
            "type": "cumulative_cashback_sold",
            "card_type_ids": [card_type["id"]],
            "max_uses": 3,
            "rules": [{"from": "0", "percent": "1"}, {"from": "2500", "percent": "2"}],
        },
    )
    x, y = client(f"x-{chain.id}"), client(f"y-{chain.id}")
    cards = {}
    for who, number in ((x, "X-1"), (y, "Y-1")):
        cards[who["id"]] = await create(
            chain,
            "/cards",
            {
                "card_type_id": card_type["id"],
                "client_id": who["id"],
                "phone": who["phone"],
                "number": number,
                "issued_at": (T0 - timedelta(days=1)).isoformat(),
            },
        )
    return {"x": x, "y": y, "cards": cards, "every_2nd": every_2nd["id"], "tiers": tiers["id"]}


def _paid(chain: Chain, who: dict[str, Any], minute: int, sold: str, **fields: Any) -> tuple[str, str, dict[str, Any]]:
    event = visit_paid(chain, who, sold, occurred_at=(T0 + timedelta(minutes=minute)).isoformat(), **fields)
    return topics.VISIT_PAID, who["id"], event


async def test_a_batch_of_interleaved_visits_of_two_chains_gives_what_one_at_a_time_gave(
    kafka: Kafka, stack: Any, db: Any
) -> None:
    chains = [await new_chain(stack, db), await new_chain(stack, db)]
    setups = [await _set_up(c) for c in chains]
    batch = []
    for minute in range(4):  # the two chains' visits side by side, each client's in order
        for chain, s in zip(chains, setups, strict=True):
            x, y, cx, cy = s["x"], s["y"], s["cards"][s["x"]["id"]], s["cards"][s["y"]["id"]]
            if minute == 0:
                batch += [_paid(chain, x, 0, "1000"), _paid(chain, y, 0, "3000")]
            elif minute == 1:  # the 10 points X's first visit accrued, spent: named by number
                batch += [
                    _paid(chain, x, 1, "1000", card=cx["number"], spent="10"),
                    _paid(chain, y, 1, "3000", card=cy["id"], spent="60"),
                ]
            elif minute == 2:
                batch += [_paid(chain, x, 2, "1000")]
            else:  # 130 points by now; the tiers promotion used up (3 times)
                batch += [_paid(chain, x, 3, "1000", card=cx["id"], spent="120")]
    await publish_together(kafka, batch)

    for chain, s in zip(chains, setups, strict=True):
        x, y = s["x"], s["y"]
        cx = await card_eventually(chain, s["cards"][x["id"]]["id"], lambda c: len(c["transactions"]) == 7)
        every_2nd, tiers = s["every_2nd"], s["tiers"]
        assert [(t["kind"], t["amount"], t["promotion_id"], t["balance_after"]) for t in cx["transactions"]] == [
            ("accrual", "10.00", tiers, "10.00"),  # 1% of 1,000 sold; not the 2nd visit
            ("spend", "-10.00", None, "0.00"),
            ("accrual", "100.00", every_2nd, "100.00"),
            ("accrual", "10.00", tiers, "110.00"),  # 2,000 sold: 1%
            ("accrual", "20.00", tiers, "130.00"),  # 3,000 sold in the history: 2%
            ("spend", "-120.00", None, "10.00"),
            ("accrual", "100.00", every_2nd, "110.00"),
        ]  # the tiers promotion: used 3 times already
        assert cx["balance"] == "110.00"
        cy = await card_eventually(chain, s["cards"][y["id"]]["id"], lambda c: len(c["transactions"]) == 4)
        assert [(t["kind"], t["amount"], t["balance_after"]) for t in cy["transactions"]] == [
            ("accrual", "60.00", "60.00"),
            ("spend", "-60.00", "0.00"),
            ("accrual", "300.00", "300.00"),
            ("accrual", "60.00", "360.00"),
        ]  # 6,000 sold in the history: 2% of this visit's 3,000
        accrued = await kafka.read(topics.LOYALTY_BONUS_ACCRUED, of_chain(chain, client_id=x["id"]), count=5)
        assert [(a["amount"], a["balance"]) for a in accrued] == [
            ("10.00", "10.00"),
            ("100.00", "100.00"),
            ("10.00", "110.00"),
            ("20.00", "130.00"),
            ("100.00", "110.00"),
        ]
        spent = await kafka.read(topics.LOYALTY_BONUS_SPENT, of_chain(chain, client_id=x["id"]), count=2)
        assert [(m["amount"], m["balance"]) for m in spent] == [("10.00", "0.00"), ("120.00", "10.00")]
        assert not await kafka.read_to_end(topics.LOYALTY_BONUS_SPEND_REJECTED, of_chain(chain))

    # X's three first visits arrive, together: the third arrived visit gives the 5% discount (once).
    arrivals = []
    for chain in chains:
        x = setups[chains.index(chain)]["x"]
        visits = [e for _, key, e in batch if key == x["id"]]
        arrivals += [(topics.VISIT_ARRIVED, x["id"], arrived(chain, x, v["visit_id"])) for v in visits[:3]]
    await publish_together(kafka, arrivals)
    for chain, s in zip(chains, setups, strict=True):
        x, y = s["x"], s["y"]
        state = await loyalty_eventually(chain, x["id"], lambda st: st["visits"] == 3)
        assert (state["discount_percent"], state["sold"], state["categories"]) == ("5.00", "4000.00", ["Economy"])
        assert (await loyalty_eventually(chain, y["id"], lambda st: st["sold"] == "6000.00"))[
            "discount_percent"
        ] == "5.00"
        # A no-show of each client afterwards: its category change is the marker after everything before.
        for who in (x, y):
            await publish_together(
                kafka, [(topics.VISIT_NO_SHOW, who["id"], arrived(chain, who, f"v-{uuid.uuid4().hex[:10]}"))]
            )
            categories = await until_marker(
                kafka,
                topics.LOYALTY_CATEGORIES_CHANGED,
                of_chain(chain, client_id=who["id"]),
                of_chain(chain, client_id=who["id"], added=["Unreliable"]),
            )
            assert [(c["added"], c["reason"]) for c in categories] == [(["Economy"], "visit_paid")]
            discounts = await kafka.read_to_end(topics.LOYALTY_DISCOUNT_CHANGED, of_chain(chain, client_id=who["id"]))
            assert [(d["old_percent"], d["new_percent"], d["reason"]) for d in discounts] == [
                ("0.00", "5.00", "visit_arrived" if who is x else "visit_paid")
            ]
    assert PROGRAM["discount_rules"][0] == {"basis": "sold", "from": "5000", "percent": "5"}  # what the above uses
