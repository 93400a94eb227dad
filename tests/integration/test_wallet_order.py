"""A visit's `visit.cancelled` and `visit.paid` in either order of delivery, through the real Kafka and
PostgreSQL: the booking system's own moments (`occurred_at`) decide, not the order they arrive in. A
payment that happened before the cancellation is taken and given back (as had they come in order); one
that happened after it (the visit was paid after all) is taken and stands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deploy.kafka_io import Kafka
from shared import topics
from tests.integration.conftest import Chain, of_chain, publish
from tests.integration.wallet_helpers import (
    ANNA,
    account_eventually,
    by_account,
    by_card,
    card_eventually,
    create_card_type,
    deposit,
    line,
    pay,
    sell_card,
    visit,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def cancellation(chain: Chain, visit_id: str, at: datetime) -> dict[str, Any]:
    return chain.event(
        visit_id=visit_id,
        client=ANNA,
        occurred_at=at.isoformat(),
        scheduled_at=at.isoformat(),
        services=[],
        cancelled_at=at.isoformat(),
    )


async def test_a_payment_made_before_a_cancellation_delivered_after_it_is_given_back(
    chain: Chain, kafka: Kafka
) -> None:
    """Regression: the payment was taken and never given back (the cancellation had found nothing)."""
    card = "G-ORDER-1"
    await sell_card(chain, kafka, (await create_card_type(chain))["id"], card)
    await deposit(chain, kafka, "1000")
    await account_eventually(chain, lambda a: a["balance"] == "1000.00")
    now = datetime.now(UTC)
    early = visit(chain, line(paid="700", payments=[by_card(card, "400"), by_account("300")]))
    early["occurred_at"] = (now - timedelta(minutes=10)).isoformat()
    await publish(kafka, topics.VISIT_CANCELLED, cancellation(chain, early["visit_id"], now))
    await pay(kafka, early)

    refunded = await kafka.read(topics.GIFT_CARD_REFUNDED, of_chain(chain, visit_id=early["visit_id"]), timeout=30)
    assert [(r["amount"], r["balance"]) for r in refunded] == [("400.00", "10000.00")]
    [back] = await kafka.read(topics.ACCOUNT_REFUNDED, of_chain(chain, visit_id=early["visit_id"]), timeout=30)
    assert (back["amount"], back["balance"]) == ("300.00", "1000.00")
    await card_eventually(chain, card, lambda c: c["balance"] == "10000.00")
    await account_eventually(chain, lambda a: a["balance"] == "1000.00")
    async with chain.client("wallet") as http:
        history = (await http.get(f"/gift-cards/{card}/history")).json()
    assert [(m["kind"], m["amount"]) for m in history if m["visit_id"] == early["visit_id"]] == [
        ("charge", "-400.00"),
        ("refund", "400.00"),
    ]


async def test_a_payment_made_after_the_cancellation_stands(chain: Chain, kafka: Kafka) -> None:
    """The booking system says the visit was paid after it was cancelled: the cancellation was undone, the
    payment is taken (as memberships' visit.paid outranks a late cancellation). Proven with a marker:
    a later cancellation of another visit on the same key gives back its own payment, not this one's."""
    card = "G-ORDER-2"
    await sell_card(chain, kafka, (await create_card_type(chain))["id"], card)
    now = datetime.now(UTC)
    late = visit(chain, line(paid="700", payments=[by_card(card, "400")]))
    late["occurred_at"] = (now + timedelta(minutes=1)).isoformat()
    await publish(kafka, topics.VISIT_CANCELLED, cancellation(chain, late["visit_id"], now))
    await pay(kafka, late)
    await card_eventually(chain, card, lambda c: c["balance"] == "9600.00")

    marker = visit(chain, line(paid="100", payments=[by_card(card, "100")]))
    marker["occurred_at"] = (now - timedelta(minutes=5)).isoformat()
    await publish(kafka, topics.VISIT_CANCELLED, cancellation(chain, marker["visit_id"], now))
    await pay(kafka, marker)
    [back] = await kafka.read(topics.GIFT_CARD_REFUNDED, of_chain(chain, visit_id=marker["visit_id"]), timeout=30)
    assert back["balance"] == "9600.00"
    refunds = await kafka.read_to_end(topics.GIFT_CARD_REFUNDED, of_chain(chain, visit_id=late["visit_id"]))
    assert refunds == []
    await card_eventually(chain, card, lambda c: c["balance"] == "9600.00")


async def test_a_payment_applied_before_an_earlier_cancellation_arrives_stands(chain: Chain, kafka: Kafka) -> None:
    """The other delivery order of the test above: the payment (made after the cancellation) is applied
    first, then the cancellation comes. It gives back only what was paid no later than it: nothing here.
    (A fresh run once applied the two the other way round within one batch and gave the payment back.)"""
    card = "G-ORDER-5"
    await sell_card(chain, kafka, (await create_card_type(chain))["id"], card)
    now = datetime.now(UTC)
    late = visit(chain, line(paid="700", payments=[by_card(card, "400")]))
    late["occurred_at"] = (now + timedelta(minutes=1)).isoformat()
    await pay(kafka, late)
    await card_eventually(chain, card, lambda c: c["balance"] == "9600.00")
    await publish(kafka, topics.VISIT_CANCELLED, cancellation(chain, late["visit_id"], now))

    # The marker: a cancellation of another visit, paid before it, on the same key: its refund comes after.
    marker = visit(chain, line(paid="100", payments=[by_card(card, "100")]))
    marker["occurred_at"] = (now - timedelta(minutes=5)).isoformat()
    await pay(kafka, marker)
    await publish(kafka, topics.VISIT_CANCELLED, cancellation(chain, marker["visit_id"], now))
    [back] = await kafka.read(topics.GIFT_CARD_REFUNDED, of_chain(chain, visit_id=marker["visit_id"]), timeout=30)
    assert back["balance"] == "9600.00"
    refunds = await kafka.read_to_end(topics.GIFT_CARD_REFUNDED, of_chain(chain, visit_id=late["visit_id"]))
    assert refunds == []
    await card_eventually(chain, card, lambda c: c["balance"] == "9600.00")
