"""`account.deposit` at an account's bound through the real Kafka and PostgreSQL: a deposit that would take
the balance past 99,999,999,999.99 is refused with its reason (`account.deposit_refused`,
`balance_too_large`), records nothing on the account, and the deposits after it on the same account, in
its batch and later, still apply (regression: it was applied past the bound, unchecked)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain
from tests.integration.proof import until_marker
from tests.integration.wallet_helpers import ANNA, account, account_eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

LARGEST_DEPOSIT = "4999999999.99"  # what one deposit may be: 20 of them leave the account 0.19 below its bound


def deposit_event(chain: Chain, amount: str) -> dict[str, Any]:
    return chain.event(deposit_id=f"d-{uuid.uuid4().hex[:8]}", client=ANNA, amount=amount, method="cash")


async def send_at_once(kafka: Kafka, events: list[dict[str, Any]]) -> None:
    """Sends every deposit before waiting for any, on the client's key: consumed as one batch (or a few), in
    this order."""
    sends = [
        await kafka.producer.send(topics.ACCOUNT_DEPOSIT, json.dumps(e).encode(), key=ANNA["id"].encode())
        for e in events
    ]
    for s in sends:
        await s


async def test_a_deposit_past_the_accounts_bound_is_refused_and_the_ones_after_it_apply(
    chain: Chain, kafka: Kafka
) -> None:
    fills = [deposit_event(chain, LARGEST_DEPOSIT) for _ in range(20)]  # 99,999,999,999.80
    too_much = deposit_event(chain, "1.00")  # would be 100,000,000,000.80
    fits = deposit_event(chain, "0.09")  # 99,999,999,999.89
    again = {**too_much, "event_id": f"e-{uuid.uuid4()}"}  # the same deposit delivered twice: refused once
    await send_at_once(kafka, [*fills, too_much, again, fits])
    await account_eventually(chain, lambda a: a["balance"] == "99999999999.89")
    one_cent_over = deposit_event(chain, "0.11")  # would be 100,000,000,000.00
    to_the_bound = deposit_event(chain, "0.10")  # 99,999,999,999.99: the bound itself is held
    await send_at_once(kafka, [one_cent_over, to_the_bound])

    last = of_chain(chain, deposit_id=one_cent_over["deposit_id"])
    [before] = await until_marker(kafka, topics.ACCOUNT_DEPOSIT_REFUSED, of_chain(chain), last, timeout=60)
    [after] = await kafka.read(topics.ACCOUNT_DEPOSIT_REFUSED, last)
    refused = [before, after]
    assert [(r["deposit_id"], r["amount"], r["balance"], r["method"], r["reason"]) for r in refused] == [
        (too_much["deposit_id"], "1.00", "99999999999.80", "cash", "balance_too_large"),
        (one_cent_over["deposit_id"], "0.11", "99999999999.89", "cash", "balance_too_large"),
    ]
    assert {(r["client_id"], r["client"]["id"], r["location_id"]) for r in refused} == {
        (ANNA["id"], ANNA["id"], "loc-1")
    }
    # Every top-up before the last on the client's partition path: none for a refused deposit.
    ups = await until_marker(
        kafka, topics.ACCOUNT_TOPPED_UP, of_chain(chain), of_chain(chain, deposit_id=to_the_bound["deposit_id"])
    )
    assert [u["deposit_id"] for u in ups] == [e["deposit_id"] for e in [*fills, fits]]
    assert ups[-1]["balance"] == "99999999999.89"
    assert (await account(chain))["balance"] == "99999999999.99"
    async with chain.client("wallet") as http:
        moves = (await http.get(f"/clients/{ANNA['id']}/account/movements", params={"limit": 100})).json()
    assert [m["detail"]["deposit_id"] for m in moves] == [e["deposit_id"] for e in [*fills, fits, to_the_bound]]
    assert moves[-1]["balance"] == "99999999999.99"


async def test_a_desk_top_up_carries_the_clients_phone_in_e164_and_refuses_one_that_is_no_number(
    chain: Chain, kafka: Kafka
) -> None:
    url, who = f"/clients/{ANNA['id']}/account/top-ups", {"X-User": "eva"}
    body = {"amount": "50", "location_id": "loc-1"}
    async with chain.client("wallet") as http:
        r = await http.post(url, json={**body, "client": {"phone": "+36 20 123 4567", "name": "Anna"}}, headers=who)
        assert r.status_code == 201, r.text
        for phone in ("not a phone", "+1 555", "1" * 33):
            r = await http.post(url, json={**body, "client": {"phone": phone}}, headers=who)
            answer = r.json()
            fields = [answer.get("field")] + [f["field"] for f in answer.get("fields", [])]
            assert r.status_code == 422 and "client.phone" in fields, (phone, r.text)
        r = await http.post(url, json={**body, "amount": "7", "client": {"name": "Anna"}}, headers=who)
        assert r.status_code == 201, r.text  # a name without a phone: told to no one, but taken
    ups = await kafka.read(topics.ACCOUNT_TOPPED_UP, of_chain(chain), count=2, timeout=30)
    assert [(u["amount"], u["client"]) for u in ups] == [
        ("50.00", {"id": ANNA["id"], "phone": ANNA["phone"], "name": "Anna"}),
        ("7.00", {"id": ANNA["id"], "phone": None, "name": "Anna"}),
    ]
    assert (await account(chain))["balance"] == "57.00"
