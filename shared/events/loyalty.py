"""Domain events of the loyalty service. Points are Decimal, like money (two decimals on the wire)."""

from __future__ import annotations

import uuid
from typing import Literal

from shared.events.base import DomainEvent, Model, Money, Time
from shared.events.inbound import Client


class ClientLoyaltyEvent(DomainEvent):
    client: Client
    # What caused the change: visit_paid, visit_arrived, visit_no_show, desk_sale (inventory.sale_recorded),
    # program_saved, inactivity, manual.
    reason: str = "recalculated"


class DiscountChanged(ClientLoyaltyEvent):
    """`loyalty.discount_changed` (location program)."""

    old_percent: Money
    new_percent: Money
    # When the discount resets for inactivity unless the client comes (for the expiration notice).
    expires_at: Time | None = None
    # Is the client to be told of this change? False only for a discount lapsed for inactivity at a
    # location whose program has `notify_discount_expiration` off (the publisher decides).
    notify: bool = True


class DiscountExpiring(ClientLoyaltyEvent):
    """`loyalty.discount_expiring`: the client's discount at the location lapses for inactivity at
    `expires_at` unless they come back. Published by the inactivity job `discount_expiration_notice_days`
    before, where the program's `notify_discount_expiration` is on; once per client, location and
    `expires_at`."""

    reason: str = "inactivity"
    discount_percent: Money
    expires_at: Time
    last_visit_at: Time  # what inactivity is counted from: the last arrived visit, else the last payment


class LevelChanged(ClientLoyaltyEvent):
    """`loyalty.level_changed`: bronze < silver < gold, or none."""

    old_level: str | None
    new_level: str | None


class CategoriesChanged(ClientLoyaltyEvent):
    """`loyalty.categories_changed`."""

    old_categories: list[str]
    new_categories: list[str]
    added: list[str]
    removed: list[str]


class CardEvent(DomainEvent):
    card_id: uuid.UUID
    card_number: str
    card_type_id: uuid.UUID
    client: Client
    balance: Money  # points on the card after this event


class BonusAccrued(CardEvent):
    """`loyalty.bonus_accrued`: cashback of a promotion for a visit, or a manual accrual."""

    amount: Money
    kind: Literal["cashback", "manual"]
    visit_id: str | None = None
    promotion_id: uuid.UUID | None = None
    burns_at: Time | None = None


class BonusSpent(CardEvent):
    """`loyalty.bonus_spent`: points paid part of a visit (oldest points first), or a manual write-off."""

    amount: Money
    kind: Literal["spend", "manual"] = "spend"
    visit_id: str | None = None


class BonusSpendRejected(CardEvent):
    """`loyalty.bonus_spend_rejected`: more points asked than the card holds; nothing taken."""

    requested: Money
    visit_id: str | None = None
    reason: str = "insufficient_balance"


class BonusBurning(CardEvent):
    """`loyalty.bonus_burning`: `amount` points burn at `burns_at` unless spent."""

    amount: Money
    burns_at: Time


class BonusBurned(CardEvent):
    """`loyalty.bonus_burned`."""

    amount: Money


class AppliedDiscount(Model):
    """A line's discount as `visit.paid` said it (`line`: its index there)."""

    line: int
    item_id: str
    source: Literal["promotion", "personal", "referral"]
    promotion_id: uuid.UUID | None = None
    card_id: uuid.UUID | None = None  # a promotion's: the client's card it came through
    percent: Money
    amount: Money


class DiscountApplied(DomainEvent):
    """`loyalty.discount_applied`: the discounts a paid visit applied, one event per visit (its discounted
    lines; a promotion's only when the promotion was the client's to have, else `loyalty.discount_refused`)."""

    visit_id: str
    client: Client
    lines: list[AppliedDiscount]
    amount: Money  # the lines' discounts together


class RefusedDiscount(AppliedDiscount):
    # not_found, archived, wrong_location, no_card, line_not_covered, not_online, max_uses_reached,
    # not_nth_visit, tier_not_reached, percent_exceeds_offer; a referral's: not_first_visit, no_referral,
    # program_disabled, percent_exceeds_offer
    reason: str


class DiscountRefused(DomainEvent):
    """`loyalty.discount_refused`: a paid visit applied a promotion's discount the client was not to have
    (the money is taken already: recorded, flagged here; the visit's other effects go on)."""

    visit_id: str
    client: Client
    lines: list[RefusedDiscount]


class ReferralRewarded(DomainEvent):
    """`loyalty.referral_rewarded`: the invitee's first visit was paid, and the referrer got the referral
    program's cashback on their card (`amount` points; `balance` after it). Once per invitee."""

    referrer: Client
    invitee: Client
    amount: Money
    card_id: uuid.UUID
    card_number: str
    card_type_id: uuid.UUID
    balance: Money
    visit_id: str  # the invitee's first paid visit
