"""The administrator's notice of a membership sold and not issued (`inventory.membership_sale_refused`):
its draft from the event and the shipped text."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from services.notifications import domain
from services.notifications.domain import LocationSettings, decide
from services.notifications.domain.location import Administrator
from services.notifications.usecases.notify_inventory import sale_refused_draft
from shared.events import Client, MembershipSaleRefused

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CENTRUM = LocationSettings(location_name="Centrum", administrator=Administrator("Eva", "+36301112222"))


def refused(code: str | None, reason: str = "code_taken", **fields: object) -> MembershipSaleRefused:
    return MembershipSaleRefused(
        **{  # type: ignore[arg-type]
            "event_id": "e-1",
            "occurred_at": NOW,
            "chain_id": "ch-1",
            "location_id": "loc-1",
            "operation_id": uuid.uuid4(),
            "operation_number": 41,
            "line": 0,
            "sale_id": "inventory:visit:v-1:0:1",
            "membership_type_id": uuid.uuid4(),
            "product_name": "Massage membership",
            "code": code,
            "client": Client(id="cl-5", phone="+36201234567", name="Anna"),
            "amount": Decimal("7500.00"),
            "reason": reason,
            "source": "visit:v-1",
            **fields,
        }
    )


def test_the_administrator_is_told_what_the_client_paid_for_and_why_it_was_not_issued() -> None:
    [n] = decide(sale_refused_draft(refused("9001")), CENTRUM, {}, {}, NOW)
    assert (n.audience, n.recipient) == ("administrator", "+36301112222")
    assert n.text == (
        "Centrum: membership 9001 (Massage membership) sold to Anna was not issued: the code is "
        "already in use. 7500 was paid for it (operation 41)."
    )


def test_a_unit_without_a_chosen_code_and_a_reason_without_a_text() -> None:
    auto = sale_refused_draft(refused("auto", "type_archived"))
    assert (auto.values["membership_code"], auto.values["reason_text"]) == (
        "without a code",
        "the membership type is archived",
    )
    assert sale_refused_draft(refused(None, "brand_new_reason")).values["reason_text"] == "brand new reason"
    assert set(auto.values) <= domain.KINDS["inventory.membership_sale_refused"].placeholders
