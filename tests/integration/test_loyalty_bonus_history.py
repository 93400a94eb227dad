"""The bonus program's history through real Kafka and PostgreSQL, on the seed's own example (ten paid
visits, five of them before the promotion's history start date): which locations' visits count
(`history_source`: the whole chain, the promotion's active locations, the card type's locations) and
the cap on a promotion's accruals per card (`max_uses`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain, publish
from tests.integration.loyalty_helpers import card_eventually, client, create, visit_paid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

HISTORY_START = "2022-08-15"  # the contract's example; the seed's ten visits are 2022-08-10 .. 2022-08-19
ISSUED_AT = "2022-08-01T00:00:00+00:00"  # the cards: before the visits (a card earns for visits from then on)
# A tier per visit counted: the n-th visit of the history earns n% (so an amount shows the count).
TIER_PER_VISIT = [{"from": str(n), "percent": str(n)} for n in range(1, 13)]


def on(day: int, hour: int = 10) -> str:
    return datetime(2022, 8, day, hour, 0, tzinfo=UTC).isoformat()


async def seed_visits(chain: Chain, kafka: Kafka, who: dict[str, Any]) -> list[dict[str, Any]]:
    """The seed's example: ten visits at loc-1, one a day from Aug 10; the first five are before the
    history start date (Aug 15)."""
    visits = [visit_paid(chain, who, "1000", occurred_at=on(10 + i)) for i in range(10)]
    for v in visits:
        await publish(kafka, topics.VISIT_PAID, v)
    return visits


def accruals(c: dict[str, Any], promotion: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (t["visit_id"], t["amount"])
        for t in c["transactions"]
        if t["kind"] == "accrual" and t["promotion_id"] == promotion["id"]
    ]


async def test_history_source_counts_the_promotions_or_the_card_types_locations(chain: Chain, kafka: Kafka) -> None:
    kim = client("kim")
    card_type = await create(chain, "/card-types", {"name": "Two salons", "location_ids": ["loc-1", "loc-2"]})
    promotions = {
        source: await create(
            chain,
            "/promotions",
            {
                "name": f"Visits ({source})",
                "type": "cumulative_visits_cashback_sold",
                "card_type_ids": [card_type["id"]],
                "location_ids": ["loc-1"],
                "rules": TIER_PER_VISIT,
                "history_source": source,
                "history_start": HISTORY_START,
            },
        )
        for source in ("chain", "active_locations", "card_locations")
    }
    card = await create(
        chain,
        "/cards",
        {
            "card_type_id": card_type["id"],
            "client_id": kim["id"],
            "phone": kim["phone"],
            "number": "H-1",
            "issued_at": ISSUED_AT,
        },
    )

    visits = await seed_visits(chain, kafka, kim)
    # Then a visit at loc-2 (the card type's, not the promotions') and one at loc-3 (neither's): no
    # promotion accrues at either, but each counts where its source says; then one more at loc-1.
    away = [
        visit_paid(chain, kim, "1000", location_id="loc-2", occurred_at=on(20)),
        visit_paid(chain, kim, "1000", location_id="loc-3", occurred_at=on(20, 11)),
    ]
    last = visit_paid(chain, kim, "1000", occurred_at=on(21))
    for v in [*away, last]:
        await publish(kafka, topics.VISIT_PAID, v)

    c = await card_eventually(chain, card["id"], lambda c: len(c["transactions"]) == 18)
    # Aug 10-14 are before the start: they count for no source (their own accrual would be the 0th tier).
    # Aug 15-19 are the 1st..5th of every source's history: 1%..5% of 1,000.
    counted = [(v["visit_id"], f"{10 * n}.00") for n, v in enumerate(visits[5:], start=1)]
    # The last visit is the 8th of the chain's history, the 6th of loc-1's, the 7th of loc-1's and loc-2's.
    assert accruals(c, promotions["chain"]) == [*counted, (last["visit_id"], "80.00")]
    assert accruals(c, promotions["active_locations"]) == [*counted, (last["visit_id"], "60.00")]
    assert accruals(c, promotions["card_locations"]) == [*counted, (last["visit_id"], "70.00")]
    assert c["balance"] == "660.00"  # 3 x 150 + 80 + 60 + 70

    published = await kafka.read(topics.LOYALTY_BONUS_ACCRUED, of_chain(chain, visit_id=last["visit_id"]), count=3)
    # In the order the promotions were made, each with the balance after it (450 before the visit).
    assert [(a["promotion_id"], a["amount"], a["balance"]) for a in published] == [
        (promotions["chain"]["id"], "80.00", "530.00"),
        (promotions["active_locations"]["id"], "60.00", "590.00"),
        (promotions["card_locations"]["id"], "70.00", "660.00"),
    ]


async def test_max_uses_caps_the_accruals_on_each_card_and_counts_accruals_not_visits(
    chain: Chain, kafka: Kafka
) -> None:
    lea = client("lea")
    card_type = await create(chain, "/card-types", {"name": "Capped", "location_ids": ["loc-1"]})
    # Three accruals per card at most, counted from the history start: the five visits before it earn
    # nothing, so they use nothing up. An uncapped promotion on the same card is the marker.
    capped = await create(
        chain,
        "/promotions",
        {
            "name": "First three",
            "type": "cumulative_visits_cashback_sold",
            "card_type_ids": [card_type["id"]],
            "rules": TIER_PER_VISIT,
            "history_start": HISTORY_START,
            "max_uses": 3,
        },
    )
    marker = await create(
        chain,
        "/promotions",
        {"name": "Always", "type": "fixed_cashback_sold", "card_type_ids": [card_type["id"]], "percent": "0.1"},
    )
    cards = [
        await create(
            chain,
            "/cards",
            {
                "card_type_id": card_type["id"],
                "client_id": lea["id"],
                "phone": lea["phone"],
                "number": number,
                "issued_at": ISSUED_AT,
            },
        )
        for number in ("M-1", "M-2")
    ]  # two cards of one type: each has its own three

    visits = await seed_visits(chain, kafka, lea)

    for card in cards:
        c = await card_eventually(chain, card["id"], lambda c: len(accruals(c, marker)) == 10)
        assert accruals(c, marker) == [(v["visit_id"], "1.00") for v in visits]
        # Aug 15, 16, 17: the 1st, 2nd, 3rd counted visits (1%, 2%, 3%); Aug 18 and 19 would be the 4th
        # and 5th, past the cap.
        assert accruals(c, capped) == [
            (visits[5]["visit_id"], "10.00"),
            (visits[6]["visit_id"], "20.00"),
            (visits[7]["visit_id"], "30.00"),
        ]
        assert c["balance"] == "70.00"  # 10 x 1 + 10 + 20 + 30

    # The topic says the same: the last visit's marker accrual is there, and the cap published nothing more.
    await kafka.read(topics.LOYALTY_BONUS_ACCRUED, of_chain(chain, visit_id=visits[-1]["visit_id"]), count=2)
    published = await kafka.read_to_end(topics.LOYALTY_BONUS_ACCRUED, of_chain(chain))
    by_promotion = sorted(
        (a["card_number"], a["visit_id"], a["amount"]) for a in published if a["promotion_id"] == capped["id"]
    )
    assert by_promotion == sorted(
        (number, visits[i]["visit_id"], f"{10 * n}.00")
        for number in ("M-1", "M-2")
        for n, i in enumerate((5, 6, 7), start=1)
    )
    assert sum(a["promotion_id"] == marker["id"] for a in published) == 20
