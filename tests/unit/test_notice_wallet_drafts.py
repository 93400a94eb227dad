"""The wallet's events become notices (services/notifications/usecases/notify_wallet.py): who is told,
with which shipped text, for gift cards sold and used, accounts topped up and paying, payments not taken."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from services.notifications import domain
from services.notifications.domain import Draft, LocationSettings, decide
from services.notifications.domain.location import Administrator
from services.notifications.usecases.notify_wallet import (
    account_charged_draft,
    charged_draft,
    expiring_draft,
    issued_drafts,
    payment_rejected_draft,
    topped_up_draft,
)
from shared.events import (
    AccountCharged,
    AccountToppedUp,
    Client,
    GiftCardExpiring,
    GiftCardIssued,
    GiftCardMovement,
    PaymentRejected,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CENTRUM = LocationSettings(location_name="Centrum", administrator=Administrator("Eva", "+36301112222"))
ANNA = Client(id="cl-5", phone="+36201234567", name="Anna")
BEA = Client(id="cl-6", phone="+36207654321", name="Bea")
ENVELOPE: dict[str, Any] = {"event_id": "e-1", "occurred_at": NOW, "chain_id": "ch-1", "location_id": "loc-1"}


def texts(drafts: list[Draft]) -> list[tuple[str, str | None, str]]:
    """(type, recipient, text) of each draft's SMS."""
    out = []
    for d in drafts:
        assert set(d.values) <= domain.KINDS[d.type].placeholders, d.type
        [n] = decide(d, CENTRUM, {}, {}, NOW)
        out.append((d.type, n.recipient, n.text))
    return out


def issued(holder: Client | None, code: str | None = "GC-7", **fields: Any) -> GiftCardIssued:
    return GiftCardIssued(
        **ENVELOPE,
        gift_card_id=uuid.uuid4(),
        gift_card_type_id=uuid.uuid4(),
        type_name="Spa 5000",
        code=code,
        sale_id="inventory:visit:v-1:0:1",
        client=ANNA,
        holder=holder,
        balance=Decimal("5000.00"),
        valid_until=datetime(2027, 3, 1, tzinfo=UTC),
        **fields,
    )


def test_a_gift_card_for_someone_else_tells_the_buyer_and_the_holder() -> None:
    assert texts(issued_drafts(issued(BEA))) == [
        ("gift_card.issued", ANNA.phone, "Anna, your gift card GC-7 is ready: balance 5000."),
        ("gift_card.received", BEA.phone, "Bea, you have received gift card GC-7: balance 5000."),
    ]
    [_, holders] = issued_drafts(issued(BEA))
    assert holders.client.client_id == "cl-6" and holders.source_event_id == "e-1"


def test_the_holder_is_not_told_twice_on_the_buyers_phone_nor_without_a_phone() -> None:
    same_phone = BEA.model_copy(update={"phone": "+36 20 123 4567"})  # Anna's, written another way
    no_phone = BEA.model_copy(update={"phone": None})
    for holder in (None, same_phone, no_phone):
        assert [d.type for d in issued_drafts(issued(holder))] == ["gift_card.issued"]


def test_a_card_without_a_code_is_named_by_its_type() -> None:
    [(_, _, text)] = texts(issued_drafts(issued(None, code=None)))
    assert text == "Anna, your gift card Spa 5000 is ready: balance 5000."


def movement(**fields: Any) -> GiftCardMovement:
    return GiftCardMovement(
        **{
            **ENVELOPE,
            "gift_card_id": uuid.uuid4(),
            "code": "GC-7",
            "type_name": "Spa 5000",
            "client": ANNA,
            "visit_id": "v-1",
            "line": 0,
            "amount": Decimal("1250.50"),
            "balance": Decimal("3749.50"),
            "status": "active",
            "valid_until": None,
            **fields,
        }
    )


def test_the_balance_after_a_gift_card_pays() -> None:
    assert texts([charged_draft(movement())]) == [
        ("gift_card.charged", ANNA.phone, "Anna, 1250.50 paid with gift card GC-7; balance 3749.50.")
    ]
    spent = charged_draft(movement(amount=Decimal("800.00"), balance=Decimal("0.00"), status="spent"))
    assert texts([spent])[0][2] == "Anna, 800 paid with gift card GC-7; balance 0."


