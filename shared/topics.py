"""Every topic name of the public contract (docs/contract.md), written once, and what Kafka accepts on them."""

import re
from collections.abc import Sequence

from aiokafka.record.default_records import DefaultRecordBatchBuilder

VISIT_PAID = "visit.paid"
VISIT_ARRIVED = "visit.status_arrived"
VISIT_NO_SHOW = "visit.status_no_show"
VISIT_CANCELLED = "visit.cancelled"
MEMBERSHIP_SOLD = "membership.sold"
GIFT_CARD_SOLD = "gift_card.sold"  # published by inventory (a gift card line, a desk sale) or a booking system
ACCOUNT_DEPOSIT = "account.deposit"
INBOUND = (VISIT_PAID, VISIT_ARRIVED, VISIT_NO_SHOW, VISIT_CANCELLED, MEMBERSHIP_SOLD, GIFT_CARD_SOLD, ACCOUNT_DEPOSIT)

MEMBERSHIP_TYPE_CREATED = "membership_type.created"
MEMBERSHIP_TYPE_CHANGED = "membership_type.changed"
MEMBERSHIP_ISSUED = "membership.issued"
MEMBERSHIP_ISSUE_REJECTED = "membership.issue_rejected"
MEMBERSHIP_DEDUCTED = "membership.deducted"
MEMBERSHIP_DEDUCTION_REJECTED = "membership.deduction_rejected"
MEMBERSHIP_DEDUCTION_REVERSED = "membership.deduction_reversed"
MEMBERSHIP_EXPIRING = "membership.expiring"
MEMBERSHIP_EXPIRED = "membership.expired"
MEMBERSHIP_FROZEN = "membership.frozen"
MEMBERSHIP_UNFROZEN = "membership.unfrozen"
MEMBERSHIP_ACTIVATED = "membership.activated"
LOYALTY_DISCOUNT_CHANGED = "loyalty.discount_changed"
LOYALTY_DISCOUNT_EXPIRING = "loyalty.discount_expiring"
LOYALTY_LEVEL_CHANGED = "loyalty.level_changed"
LOYALTY_CATEGORIES_CHANGED = "loyalty.categories_changed"
LOYALTY_BONUS_ACCRUED = "loyalty.bonus_accrued"
LOYALTY_BONUS_SPENT = "loyalty.bonus_spent"
LOYALTY_BONUS_SPEND_REJECTED = "loyalty.bonus_spend_rejected"
LOYALTY_BONUS_BURNING = "loyalty.bonus_burning"
LOYALTY_BONUS_BURNED = "loyalty.bonus_burned"
LOYALTY_DISCOUNT_APPLIED = "loyalty.discount_applied"
LOYALTY_DISCOUNT_REFUSED = "loyalty.discount_refused"
LOYALTY_REFERRAL_REWARDED = "loyalty.referral_rewarded"
INVENTORY_STOCK_CHANGED = "inventory.stock_changed"
INVENTORY_STOCK_LOW = "inventory.stock_low"
INVENTORY_SALE_RECORDED = "inventory.sale_recorded"
INVENTORY_MEMBERSHIP_SALE_REFUSED = "inventory.membership_sale_refused"
INVENTORY_GIFT_CARD_SALE_REFUSED = "inventory.gift_card_sale_refused"
GIFT_CARD_TYPE_CREATED = "gift_card_type.created"
GIFT_CARD_TYPE_CHANGED = "gift_card_type.changed"
GIFT_CARD_ISSUED = "gift_card.issued"
GIFT_CARD_ISSUE_REJECTED = "gift_card.issue_rejected"
GIFT_CARD_CHARGED = "gift_card.charged"
GIFT_CARD_REFUNDED = "gift_card.refunded"
GIFT_CARD_ADJUSTED = "gift_card.adjusted"
GIFT_CARD_EXPIRING = "gift_card.expiring"
GIFT_CARD_EXPIRED = "gift_card.expired"
ACCOUNT_TOPPED_UP = "account.topped_up"
ACCOUNT_CHARGED = "account.charged"
ACCOUNT_REFUNDED = "account.refunded"
ACCOUNT_ADJUSTED = "account.adjusted"
ACCOUNT_DEPOSIT_REFUSED = "account.deposit_refused"
WALLET_PAYMENT_REJECTED = "wallet.payment_rejected"
WALLET = (
    GIFT_CARD_TYPE_CREATED,
    GIFT_CARD_TYPE_CHANGED,
    GIFT_CARD_ISSUED,
    GIFT_CARD_ISSUE_REJECTED,
    GIFT_CARD_CHARGED,
    GIFT_CARD_REFUNDED,
    GIFT_CARD_ADJUSTED,
    GIFT_CARD_EXPIRING,
    GIFT_CARD_EXPIRED,
    ACCOUNT_TOPPED_UP,
    ACCOUNT_CHARGED,
    ACCOUNT_REFUNDED,
    ACCOUNT_ADJUSTED,
    ACCOUNT_DEPOSIT_REFUSED,
    WALLET_PAYMENT_REJECTED,
)
DOMAIN = (
    MEMBERSHIP_TYPE_CREATED,
    MEMBERSHIP_TYPE_CHANGED,
    MEMBERSHIP_ISSUED,
    MEMBERSHIP_ISSUE_REJECTED,
    MEMBERSHIP_DEDUCTED,
    MEMBERSHIP_DEDUCTION_REJECTED,
    MEMBERSHIP_DEDUCTION_REVERSED,
    MEMBERSHIP_EXPIRING,
    MEMBERSHIP_EXPIRED,
    MEMBERSHIP_FROZEN,
    MEMBERSHIP_UNFROZEN,
    MEMBERSHIP_ACTIVATED,
    LOYALTY_DISCOUNT_CHANGED,
    LOYALTY_DISCOUNT_EXPIRING,
    LOYALTY_LEVEL_CHANGED,
    LOYALTY_CATEGORIES_CHANGED,
    LOYALTY_BONUS_ACCRUED,
    LOYALTY_BONUS_SPENT,
    LOYALTY_BONUS_SPEND_REJECTED,
    LOYALTY_BONUS_BURNING,
    LOYALTY_BONUS_BURNED,
    LOYALTY_DISCOUNT_APPLIED,
    LOYALTY_DISCOUNT_REFUSED,
    LOYALTY_REFERRAL_REWARDED,
    INVENTORY_STOCK_CHANGED,
    INVENTORY_STOCK_LOW,
    INVENTORY_SALE_RECORDED,
    INVENTORY_MEMBERSHIP_SALE_REFUSED,
    INVENTORY_GIFT_CARD_SALE_REFUSED,
    *WALLET,
)

