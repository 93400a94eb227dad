"""The discount promotions of a visit on the batch's books (usecases/discounts.py, pure given the books):
what each promotion of the client's cards offers a line (the quote's seam: `promotion_offers`), and the
paid visit's check: one use per card and promotion however many lines, seen by the next visit of the
batch (max_uses), the history before the visit, personal discounts reported as said."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from services.loyalty.domain import Promotion, Tier
from services.loyalty.domain.books import Books
from services.loyalty.domain.cards import Card, CardType
from services.loyalty.domain.discounts import Line, choose_discount
from services.loyalty.domain.visits import visit_paid
from services.loyalty.usecases.discounts import DiscountBook, discounts_on_visit, promotion_offers
from shared import topics
from shared.events import VisitPaid

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
CH = "ch-1"
TYPE_ID, CARD_ID = str(uuid.uuid4()), str(uuid.uuid4())
TEN, TIERED, ONLINE = (str(uuid.uuid4()) for _ in range(3))
HAIR = Line("service", "svc-hair", "cat-hair")


def books() -> Books:
    b = Books(T0)
    b.card_types[(CH, TYPE_ID)] = CardType(TYPE_ID, "Gold", ("loc-1",), T0)
    b.know_card(CH, Card(CARD_ID, TYPE_ID, "cl-1", None, "C-1", D("0"), T0 - timedelta(days=30)))
    b.client_cards[(CH, "cl-1")] = [CARD_ID]
    return b


def book(**ten: Any) -> DiscountBook:
    promotions = [
        Promotion(TEN, "Ten", "static_discount", (TYPE_ID,), percent=D("10"), **ten),
        Promotion(TIERED, "Tiers", "cumulative_discount_sold", (TYPE_ID,), rules=(Tier(D("1000"), D("12")),)),
        Promotion(ONLINE, "Online", "online_booking_discount", (TYPE_ID,), percent=D("15")),
    ]
    return DiscountBook({(CH, p.id): p for p in promotions})


def visit(n: int, *discounts: dict[str, Any] | None, **fields: Any) -> VisitPaid:
    lines = [
        {"kind": "service", "item_id": "svc-hair", "category_id": "cat-hair", "quantity": 1, "sold": "1000"}
        | ({"paid": "1000"} if d is None else {"paid": str(1000 - int(d["amount"])), "discount": d})
        for d in discounts or (None,)
    ]
    return VisitPaid.model_validate(
        {
            "event_id": f"e-{n}",
            "occurred_at": (T0 + timedelta(hours=n)).isoformat(),
            "chain_id": CH,
            "location_id": "loc-1",
            "visit_id": f"v-{n}",
            "client": {"id": "cl-1"},
            "lines": lines,
            **fields,
        }
    )


def promo(pid: str, percent: str) -> dict[str, Any]:
    return {"source": "promotion", "promotion_id": pid, "percent": percent, "amount": str(10 * int(percent))}


def test_the_quote_sees_every_promotion_of_the_clients_cards_and_the_best_wins() -> None:
    b = books()
    first = visit(1)
    offers = promotion_offers(b, book(), first, HAIR)
    assert [(o.promotion_id, o.percent, o.code, o.card_id) for o in offers] == [
        (TEN, D("10"), "static_discount", CARD_ID),
        (TIERED, None, "tier_not_reached", CARD_ID),
        (ONLINE, None, "not_online", CARD_ID),
    ]
    online = promotion_offers(b, book(), visit(1, channel="online"), HAIR)
    assert choose_discount(online).winner == online[2]
    # After a paid visit of 1,000 sold, the tier is reached on the next.
    b.put_visit(CH, visit_paid(None, "v-1", "loc-1", "cl-1", D("1000"), D("1000"), first.occurred_at))
    assert choose_discount(promotion_offers(b, book(), visit(2), HAIR)).winner.promotion_id == TIERED  # type: ignore[union-attr]


def test_the_paid_visit_uses_a_promotion_once_per_card_and_the_next_visit_of_the_batch_sees_it() -> None:
    b, d = books(), book(max_uses=1)
    out = discounts_on_visit(
        b, d, visit(1, promo(TEN, "10"), promo(TEN, "10"), {"source": "personal", "percent": "5", "amount": "50"})
    )
    [(topic, key, applied)] = out
    assert (topic, key) == (topics.LOYALTY_DISCOUNT_APPLIED, "cl-1")
    assert [(x.line, x.source, x.percent) for x in applied.lines] == [  # type: ignore[attr-defined]
        (0, "promotion", D("10")),
        (1, "promotion", D("10")),
        (2, "personal", D("5")),
    ]
    assert d.uses[(CH, CARD_ID, TEN)] == 1  # one visit, one use
    [(topic, _, refused)] = discounts_on_visit(b, d, visit(2, promo(TEN, "10")))
    assert topic == topics.LOYALTY_DISCOUNT_REFUSED
    assert [x.reason for x in refused.lines] == ["max_uses_reached"]  # type: ignore[attr-defined]
    assert [(u.visit_id, u.line, u.refused) for u in d.new] == [
        ("v-1", 0, None),
        ("v-1", 1, None),
        ("v-2", 0, "max_uses_reached"),
    ]


def test_a_visit_naming_another_card_or_no_discount_publishes_nothing_of_discounts() -> None:
    assert discounts_on_visit(books(), book(), visit(1)) == []
    other = visit(1, promo(TEN, "10"), loyalty_card_id="C-404")
    [(_, _, refused)] = discounts_on_visit(books(), book(), other)
    assert [(x.reason, x.card_id) for x in refused.lines] == [("no_card", None)]  # type: ignore[attr-defined]