def test_a_gift_card_expiring_soon() -> None:
    e = GiftCardExpiring(
        **ENVELOPE,
        gift_card_id=uuid.uuid4(),
        code="GC-7",
        type_name="Spa 5000",
        client=BEA,
        balance=Decimal("120.00"),
        valid_until=datetime(2026, 3, 8, 23, 0, tzinfo=UTC),
        days_left=7,
    )
    budapest = LocationSettings(time_zone="Europe/Budapest")
    [n] = decide(expiring_draft(e), budapest, {}, {}, NOW)
    # The location's local date: 23:00 UTC is the next day in Budapest.
    assert (n.recipient, n.text) == (BEA.phone, "Bea, gift card GC-7 expires on 2026-03-09; balance 120.")


def test_a_top_up_and_an_account_payment_tell_the_balance() -> None:
    account: dict[str, Any] = {**ENVELOPE, "client_id": "cl-5", "client": ANNA, "credit_limit": Decimal("0.00")}
    topped = AccountToppedUp(
        **account, amount=Decimal("3000.00"), balance=Decimal("3500.00"), method="cash", source="deposit"
    )
    paid = AccountCharged(**account, amount=Decimal("700.00"), balance=Decimal("2800.00"), visit_id="v-1", line=0)
    assert texts([topped_up_draft(topped), account_charged_draft(paid)]) == [
        ("account.topped_up", ANNA.phone, "Anna, 3000 added to your account; balance 3500."),
        ("account.charged", ANNA.phone, "Anna, 700 paid from your account; balance 2800."),
    ]


def test_an_account_payment_below_zero_is_the_below_zero_notice() -> None:
    paid = AccountCharged(
        **ENVELOPE,
        client_id="cl-5",
        client=None,  # the account's client without a phone: the notice is skipped, not lost
        credit_limit=Decimal("1000.00"),
        amount=Decimal("700.00"),
        balance=Decimal("-200.00"),
        visit_id="v-1",
        line=0,
    )
    d = account_charged_draft(paid)
    assert d.type == "account.below_zero" and d.values["credit_limit"] == "1000"
    [n] = decide(d, CENTRUM, {}, {}, NOW)
    assert (n.status, n.reason) == ("skipped", "no_phone")
    assert n.text == "Dear client, 700 paid from your account on credit; your balance is -200."


def rejected_payments(partial: bool, taken: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> PaymentRejected:
    return PaymentRejected.model_validate(
        {
            **ENVELOPE,
            "visit_id": "v-9",
            "client": ANNA,
            "partial_payments": partial,
            "taken": taken,
            "rejected": rejected,
        }
    )


def test_payments_not_taken_are_told_to_the_administrator_with_each_reason() -> None:
    e = rejected_payments(
        False,
        [],
        [
            {"line": 0, "instrument": "account", "amount": "300.00", "reason": "not_taken"},
            {"line": 1, "instrument": "gift_card", "code": "GC-7", "amount": "500.00", "reason": "expired"},
        ],
    )
    [n] = decide(payment_rejected_draft(e), CENTRUM, {}, {"sms": True}, NOW)  # the client's opt-out: not theirs
    assert (n.audience, n.recipient, n.status) == ("administrator", "+36301112222", "queued")
    assert n.text == (
        "Centrum: payments for visit v-9 of Anna were not taken: gift card GC-7 500: it has expired; "
        "account 300: not taken, as another payment was refused. No payment of the visit was taken."
    )
    partial = rejected_payments(
        True,
        [{"line": 0, "instrument": "account", "amount": "300.00"}],
        [{"line": 1, "instrument": "gift_card", "id": str(uuid.uuid4()), "amount": "50.00", "reason": "spent"}],
    )
    assert texts([payment_rejected_draft(partial)])[0][2] == (
        "Centrum: payments for visit v-9 of Anna were not taken: gift card without a code 50: it was used "
        "already. The other one was taken."
    )
