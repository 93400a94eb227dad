"""HTTP bodies and answers of the inventory API (pydantic)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PlainSerializer, StringConstraints

from services.inventory import domain
from services.inventory.domain import MAX_OPERATION_LINES, UNITS, quantity_text
from shared.events import Client, Id, Money, NonNegativeMoney, PastTime
from shared.events.inbound import MAX_MEMBERSHIP_UNITS
from shared.http import Body

Unit = Literal["pcs", "g", "kg", "ml", "l", "m"]
assert set(Unit.__args__) == set(UNITS)  # type: ignore[attr-defined]

# In: a number or a decimal string, more than 0, at most 3 decimals. Out: "2", "0.5" (a string).
# A line moves at most a million units (a tonne in grams): an operation of 500 such lines stays 200 times
# below what a NUMERIC(14,3) balance holds (10**11).
MAX_QUANTITY = 1_000_000
QuantityIn = Annotated[Decimal, Field(gt=0, le=MAX_QUANTITY, max_digits=14, decimal_places=3, allow_inf_nan=False)]
# A bill of materials, per unit of its service: 10,000 (10 kg in grams). Times the units of a visit's
# services (200 lines of at most 10,000) it stays below 10**11 too.
BomQuantityIn = Annotated[Decimal, Field(gt=0, le=10_000, max_digits=14, decimal_places=3, allow_inf_nan=False)]
MinStock = Annotated[Decimal, Field(ge=0, le=1_000_000_000, max_digits=14, decimal_places=3, allow_inf_nan=False)]
Barcode = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
# The products of one bill of materials: more than a service consumes (a colouring uses a dozen).
MAX_BOM_ITEMS = 50
QuantityOut = Annotated[Decimal, PlainSerializer(quantity_text, return_type=str, when_used="json")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)]


# --- catalog ---


class StorageIn(Body):
    id: Id | None = None  # the booking system's storage id; a UUID is generated when absent
    location_id: Id
    name: Name


class StorageOut(BaseModel):
    id: str
    location_id: str
    name: str


class CategoryIn(Body):
    name: Name


class CategoryOut(BaseModel):
    id: uuid.UUID
    name: str


class ProductIn(Body):
    id: Id | None = None  # the booking system's item id (what visit.paid lines name); else a UUID
    name: Name
    category_id: uuid.UUID | None = None
    unit: Unit = "pcs"
    sale_price: NonNegativeMoney
    cost_price: NonNegativeMoney = Decimal("0")
    barcode: Barcode | None = None
    min_stock: MinStock | None = None
    location_id: Id | None = None  # sold at one location only; null: everywhere in the chain


class ProductPatch(Body):
    name: Name | None = None
    category_id: uuid.UUID | None = None
    sale_price: NonNegativeMoney | None = None
    cost_price: NonNegativeMoney | None = None
    barcode: Barcode | None = None
    min_stock: MinStock | None = None
    archived: bool | None = None


class ProductOut(BaseModel):
    id: str
    kind: Literal["goods", "membership", "gift_card"]
    name: str
    category_id: uuid.UUID | None
    category: str | None
    unit: str
    sale_price: Money
    cost_price: Money
    barcode: str | None
    min_stock: QuantityOut | None
    location_id: str | None
    membership_type_id: uuid.UUID | None
    gift_card_type_id: uuid.UUID | None
    archived: bool

    @classmethod
    def of(cls, row: Any) -> ProductOut:
        r = dict(row)
        return cls.model_validate({**{k: r.get(k) for k in cls.model_fields}, "kind": domain.unit_kind(r) or "goods"})


# --- operations ---


class OperationLineIn(Body):
    product_id: Id
    quantity: QuantityIn
    # Unit price; defaults to the product's sale price (sale) or cost price (arrival, write-off, relocation).
    price: NonNegativeMoney | None = None
    # Membership and gift card products only: one code per unit, "auto" to generate one; none for a no-code type.
    codes: Annotated[list[Code | None], Field(max_length=MAX_MEMBERSHIP_UNITS)] | None = None


class OperationIn(Body):
    id: uuid.UUID | None = None  # give one to make a retry safe: the same id is recorded once
    type: Literal["arrival", "sale", "write_off", "relocation"]
    storage_id: Id | None = None
    to_storage_id: Id | None = None
    location_id: Id | None = None  # where a sale of memberships only happens (else the storage's)
    client: Client | None = None
    # A sale of gift cards: who receives them, when not the client (a no-code card binds to this phone).
    holder: Client | None = None
    user: Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)] | None = None
    occurred_at: PastTime | None = None  # not ahead of now (give or take 300 s): it took place
    comment: Annotated[str, StringConstraints(max_length=1000)] | None = None
    lines: Annotated[list[OperationLineIn], Field(min_length=1, max_length=MAX_OPERATION_LINES)]


class OperationOut(BaseModel):
    id: uuid.UUID
    number: int
    type: str
    location_id: str | None
    storage_id: str | None
    to_storage_id: str | None
    source: str
    client: dict[str, Any] | None
    comment: str | None
    lines: list[dict[str, Any]]
    occurred_at: datetime


# --- consumables ---


class BomItemIn(Body):
    product_id: Id
    quantity: BomQuantityIn  # per unit of the service


class BomIn(Body):
    # The location this bill is for (null: every location without a bill of its own); the storage the
    # consumables leave (null: the location's consumables storage, see inventory-settings).
    location_id: Id | None = None
    storage_id: Id | None = None
    items: Annotated[list[BomItemIn], Field(max_length=MAX_BOM_ITEMS)]


class BomItemOut(BaseModel):
    product_id: str
    quantity: QuantityOut


class BomOut(BaseModel):
    service_id: str
    location_id: str | None
    storage_id: str | None
    items: list[BomItemOut]


class InventorySettingsIn(Body):
    consumables_on: Literal["arrived", "paid"] = "arrived"
    consumables_storage_id: Id | None = None


class InventorySettingsOut(InventorySettingsIn):
    location_id: str


# --- stock ---


class StockOut(BaseModel):
    storage_id: str
    location_id: str | None
    product_id: str
    product_name: str
    unit: str
    balance: QuantityOut
    min_stock: QuantityOut | None
    low: bool
