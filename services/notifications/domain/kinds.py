"""The notice types: who receives each, its shipped English text and the placeholders it may use; the
channels on by default; which refused deductions are the client's matter and which the desk's."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LOCALE = "en"
DEAR_CLIENT = "Dear client"  # {client_name} when the booking system sent no name
CHANNELS = ("sms", "chatbot")
CLIENT, ADMINISTRATOR = "client", "administrator"

# --- notice types --------------------------------------------------------------------------------

COMMON = frozenset({"client_name", "location_name"})
MEMBERSHIP = COMMON | {"membership_code", "type_name", "balance", "valid_until"}
CARD = COMMON | {"card_number", "points", "balance"}
GIFT_CARD = COMMON | {"gift_card_code", "type_name", "balance", "valid_until"}
ACCOUNT = COMMON | {"amount", "balance"}


@dataclass(frozen=True)
class Kind:
    """One notice type: who receives it, its default English text, the placeholders it may use."""

    type: str
    audience: str
    template: str
    placeholders: frozenset[str]
    description: str
    # Sent by SMS where a location said nothing; off: only once a location turns it on.
    default_on: bool = True


KINDS: dict[str, Kind] = {
    k.type: k
    for k in (
        Kind(
            "membership.issued",
            CLIENT,
            "{client_name}, your membership {membership_code} is ready: {balance} visits.",
            MEMBERSHIP,
            "a sold membership was issued (off by default: the client is at the desk)",
            default_on=False,
        ),
        Kind(
            "membership.deducted",
            CLIENT,
            "{client_name}, {deducted} deducted from membership {membership_code}; {balance} left.",
            MEMBERSHIP | {"deducted", "units"},
            "visits were deducted; {balance} is the visits left",
        ),
        Kind(
            "membership.deduction_rejected",
            CLIENT,
            "{client_name}, membership {membership_code} could not pay for your visit: {reason_text}.",
            MEMBERSHIP | {"reason", "reason_text", "service_id"},
            "a visit could not be paid with the membership for the client's own reason (expired, frozen, exhausted)",
        ),
        Kind(
            "membership.deduction_rejected.desk",
            ADMINISTRATOR,
            "{location_name}: membership {membership_code} could not pay for {service_id} of {client_name} "
            "(visit {visit_id}): {reason_text}.",
            MEMBERSHIP | {"reason", "reason_text", "service_id", "visit_id", "client_phone"},
            "to the location's administrator: a deduction was refused for an error of the desk (unknown code, "
            "service not included, location not allowed, phone mismatch)",
        ),
        Kind(
            "membership.deduction_reversed",
            CLIENT,
            "{client_name}, the visit of {visit_date} was given back to membership {membership_code}; {balance} left.",
            MEMBERSHIP | {"visit_date", "units", "reason"},
            "an automatic deduction (no-show, late cancellation) was given back: the visit was paid, or the client "
            "came",
        ),
        Kind(
            "membership.expiring",
            CLIENT,
            "{client_name}, your membership {membership_code} expires on {valid_until}; {balance} visits left.",
            MEMBERSHIP | {"days_left"},
            "N days before the membership's end",
        ),
        Kind(
            "membership.running_low",
            CLIENT,
            "{client_name}, only {balance} visits left on membership {membership_code}.",
            MEMBERSHIP,
            "the visits left reached the type's reminder threshold",
        ),
        Kind(
            "membership.expired",
            CLIENT,
            "{client_name}, your membership {membership_code} has expired.",
            MEMBERSHIP,
            "the membership's validity ended",
        ),
        Kind(
            "membership.frozen",
            CLIENT,
            "{client_name}, membership {membership_code} is frozen; usable again from {frozen_until}.",
            MEMBERSHIP | {"frozen_from", "frozen_until", "days"},
            "the membership was frozen",
        ),
        Kind(
            "membership.unfrozen",
            CLIENT,
            "{client_name}, membership {membership_code} is active again.",
            MEMBERSHIP,
            "the freeze ended (early or on time)",
        ),
        Kind(
            "membership.activated",
            CLIENT,
            "{client_name}, your membership {membership_code} is now active.",
            MEMBERSHIP,
            "an unused membership activated by itself N days after the sale (activation by first "
            "use is told by the deduction notice)",
        ),
        Kind(
            "loyalty.discount_changed",
            CLIENT,
            "{client_name}, your discount is now {discount}%.",
            COMMON | {"discount", "old_discount", "expires_at"},
            "the client's loyalty discount changed",
        ),
        Kind(
            "loyalty.discount_expired",
            CLIENT,
            "{client_name}, your {old_discount}% discount has expired; your discount is now {discount}%.",
            COMMON | {"discount", "old_discount"},
            "the discount was reset for inactivity (where the program's notify_discount_expiration is on)",
        ),
        Kind(
            "loyalty.discount_expiring",
            CLIENT,
            "{client_name}, your {discount}% discount expires on {expires_at} unless you visit us before then.",
            COMMON | {"discount", "expires_at", "last_visit_at"},
            "the discount lapses for inactivity soon (the program's discount_expiration_notice_days before)",
        ),
        Kind(
            "loyalty.level_changed",
            CLIENT,
            "{client_name}, your level is now {level}.",
            COMMON | {"level", "old_level"},
            "the client reached a new level (a level lost is not texted)",
        ),
        Kind(
            "loyalty.bonus_accrued",
            CLIENT,
            "{client_name}, {points} bonus points added to card {card_number}; balance {balance}.",
            CARD | {"burns_at"},
            "points were accrued (cashback or manual)",
        ),
        Kind(
            "loyalty.bonus_spent",
            CLIENT,
            "{client_name}, {points} bonus points spent from card {card_number}; balance {balance}.",
            CARD,
            "points paid part of a visit, or were written off",
        ),
        Kind(
            "loyalty.bonus_burning",
            CLIENT,
            "{client_name}, {points} bonus points on card {card_number} burn on {burns_at}.",
            CARD | {"burns_at"},
            "points burn soon unless spent",
        ),
        Kind(
            "loyalty.bonus_burned",
            CLIENT,
            "{client_name}, {points} bonus points on card {card_number} have burned; balance {balance}.",
            CARD,
            "unused points burned",
        ),
        Kind(
            "loyalty.referral_rewarded",
            CLIENT,
            "{client_name}, a friend you referred has made their first visit: {points} bonus points added to card "
            "{card_number}; balance {balance}.",
            CARD,
            "to the referrer: the client they referred paid their first visit, and the referral program's "
            "cashback was accrued on their card",
        ),
        Kind(
            "inventory.stock_low",
            ADMINISTRATOR,
            "{location_name}: {product_name} is low in storage {storage_id}: {stock} left (minimum {min_stock}).",
            COMMON | {"product_name", "storage_id", "stock", "min_stock", "unit", "reason"},
            "to the location's administrator: a product fell under its minimum stock, or below zero",
        ),
        Kind(
            "inventory.membership_sale_refused",
            ADMINISTRATOR,
            "{location_name}: membership {membership_code} ({type_name}) sold to {client_name} was not issued: "
            "{reason_text}. {amount} was paid for it (operation {operation_number}).",
            COMMON
            | {
                "membership_code",
                "type_name",
                "reason",
                "reason_text",
                "amount",
                "operation_number",
                "source",
                "client_phone",
            },
            "to the location's administrator: a membership sold (at the desk or in a paid visit) was not issued; "
            "the client paid for it",
        ),
        Kind(
            "inventory.gift_card_sale_refused",
            ADMINISTRATOR,
            "{location_name}: gift card {gift_card_code} ({type_name}) sold to {client_name} was not issued: "
            "{reason_text}. {amount} was paid for it (operation {operation_number}).",
            COMMON
            | {
                "gift_card_code",
                "type_name",
                "reason",
                "reason_text",
                "amount",
                "operation_number",
                "source",
                "client_phone",
            },
            "to the location's administrator: a gift card sold (at the desk or in a paid visit) was not issued; "
            "the client paid for it",
        ),
        Kind(
            "gift_card.issued",
            CLIENT,
            "{client_name}, your gift card {gift_card_code} is ready: balance {balance}.",
            GIFT_CARD | {"holder_name"},
            "a gift card sold was issued: told to the buyer",
        ),
        Kind(
            "gift_card.received",
            CLIENT,
            "{client_name}, you have received gift card {gift_card_code}: balance {balance}.",
            GIFT_CARD | {"buyer_name"},
            "a gift card sold was issued to a holder who is not the buyer: told to the holder too, when the "
            "holder's phone is given and is not the buyer's",
        ),
        Kind(
            "gift_card.charged",
            CLIENT,
            "{client_name}, {amount} paid with gift card {gift_card_code}; balance {balance}.",
            GIFT_CARD | {"amount", "visit_id", "status"},
            "a gift card paid for a visit; {balance} is what is left on it",
        ),
        Kind(
            "gift_card.expiring",
            CLIENT,
            "{client_name}, gift card {gift_card_code} expires on {valid_until}; balance {balance}.",
            GIFT_CARD | {"days_left"},
            "N days before the gift card's end, with a balance left",
        ),
        Kind(
            "account.topped_up",
            CLIENT,
            "{client_name}, {amount} added to your account; balance {balance}.",
            ACCOUNT | {"method"},
            "money was put on the client's account (a deposit at the desk, or a top-up)",
        ),
        Kind(
            "account.charged",
            CLIENT,
            "{client_name}, {amount} paid from your account; balance {balance}.",
            ACCOUNT | {"visit_id", "credit_limit"},
            "the client's account paid for a visit; {balance} is what is left on it",
        ),
        Kind(
            "account.below_zero",
            CLIENT,
            "{client_name}, {amount} paid from your account on credit; your balance is {balance}.",
            ACCOUNT | {"visit_id", "credit_limit"},
            "the client's account paid for a visit and is below zero (payment on credit, down to "
            "{credit_limit}): instead of account.charged",
        ),
        Kind(
            "wallet.payment_rejected",
            ADMINISTRATOR,
            "{location_name}: payments for visit {visit_id} of {client_name} were not taken: {rejected}. {outcome}",
            COMMON | {"visit_id", "client_phone", "rejected", "outcome", "count"},
            "to the location's administrator: gift card or account payments of a paid visit were not taken "
            "(each with its reason); the client still owes them",
        ),
    )
}

# Kept for the slice and its tests: the shipped English text of each type.
DEFAULT_TEMPLATES: dict[str, str] = {t: k.template for t, k in KINDS.items()}

# Channels on when a location said nothing: SMS only (a client is not told the same thing twice).
DEFAULT_CHANNELS: dict[str, bool] = {"sms": True, "chatbot": False}

# Why a membership could not pay: the client's own matter (told to the client) or the desk's error
# (told to the administrator; any reason not listed here is treated as the desk's).
CLIENT_REJECTIONS = {
    "expired": "it has expired",
    "frozen": "it is frozen",
    "exhausted": "no visits are left on it",
}
DESK_REJECTIONS = {
    "unknown_code": "no membership has this code",
    "service_not_included": "the service is not included",
    "location_not_allowed": "it is not valid at this location",
    "phone_mismatch": "the client's phone is not the buyer's",
}


# Why a membership sold was not issued (inventory.membership_sale_refused, told to the administrator).
SALE_REFUSALS = {
    "code_taken": "the code is already in use",
    "unknown_type": "the membership type is unknown",
    "type_archived": "the membership type is archived",
    "code_required": "the type is sold with a code only",
    "location_not_allowed": "the type is not sold at this location",
    "not_sold_online": "the type is not sold online",
    "phone_required": "a membership without a code needs the client's phone",
    "phone_invalid": "the client's phone is not a usable number",
}


def rejection(reason: str) -> tuple[str, str]:
    """(notice type, reason text) of a refused deduction."""
    if reason in CLIENT_REJECTIONS:
        return "membership.deduction_rejected", CLIENT_REJECTIONS[reason]
    return "membership.deduction_rejected.desk", DESK_REJECTIONS.get(reason, reason.replace("_", " "))
