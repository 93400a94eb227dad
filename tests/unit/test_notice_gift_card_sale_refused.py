"""The administrator's notice of a gift card sold and not issued (`inventory.gift_card_sale_refused`): its
draft from the event and the shipped text."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from services.notifications import domain
from services.notifications.domain import LocationSettings, decide
from services.notifications.domain.location import Administrator
from services.notifications.usecases.notify_inventory import gift_card_sale_refused_draft
from shared.events import Client, GiftCardSaleRefused

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CENTRUM = LocationSettings(location_name="Centrum", administrator=Administrator("Eva", "+36301112222"))


def refused(code: str | None, reason: str = "code_taken") -> GiftCardSaleRefused:
    return GiftCardSaleRefused(
        event_id="e-1",
        occurred_at=NOW,
        chain_id="ch-1",
        location_id="loc-1",
        operation_id=uuid.uuid4(),
        operation_number=41,
        line=0,
        sale_id="inventory:visit:v-1:0:1",
        gift_card_type_id=uuid.uuid4(),
        product_name="Spa 5000",
        code=code,
        client=Client(id="cl-5", phone="+36201234567", name="Anna"),
        amount=Decimal("4500.00"),
        reason=reason,
        source="visit:v-1",
    )


def test_the_administrator_is_told_what_the_client_paid_for_and_why_it_was_not_issued() -> None:
    [n] = decide(gift_card_sale_refused_draft(refused("GC-7")), CENTRUM, {}, {}, NOW)
    assert (n.audience, n.recipient) == ("administrator", "+36301112222")
    assert n.text == (
        "Centrum: gift card GC-7 (Spa 5000) sold to Anna was not issued: the code is already in use. "
        "4500 was paid for it (operation 41)."
    )


def test_each_reason_the_wallet_gives_has_its_text_and_a_unit_without_a_chosen_code() -> None:
    from shared.events.wallet import ISSUE_REJECT_REASONS

    assert set(ISSUE_REJECT_REASONS) <= set(domain.GIFT_CARD_SALE_REFUSALS)
    auto = gift_card_sale_refused_draft(refused("auto", "archived"))
    assert (auto.values["gift_card_code"], auto.values["reason_text"]) == (
        "without a code",
        "the gift card type is archived",
    )
    assert set(auto.values) <= domain.KINDS["inventory.gift_card_sale_refused"].placeholders
