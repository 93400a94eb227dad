"""Domain events of the inventory service. Quantities are decimal strings ("2", "0.5", "-1")."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import PlainSerializer, StringConstraints

from shared.events.base import DomainEvent, Id, NonNegativeMoney
from shared.events.inbound import Client


def _quantity_text(q: Decimal) -> str:
    text = format(q.normalize(), "f")
    return "0" if text == "-0" else text


Quantity = Annotated[Decimal, PlainSerializer(_quantity_text, return_type=str, when_used="json")]


class StockChanged(DomainEvent):
    """`inventory.stock_changed`: one product's balance in one storage moved (one event per storage and
    product of an operation)."""

    storage_id: str
    product_id: str
    product_name: str
    unit: str
    delta: Quantity
    balance: Quantity
    operation_id: uuid.UUID
    operation_number: int
    operation_type: Literal["arrival", "sale", "write_off", "relocation"]
    source: str  # "visit:<visit_id>", "api:<user>"


class StockLow(DomainEvent):
    """`inventory.stock_low`: a product's balance in a storage fell under its minimum stock, or below
    zero (a sale is never refused for want of stock: it is reported here)."""

    storage_id: str
    product_id: str
    product_name: str
    unit: str
    balance: Quantity
    min_stock: Quantity | None
    reason: Literal["below_min_stock", "negative"]
    operation_id: uuid.UUID


class SaleRecorded(DomainEvent):
    """`inventory.sale_recorded`: a sale entered at the desk (`POST /operations`, type sale) for a named
    client, once per operation (its event id follows from the operation's). `sold`: its lines at the
    products' sale prices; `paid`: at the prices charged (`price` x `quantity`), as a visit's totals are
    (a desk discount shows as sold > paid). Loyalty counts it toward the client's sold and paid at the
    location. A visit's product and membership lines are not desk sales: `visit.paid` counts them."""

    location_id: Id  # where it was sold (the storage's location, or the one a sale of memberships names)
    operation_id: uuid.UUID
    operation_number: int
    storage_id: Id | None
    client: Client
    sold: NonNegativeMoney
    paid: NonNegativeMoney
    source: Annotated[str, StringConstraints(max_length=200)]  # "api", "user:<user>"


class MembershipSaleRefused(DomainEvent):
    """`inventory.membership_sale_refused`: a membership unit inventory sold (a paid visit's membership
    line, or a desk sale) was not issued: refused at the sale (a paid visit's code in use: `code_taken`) or
    later by the memberships service (`membership.issue_rejected`: `code_taken`, `unknown_type`,
    `type_archived`, `code_required`, `location_not_allowed`). The operation's line records it refused,
    the unit is back in stock, its amount off the line; the client paid `amount` for nothing, and the
    location's administrator is told. Once per unit (its event id follows from the sale id)."""

    location_id: Id
    operation_id: uuid.UUID
    operation_number: int
    line: int  # the line's index in the operation
    sale_id: str
    membership_type_id: uuid.UUID
    product_name: str  # the type's product: the type's name
    code: str | None  # as given ("auto": to be generated; none: a no-code type)
    client: Client
    amount: NonNegativeMoney  # the unit's share of the line: what the client paid for it
    reason: str
    source: str  # "visit:<visit_id>", "api", "user:<user>"


class GiftCardSaleRefused(DomainEvent):
    """`inventory.gift_card_sale_refused`: a gift card unit inventory sold (a paid visit's gift card line, or
    a desk sale) was not issued: refused at the sale (a paid visit's code in use: `code_taken`) or later by
    the wallet service (`gift_card.issue_rejected`: `code_taken`, `type_not_found`, `archived`,
    `phone_required`, `phone_invalid`, `not_sold_online`, `wrong_location`). As `MembershipSaleRefused`:
    the line records it refused, the unit is back in stock, its amount off the line, the code free again;
    once per unit (its event id follows from the sale id)."""

    location_id: Id
    operation_id: uuid.UUID
    operation_number: int
    line: int  # the line's index in the operation
    sale_id: str
    gift_card_type_id: uuid.UUID
    product_name: str  # the type's product: the type's name
    code: str | None  # as given ("auto": to be generated; none: sold without a code)
    client: Client  # the buyer
    amount: NonNegativeMoney  # the unit's share of the line: what the client paid for it
    reason: str
    source: str  # "visit:<visit_id>", "api", "user:<user>"