NOTIFICATION_SMS = "notification.sms"
NOTIFICATION_CHATBOT = "notification.chatbot"
NOTIFICATION_DELIVERY = "notification.delivery"
NOTIFICATIONS = (NOTIFICATION_SMS, NOTIFICATION_CHATBOT, NOTIFICATION_DELIVERY)


# The largest message a topic accepts (Kafka's per-topic `max.message.bytes`, set by `create-topics`): 2 MiB
# on every topic a service consumes. A dead letter is the original bytes and headers plus its `x-*` headers
# (the reason cut at 4,000 bytes), so a `.dlq` accepts 64 KiB more: whatever its topic took, it takes.
MAX_MESSAGE_BYTES = 2 * 1024 * 1024
MAX_DEAD_LETTER_BYTES = MAX_MESSAGE_BYTES + 64 * 1024


def dlq(topic: str) -> str:
    return f"{topic}.dlq"


def max_message_bytes(topic: str) -> int:
    return MAX_DEAD_LETTER_BYTES if topic.endswith(".dlq") else MAX_MESSAGE_BYTES


def record_size(key: str | bytes | None, value: bytes, headers: Sequence[tuple[str, bytes | None]] = ()) -> int:
    """The bytes one message counts against its topic's limit: a record batch of that one record, as the
    producer estimates it (an upper bound by a few bytes), which is what the relay's producer checks too."""
    raw_key = key.encode() if isinstance(key, str) else key
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(raw_key, value, list(headers)))


LEGAL_TOPIC = re.compile(r"[a-zA-Z0-9._-]{1,249}")


def topic_name_problem(name: str) -> str | None:
    """Why Kafka would refuse `name` as a topic name, or None when it would take it."""
    if LEGAL_TOPIC.fullmatch(name) and name not in (".", ".."):
        return None
    return f"{name[:300]!r} is not a Kafka topic name (1 to 249 of a-z, A-Z, 0-9, '.', '_', '-')"


def all_topics() -> list[str]:
    """Every topic the system uses; each one a service consumes gets its `.dlq` twin (cheap, and a
    consumer added later finds its DLQ ready)."""
    names = [*INBOUND, *DOMAIN, *NOTIFICATIONS]
    return names + [dlq(t) for t in names]
