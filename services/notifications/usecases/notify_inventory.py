"""`inventory.stock_low` → a notice to the location's administrator contact."""

from __future__ import annotations

from services.notifications import domain
from services.notifications.usecases.notify import Draft, notify
from shared.events import StockLow
from shared.uow import UnitOfWork


async def notify_stock_low(uow: UnitOfWork, e: StockLow) -> None:
    await notify(uow, Draft(
        type="inventory.stock_low", chain_id=e.chain_id, location_id=e.location_id,
        client=domain.Recipient(None, None),
        values={"client_name": "", "product_name": e.product_name, "storage_id": e.storage_id,
                "stock": domain.quantity(e.balance, e.unit),
                "min_stock": domain.quantity(e.min_stock, e.unit) if e.min_stock is not None else "not set",
                "unit": e.unit, "reason": e.reason},
        source_event_id=e.event_id, occurred_at=e.occurred_at,
    ))
