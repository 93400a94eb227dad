"""Domain events of the inventory service."""

from __future__ import annotations

import uuid
from decimal import Decimal

from shared.events.base import DomainEvent


class StockChanged(DomainEvent):
    """`inventory.stock_changed`: one product's balance in one storage moved."""

    storage_id: str
    product_id: uuid.UUID
    product_name: str
    delta: Decimal
    balance: Decimal
    operation_id: uuid.UUID
    operation_type: str


class StockLow(DomainEvent):
    """`inventory.stock_low`: a product fell under its minimum stock (or below zero) in a storage."""

    storage_id: str
    product_id: uuid.UUID
    product_name: str
    balance: Decimal
    min_stock: Decimal
