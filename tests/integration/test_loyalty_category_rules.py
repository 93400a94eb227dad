"""A location program whose remove rule contradicts its category assignment is refused, naming the rule
(the seed: removal rules "should not contradict the logic of category assignment"); the program in
force stays as it was. Through real Kafka and PostgreSQL."""

from __future__ import annotations

import copy

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, publish
from tests.integration.loyalty_helpers import PROGRAM, arrived, client, loyalty_eventually, put_program, visit_paid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_a_removal_at_or_below_the_assignment_is_refused_naming_the_rule(chain: Chain, kafka: Kafka) -> None:
    seed = await put_program(chain)  # Economy from 2,000 sold, removed from 10,000 sold: accepted

    at_the_threshold = copy.deepcopy(PROGRAM)
    at_the_threshold["category_rules"]["remove"] = [
        {"basis": "visits", "from": "3", "category": "Economy"},  # another basis: not a contradiction
        {"basis": "sold", "from": "2000", "category": "Economy"},
    ]  # the add rule's own threshold
    from_zero = copy.deepcopy(PROGRAM)
    from_zero["category_rules"]["remove"] = [{"basis": "paid", "from": "0", "category": "Unreliable"}]
    async with chain.client("loyalty") as http:
        r = await http.put("/locations/loc-1/loyalty-program", json=at_the_threshold)
        assert r.status_code == 422, r.text
        assert (r.json()["error"], r.json()["field"]) == ("removal_contradicts_assignment", "category_rules.remove.1")
        assert "category_rules.add.0" in r.json()["message"] and "'Economy'" in r.json()["message"]
        r = await http.put("/locations/loc-1/loyalty-program", json=from_zero)
        assert (r.status_code, r.json()["field"]) == (422, "category_rules.remove.0")
        assert "category_rules.on_status.no_show" in r.json()["message"]
        stored = (await http.get("/locations/loc-1/loyalty-program")).json()
    assert stored["category_rules"] == seed["category_rules"]  # the program in force is left as it was

    # And it still decides: 5,000 sold has Economy (given at 2,000, not yet removed at 10,000).
    ada = client("ada")
    visit = visit_paid(chain, ada, "5000")
    await publish(kafka, topics.VISIT_PAID, visit)
    await publish(kafka, topics.VISIT_ARRIVED, arrived(chain, ada, visit["visit_id"]))
    await loyalty_eventually(chain, ada["id"], lambda s: s["visits"] == 1 and s["categories"] == ["Economy"])
