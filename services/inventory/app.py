"""Composition root of the inventory service."""

from pathlib import Path

from services.inventory import api, handlers
from shared import events, topics
from shared.runtime import Service


def build() -> Service:
    service = Service("inventory", Path(__file__).parent / "migrations")
    handlers.register(service)
    service.publishes(
        topics.INVENTORY_STOCK_CHANGED,
        events.StockChanged,
        "A product's balance in a storage moved (one per storage and product of an operation)",
    )
    service.publishes(
        topics.INVENTORY_STOCK_LOW, events.StockLow, "A product's balance fell under its minimum stock, or below zero"
    )
    service.publishes(
        topics.MEMBERSHIP_SOLD,
        events.MembershipSold,
        "A membership product was sold (one per unit): the memberships service issues it",
    )
    service.publishes(
        topics.INVENTORY_SALE_RECORDED,
        events.SaleRecorded,
        "A sale at the desk for a named client (its sold and paid totals): loyalty counts it",
    )
    service.publishes(
        topics.INVENTORY_MEMBERSHIP_SALE_REFUSED,
        events.MembershipSaleRefused,
        "A membership unit sold was not issued (a code in use, a type archived...): the line "
        "records it refused, the unit is back in stock; the administrator is told",
    )
    service.publishes(
        topics.GIFT_CARD_SOLD,
        events.GiftCardSold,
        "A gift card product was sold (one per unit): the wallet service issues it",
    )
    service.publishes(
        topics.INVENTORY_GIFT_CARD_SALE_REFUSED,
        events.GiftCardSaleRefused,
        "A gift card unit sold was not issued (a code in use, a type archived...): the line "
        "records it refused, the unit is back in stock",
    )
    service.include_router(api.router)
    return service
