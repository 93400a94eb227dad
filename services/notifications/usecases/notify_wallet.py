"""Wallet domain events (gift cards, client accounts) → notices: each event's drafts, and the topic's batch
handler. A gift card sold tells its buyer, and its holder too when the holder's phone is given and is not
the buyer's (`gift_card.received`); an account payment that leaves the balance below zero is
`account.below_zero` instead of `account.charged`; payments not taken are told to the administrator."""

from __future__ import annotations

from services.notifications import domain
from services.notifications.domain import Draft
from services.notifications.usecases.notify import notifier, notifier_each
from shared import phones
from shared.events import (
    AccountCharged,
    AccountToppedUp,
    Client,
    DomainEvent,
    GiftCardExpiring,
    GiftCardIssued,
    GiftCardMovement,
    PaymentRejected,
)


def _phone(e: DomainEvent, client: Client | None) -> str | None:
    return phones.normalize_at(client.phone if client else None, e.chain_id, e.location_id)


def _draft(notice_type: str, e: DomainEvent, client_id: str, client: Client | None, values: dict[str, object]) -> Draft:
    return Draft(
        type=notice_type,
        chain_id=e.chain_id,
        location_id=e.location_id,
        client=domain.Recipient(client_id, _phone(e, client)),
        values={"client_name": (client.name if client else None) or domain.DEAR_CLIENT, **values},
        source_event_id=e.event_id,
        occurred_at=e.occurred_at,
    )


def _card(e: GiftCardIssued | GiftCardMovement | GiftCardExpiring) -> dict[str, object]:
    """A gift card as its notices name it: its code, or its type's name for a card without one."""
    return {
        "gift_card_code": e.code or e.type_name,
        "type_name": e.type_name,
        "balance": domain.money(e.balance),
        "valid_until": e.valid_until,
    }


def issued_drafts(e: GiftCardIssued) -> list[Draft]:
    card = _card(e)
    holder = e.holder
    buyer = _draft("gift_card.issued", e, e.client.id, e.client, {**card, "holder_name": holder.name if holder else ""})
    if holder is None or not domain.holder_is_told(_phone(e, e.client), _phone(e, holder)):
        return [buyer]
    return [buyer, _draft("gift_card.received", e, holder.id, holder, {**card, "buyer_name": e.client.name or ""})]


def charged_draft(e: GiftCardMovement) -> Draft:
    return _draft(
        "gift_card.charged",
        e,
        e.client.id,
        e.client,
        {**_card(e), "amount": domain.money(e.amount), "visit_id": e.visit_id, "status": e.status},
    )


def expiring_draft(e: GiftCardExpiring) -> Draft:
    return _draft(
        "gift_card.expiring",
        e,
        e.client.id,
        e.client,
        {**_card(e), "days_left": e.days_left},
    )


def topped_up_draft(e: AccountToppedUp) -> Draft:
    return _draft(
        "account.topped_up",
        e,
        e.client_id,
        e.client,
        {"amount": domain.money(e.amount), "balance": domain.money(e.balance), "method": e.method},
    )


def account_charged_draft(e: AccountCharged) -> Draft:
    return _draft(
        domain.account_charged_type(e.balance),
        e,
        e.client_id,
        e.client,
        {
            "amount": domain.money(e.amount),
            "balance": domain.money(e.balance),
            "credit_limit": domain.money(e.credit_limit),
            "visit_id": e.visit_id,
        },
    )


def payment_rejected_draft(e: PaymentRejected) -> Draft:
    """About the client (the notice names them), to the administrator: the client still owes what was not
    taken."""
    refused = [domain.RefusedPayment(p.instrument, p.code, p.amount, p.reason) for p in e.rejected]
    return _draft(
        "wallet.payment_rejected",
        e,
        e.client.id,
        e.client,
        {
            "client_name": e.client.name or e.client.id,
            "visit_id": e.visit_id,
            "client_phone": e.client.phone or "",
            "rejected": domain.refused_list(refused),
            "outcome": domain.payment_outcome(e.partial_payments, len(e.taken)),
            "count": len(e.rejected),
        },
    )


# The topics' batch handlers.
notify_gift_card_issued = notifier_each(issued_drafts)
notify_gift_card_charged = notifier(charged_draft)
notify_gift_card_expiring = notifier(expiring_draft)
notify_account_topped_up = notifier(topped_up_draft)
notify_account_charged = notifier(account_charged_draft)
notify_payment_rejected = notifier(payment_rejected_draft)
