"""`inventory.stock_low` → a notice to the location's administrator contact."""

from __future__ import annotations

from services.notifications import domain
from services.notifications.domain import Draft
from services.notifications.usecases.notify import notifier
from shared.events import StockLow


def stock_low_draft(e: StockLow) -> Draft:
    return Draft(
        type="inventory.stock_low", chain_id=e.chain_id, location_id=e.location_id,
        client=domain.Recipient(None, None),
        values={"client_name": "", "product_name": e.product_name, "storage_id": e.storage_id,
                "stock": domain.quantity(e.balance, e.unit),
                "min_stock": domain.quantity(e.min_stock, e.unit) if e.min_stock is not None else "not set",
                "unit": e.unit, "reason": e.reason},
        source_event_id=e.event_id, occurred_at=e.occurred_at,
    )


notify_stock_low = notifier(stock_low_draft)
