"""Loyalty domain events → notices (discount, level, bonus points)."""

from __future__ import annotations

from services.notifications import domain
from services.notifications.usecases.notify import Draft, notify
from shared.events import (
    BonusAccrued,
    BonusBurned,
    BonusBurning,
    BonusSpent,
    CardEvent,
    ClientLoyaltyEvent,
    DiscountChanged,
    LevelChanged,
)
from shared.uow import UnitOfWork


def _draft(notice_type: str, e: ClientLoyaltyEvent | CardEvent, values: dict[str, object]) -> Draft:
    return Draft(
        type=notice_type, chain_id=e.chain_id, location_id=e.location_id,
        client=domain.Recipient(e.client.id, e.client.phone),
        values={"client_name": e.client.name or domain.DEAR_CLIENT, **values},
        source_event_id=e.event_id, occurred_at=e.occurred_at,
    )


def _card(e: CardEvent, points: object) -> dict[str, object]:
    return {"card_number": e.card_number, "points": points, "balance": e.balance}


async def notify_discount_changed(uow: UnitOfWork, e: DiscountChanged) -> None:
    # A discount reset for inactivity is the "discount expired" notice; any other change tells the new one.
    notice_type = "loyalty.discount_expired" if e.reason == "inactivity" else "loyalty.discount_changed"
    await notify(uow, _draft(notice_type, e, {
        "discount": e.new_percent, "old_discount": e.old_percent, "expires_at": e.expires_at,
    }))


async def notify_level_changed(uow: UnitOfWork, e: LevelChanged) -> None:
    if e.new_level is None:
        return  # a level lost is not texted
    await notify(uow, _draft("loyalty.level_changed", e, {"level": e.new_level, "old_level": e.old_level or ""}))


async def notify_bonus_accrued(uow: UnitOfWork, e: BonusAccrued) -> None:
    await notify(uow, _draft("loyalty.bonus_accrued", e, {**_card(e, e.amount), "burns_at": e.burns_at}))


async def notify_bonus_spent(uow: UnitOfWork, e: BonusSpent) -> None:
    await notify(uow, _draft("loyalty.bonus_spent", e, _card(e, e.amount)))


async def notify_bonus_burning(uow: UnitOfWork, e: BonusBurning) -> None:
    await notify(uow, _draft("loyalty.bonus_burning", e, {**_card(e, e.amount), "burns_at": e.burns_at}))


async def notify_bonus_burned(uow: UnitOfWork, e: BonusBurned) -> None:
    await notify(uow, _draft("loyalty.bonus_burned", e, _card(e, e.amount)))
