"""Loyalty domain events → notices (discount, level, bonus points): each event's draft, and the topic's
batch handler."""

from __future__ import annotations

from services.notifications import domain
from services.notifications.domain import Draft
from services.notifications.usecases.notify import notifier
from shared import phones
from shared.events import (
    BonusAccrued,
    BonusBurned,
    BonusBurning,
    BonusSpent,
    CardEvent,
    ClientLoyaltyEvent,
    DiscountChanged,
    DiscountExpiring,
    LevelChanged,
    ReferralRewarded,
)


def _draft(notice_type: str, e: ClientLoyaltyEvent | CardEvent, values: dict[str, object]) -> Draft:
    return Draft(
        type=notice_type,
        chain_id=e.chain_id,
        location_id=e.location_id,
        client=domain.Recipient(e.client.id, phones.normalize_at(e.client.phone, e.chain_id, e.location_id)),
        values={"client_name": e.client.name or domain.DEAR_CLIENT, **values},
        source_event_id=e.event_id,
        occurred_at=e.occurred_at,
    )


def _card(e: CardEvent, points: object) -> dict[str, object]:
    return {"card_number": e.card_number, "points": points, "balance": e.balance}


def discount_changed_draft(e: DiscountChanged) -> Draft | None:
    if not e.notify:
        return None  # the publisher says the client is not told (a lapse with the program's switch off)
    # A discount reset for inactivity is the "discount expired" notice; any other change tells the new one.
    notice_type = "loyalty.discount_expired" if e.reason == "inactivity" else "loyalty.discount_changed"
    return _draft(
        notice_type,
        e,
        {
            "discount": e.new_percent,
            "old_discount": e.old_percent,
            "expires_at": e.expires_at,
        },
    )


def discount_expiring_draft(e: DiscountExpiring) -> Draft:
    return _draft(
        "loyalty.discount_expiring",
        e,
        {"discount": e.discount_percent, "expires_at": e.expires_at, "last_visit_at": e.last_visit_at},
    )


def level_changed_draft(e: LevelChanged) -> Draft | None:
    if e.new_level is None:
        return None  # a level lost is not texted
    return _draft("loyalty.level_changed", e, {"level": e.new_level, "old_level": e.old_level or ""})


def bonus_accrued_draft(e: BonusAccrued) -> Draft:
    return _draft("loyalty.bonus_accrued", e, {**_card(e, e.amount), "burns_at": e.burns_at})


def bonus_spent_draft(e: BonusSpent) -> Draft:
    return _draft("loyalty.bonus_spent", e, _card(e, e.amount))


def bonus_burning_draft(e: BonusBurning) -> Draft:
    return _draft("loyalty.bonus_burning", e, {**_card(e, e.amount), "burns_at": e.burns_at})


def bonus_burned_draft(e: BonusBurned) -> Draft:
    return _draft("loyalty.bonus_burned", e, _card(e, e.amount))


def referral_rewarded_draft(e: ReferralRewarded) -> Draft:
    """To the referrer (the invitee is not named: the referrer knows whom they brought)."""
    return Draft(
        type="loyalty.referral_rewarded",
        chain_id=e.chain_id,
        location_id=e.location_id,
        client=domain.Recipient(e.referrer.id, phones.normalize_at(e.referrer.phone, e.chain_id, e.location_id)),
        values={
            "client_name": e.referrer.name or domain.DEAR_CLIENT,
            "card_number": e.card_number,
            "points": e.amount,
            "balance": e.balance,
        },
        source_event_id=e.event_id,
        occurred_at=e.occurred_at,
    )


# The topics' batch handlers.
notify_discount_changed = notifier(discount_changed_draft)
notify_discount_expiring = notifier(discount_expiring_draft)
notify_level_changed = notifier(level_changed_draft)
notify_bonus_accrued = notifier(bonus_accrued_draft)
notify_bonus_spent = notifier(bonus_spent_draft)
notify_bonus_burning = notifier(bonus_burning_draft)
notify_bonus_burned = notifier(bonus_burned_draft)
notify_referral_rewarded = notifier(referral_rewarded_draft)
