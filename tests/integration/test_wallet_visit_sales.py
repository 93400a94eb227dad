"""A gift card sold and spent in the same visit, through the real Kafka and PostgreSQL and the inventory
service: the wallet issues the visit's gift_card lines itself, under the sale ids inventory's
`gift_card.sold` of them carries (`inventory:visit:<visit_id>:<line>:<unit>`), so the payment naming the
card finds it, and whichever of the two comes first issues: the card once, never a `code_taken`."""

from __future__ import annotations

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain, publish
from tests.integration.wallet_helpers import (
    by_card,
    card_eventually,
    card_sale,
    create_card_type,
    line,
    pay,
    visit,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_a_card_sold_in_a_visit_pays_in_that_visit_and_is_issued_once(chain: Chain, kafka: Kafka) -> None:
    """Regression: the payment was rejected (not_found) unless inventory's gift_card.sold came first."""
    type_id = (await create_card_type(chain))["id"]
    code = "G-SAME-VISIT"
    sold = line(kind="gift_card", item_id=type_id, paid="9000", code=code)
    v = visit(chain, sold, line(paid="1000", payments=[by_card(code, "1000")]))
    await pay(kafka, v)

    [charged] = await kafka.read(topics.GIFT_CARD_CHARGED, of_chain(chain, visit_id=v["visit_id"]), timeout=60)
    assert (charged["code"], charged["amount"], charged["balance"]) == (code, "1000.00", "9000.00")
    sale_id = f"inventory:visit:{v['visit_id']}:0:0"
    # Inventory's own gift_card.sold of that unit comes too: it finds the sale issued.
    await kafka.read(topics.GIFT_CARD_SOLD, of_chain(chain, sale_id=sale_id), timeout=60)
    marker = card_sale(chain, type_id, "G-MARKER")  # on the same key, after it: once issued, ours was decided
    await publish(kafka, topics.GIFT_CARD_SOLD, marker)
    await card_eventually(chain, "G-MARKER")
    issued = await kafka.read_to_end(topics.GIFT_CARD_ISSUED, of_chain(chain, sale_id=sale_id))
    assert len({m["event_id"] for m in issued}) == 1 and issued[0]["code"] == code
    assert await kafka.read_to_end(topics.GIFT_CARD_ISSUE_REJECTED, of_chain(chain)) == []
    assert await kafka.read_to_end(topics.WALLET_PAYMENT_REJECTED, of_chain(chain)) == []
    card = await card_eventually(chain, code)
    assert (card["sale_id"], card["balance"], card["price"]) == (sale_id, "9000.00", "9000.00")
