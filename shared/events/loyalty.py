"""Domain events of the loyalty service. Points are Decimal, like money (two decimals on the wire)."""

from __future__ import annotations

import uuid
from typing import Literal

from shared.events.base import DomainEvent, Money, Time
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
