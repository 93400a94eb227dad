"""Re-driving dead letters after the cause is fixed: the service that refused a message applies it,
the others (which had applied it) change nothing."""

from __future__ import annotations

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from shared.redrive import redrive
from tests.integration.conftest import Chain, Stack, publish
from tests.integration.loyalty_helpers import client, create, loyalty, loyalty_eventually, visit_paid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_a_dead_letter_re_driven_after_the_fix_is_applied_once(chain: Chain, kafka: Kafka, stack: Stack) -> None:
    ida = client("ida")
    visit = visit_paid(chain, ida, "900", card="RD-1")  # the card does not exist yet
    await publish(kafka, topics.VISIT_PAID, visit)
    [dead] = await kafka.read(topics.dlq(topics.VISIT_PAID), lambda m: m.get("visit_id") == visit["visit_id"]
                              and m["_headers"].get("x-consumer-group") == "perkstream.loyalty")
    assert "no loyalty card 'RD-1'" in dead["_headers"]["x-error"]
    assert (await loyalty(chain, ida["id"]))["sold"] == "0.00"

    card_type = await create(chain, "/card-types", {"name": "Club", "location_ids": ["loc-1"]})
    await create(chain, "/cards", {"card_type_id": card_type["id"], "client_id": ida["id"], "number": "RD-1"})
    dry = await redrive(stack.settings, topics.VISIT_PAID, "perkstream.loyalty", chain.id, dry_run=True)
    assert dry.redriven == 1
    done = await redrive(stack.settings, topics.VISIT_PAID, "perkstream.loyalty", chain.id)
    assert done.redriven == 1
    stats = await loyalty_eventually(chain, ida["id"], lambda s: s["sold"] == "900.00")
    assert stats["paid"] == "900.00"

    again = await redrive(stack.settings, topics.VISIT_PAID, "perkstream.loyalty", chain.id)
    assert again.redriven == 0  # progress is kept: nothing re-driven twice
    # The other services had applied the visit already; the replay reached them as a duplicate.
    replays = await kafka.read(topics.VISIT_PAID, lambda m: m.get("visit_id") == visit["visit_id"], count=2,
                               settle=1)
    assert len(replays) == 2 and replays[0]["event_id"] == replays[1]["event_id"]
    assert "x-error" not in replays[1]["_headers"]
