"""Every command and query of the inventory service (the app index)."""

from services.inventory.usecases.queries import list_operations
from services.inventory.usecases.sell_visit_products import sell_visit_products

__all__ = ["list_operations", "sell_visit_products"]
