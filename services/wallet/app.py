"""Composition root of the wallet service."""

from pathlib import Path

from pydantic import BaseModel

from services.wallet import api, handlers
from shared import events, topics
from shared.runtime import Service

PUBLISHES: list[tuple[str, type[BaseModel], str]] = [
    (topics.GIFT_CARD_TYPE_CREATED, events.GiftCardTypeChanged, "A gift card type was created"),
    (topics.GIFT_CARD_TYPE_CHANGED, events.GiftCardTypeChanged, "A type was changed, archived or restored"),
    (topics.GIFT_CARD_ISSUED, events.GiftCardIssued, "A sold gift card was issued"),
    (topics.GIFT_CARD_ISSUE_REJECTED, events.GiftCardIssueRejected, "A sale issued no card, with the reason"),
    (topics.GIFT_CARD_CHARGED, events.GiftCardMovement, "A card paid part of a visit's line"),
    (topics.GIFT_CARD_REFUNDED, events.GiftCardMovement, "A cancelled visit's card payment went back"),
    (topics.GIFT_CARD_ADJUSTED, events.GiftCardAdjusted, "An administrator edited a card's balance or validity"),
    (topics.GIFT_CARD_EXPIRING, events.GiftCardExpiring, "N days before a card with a balance expires"),
    (topics.GIFT_CARD_EXPIRED, events.GiftCardExpired, "A card expired; its balance is forfeited"),
    (topics.ACCOUNT_TOPPED_UP, events.AccountToppedUp, "Money went onto a client's account"),
    (topics.ACCOUNT_CHARGED, events.AccountCharged, "A client's account paid part of a visit's line"),
    (topics.ACCOUNT_REFUNDED, events.AccountRefunded, "A cancelled visit's account payment went back"),
    (topics.ACCOUNT_ADJUSTED, events.AccountAdjusted, "An administrator corrected an account's balance"),
    (
        topics.ACCOUNT_DEPOSIT_REFUSED,
        events.AccountDepositRefused,
        "An account.deposit moved nothing (the account would hold more than it may), with the reason",
    ),
    (
        topics.WALLET_PAYMENT_REJECTED,
        events.PaymentRejected,
        "A visit's gift card or account payments were refused (all, or the failing ones), with the reasons",
    ),
]


def build() -> Service:
    service = Service("wallet", Path(__file__).parent / "migrations")
    handlers.register(service)
    for topic, model, description in PUBLISHES:
        service.publishes(topic, model, description)
    service.include_router(api.router)
    return service
