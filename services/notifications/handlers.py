"""Kafka subscriptions of the notifications service: domain event → notice; receipt → notice status.

Idempotency: the inbox (event_id) drops a redelivered event, and the notices table's unique key
(chain, source event, channel, type) drops a notice the inbox let through (a replayed batch, two replicas)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from services.notifications import usecases
from shared import events, topics
from shared.events.base import STORABLE
from shared.runtime import Service


class DeliveryReceipt(events.DeliveryReceipt):
    """What an aggregator publishes back on `notification.delivery`: `sent`, `delivered` or `failed` for a
    notice it read (by `notification_id`); `chain_id` (echoed from the notice) and `error` are optional."""

    # The consumer's inbox wants an event id and a chain, which a receipt need not carry: one receipt is
    # one (notice, status, time); "" stands for a chain the aggregator did not echo.
    event_id: SkipJsonSchema[events.Id] = ""  # not part of the contract: derived, for the inbox
    chain_id: Annotated[str, StringConstraints(max_length=128, strip_whitespace=True), STORABLE] = ""

    @model_validator(mode="before")
    @classmethod
    def _identity(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            data.setdefault("event_id", f"receipt:{data.get('notification_id')}:{data.get('status')}:{data.get('at')}")
            if data.get("chain_id") is None:  # absent or null; anything else is validated as given
                data["chain_id"] = ""
        return data


SUBSCRIPTIONS: list[tuple[str, type[Any], Any, str]] = [
    (
        topics.MEMBERSHIP_ISSUED,
        events.MembershipIssued,
        usecases.notify_issued,
        "A membership was issued: tell the client its code and visits.",
    ),
    (
        topics.MEMBERSHIP_DEDUCTED,
        events.MembershipDeducted,
        usecases.notify_deduction,
        "Visits were deducted: tell the client what is left.",
    ),
    (
        topics.MEMBERSHIP_DEDUCTION_REJECTED,
        events.MembershipDeductionRejected,
        usecases.notify_deduction_rejected,
        "A membership could not pay: tell the client (expired, frozen, exhausted) or the administrator (an "
        "error of the desk).",
    ),
    (
        topics.MEMBERSHIP_DEDUCTION_REVERSED,
        events.MembershipDeductionReversed,
        usecases.notify_deduction_reversed,
        "An automatic deduction was given back (the visit was paid, or the client came): tell the client.",
    ),
    (
        topics.MEMBERSHIP_EXPIRING,
        events.MembershipExpiring,
        usecases.notify_expiring,
        "A membership ends soon, or runs low on visits.",
    ),
    (topics.MEMBERSHIP_EXPIRED, events.MembershipExpired, usecases.notify_expired, "A membership expired."),
    (topics.MEMBERSHIP_FROZEN, events.MembershipFrozen, usecases.notify_frozen, "A membership was frozen."),
    (topics.MEMBERSHIP_UNFROZEN, events.MembershipUnfrozen, usecases.notify_unfrozen, "A membership was unfrozen."),
    (
        topics.MEMBERSHIP_ACTIVATED,
        events.MembershipActivated,
        usecases.notify_activated,
        "A membership activated by itself (auto-activation).",
    ),
    (
        topics.LOYALTY_DISCOUNT_CHANGED,
        events.DiscountChanged,
        usecases.notify_discount_changed,
        "The client's discount changed, or expired for inactivity.",
    ),
    (
        topics.LOYALTY_DISCOUNT_EXPIRING,
        events.DiscountExpiring,
        usecases.notify_discount_expiring,
        "The client's discount lapses soon for inactivity: warn them.",
    ),
    (topics.LOYALTY_LEVEL_CHANGED, events.LevelChanged, usecases.notify_level_changed, "The client reached a level."),
    (topics.LOYALTY_BONUS_ACCRUED, events.BonusAccrued, usecases.notify_bonus_accrued, "Bonus points accrued."),
    (topics.LOYALTY_BONUS_SPENT, events.BonusSpent, usecases.notify_bonus_spent, "Bonus points spent."),
    (topics.LOYALTY_BONUS_BURNING, events.BonusBurning, usecases.notify_bonus_burning, "Bonus points burn soon."),
    (topics.LOYALTY_BONUS_BURNED, events.BonusBurned, usecases.notify_bonus_burned, "Bonus points burned."),
    (
        topics.LOYALTY_REFERRAL_REWARDED,
        events.ReferralRewarded,
        usecases.notify_referral_rewarded,
        "A referrer was rewarded for the first visit of a client they brought: tell the referrer.",
    ),
    (
        topics.INVENTORY_STOCK_LOW,
        events.StockLow,
        usecases.notify_stock_low,
        "A product is low: tell the location's administrator.",
    ),
    (
        topics.INVENTORY_MEMBERSHIP_SALE_REFUSED,
        events.MembershipSaleRefused,
        usecases.notify_membership_sale_refused,
        "A membership sold was not issued (the client paid for it): tell the location's administrator.",
    ),
    (
        topics.INVENTORY_GIFT_CARD_SALE_REFUSED,
        events.GiftCardSaleRefused,
        usecases.notify_gift_card_sale_refused,
        "A gift card sold was not issued (the client paid for it): tell the location's administrator.",
    ),
    (
        topics.GIFT_CARD_ISSUED,
        events.GiftCardIssued,
        usecases.notify_gift_card_issued,
        "A gift card was issued: tell the buyer, and the holder when their phone is given and is not the buyer's.",
    ),
    (
        topics.GIFT_CARD_CHARGED,
        events.GiftCardMovement,
        usecases.notify_gift_card_charged,
        "A gift card paid for a visit: tell the client what is left on it.",
    ),
    (
        topics.GIFT_CARD_EXPIRING,
        events.GiftCardExpiring,
        usecases.notify_gift_card_expiring,
        "A gift card ends soon: tell its holder.",
    ),
    (
        topics.ACCOUNT_TOPPED_UP,
        events.AccountToppedUp,
        usecases.notify_account_topped_up,
        "Money was put on a client's account: tell the client the balance.",
    ),
    (
        topics.ACCOUNT_CHARGED,
        events.AccountCharged,
        usecases.notify_account_charged,
        "A client's account paid for a visit: tell the client the balance (below zero: its own notice).",
    ),
    (
        topics.WALLET_PAYMENT_REJECTED,
        events.PaymentRejected,
        usecases.notify_payment_rejected,
        "Gift card or account payments of a visit were not taken: tell the location's administrator.",
    ),
    (
        topics.NOTIFICATION_DELIVERY,
        DeliveryReceipt,
        usecases.record_receipts,
        "An aggregator's delivery receipt: update the notice's status (an unknown notice goes to the DLQ).",
    ),
]


def register(service: Service) -> None:
    for topic, model, handler, description in SUBSCRIPTIONS:  # each a batch of events at once
        service.subscribe(topic, model, batch=handler, description=description)
