"""Recording one operation, whoever asks (the API, a paid visit, an arrived visit): the document, its
stock movements, and the events they cause, all in the caller's transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.inventory import domain
from services.inventory.domain import OpType
from services.inventory.repository import Repository
from shared import topics
from shared.errors import Conflict
from shared.events import CENTS, Client, StockChanged, StockLow
from shared.events.inbound import MAX_MEMBERSHIP_UNITS
from shared.sales import MembershipUnit, membership_sales, membership_units
from shared.uow import UnitOfWork

# The client named on a membership sold at the counter to nobody in particular (a coded gift card):
# membership.sold needs one, and the memberships service finds the membership by its code anyway.
WALK_IN = Client(id="walk-in")


@dataclass(frozen=True)
class OpLine:
    product_id: str | None  # None: a membership line whose type has no product (yet) at this location
    product_name: str
    unit: str
    quantity: Decimal
    price: Decimal  # per unit
    amount: Decimal  # the line's total
    membership_type_id: uuid.UUID | None = None
    codes: list[str | None] | None = None
    ref: int | None = None  # the line's index in its source (a visit's lines), for its sale ids
    min_stock: Decimal | None = None

    @property
    def is_membership(self) -> bool:
        return self.membership_type_id is not None

    @classmethod
    def of_product(cls, product: asyncpg.Record, quantity: Decimal, price: Decimal,
                   amount: Decimal | None = None, codes: list[str | None] | None = None,
                   ref: int | None = None) -> OpLine:
        return cls(product["id"], product["name"], product["unit"], quantity, price,
                   amount if amount is not None else (price * quantity).quantize(CENTS),
                   product["membership_type_id"], codes, ref, product["min_stock"])


async def record(uow: UnitOfWork, repo: Repository, *, op_id: uuid.UUID, op_type: OpType,
                 location_id: str | None, storage_id: str | None, to_storage_id: str | None, source: str,
                 client: Client | None, comment: str | None, lines: list[OpLine], at: datetime,
                 automatic: bool, sale_source: str | None = None) -> int | None:
    """Records the operation and its effects; answers its number (None: this id was recorded before,
    nothing done). Stock: `domain.movements`; a manual write-off or relocation may not take a storage
    below zero (409 insufficient_stock); every moved balance publishes `inventory.stock_changed`, one
    that falls low `inventory.stock_low`; every membership unit sold publishes `membership.sold`, its
    sale id derived from `sale_source` (default: this operation), the line and the unit."""
    # Validation refused more already (visit.paid, POST /operations): this guards whatever calls next.
    problem = domain.units_problem((int(line.quantity) for line in lines if line.is_membership), MAX_MEMBERSHIP_UNITS)
    if problem:
        raise ValueError(problem)
    sales: list[list[MembershipUnit]] = []
    for index, line in enumerate(lines):
        units = int(line.quantity) if line.is_membership else 0
        ref = line.ref if line.ref is not None else index
        sales.append(membership_units(sale_source or f"op:{op_id}", ref, units, line.codes)
                     if units else [])
    number = await repo.add_operation(
        op_id, op_type.value, location_id, storage_id, to_storage_id, source,
        client.model_dump(exclude_none=True) if client else None, comment,
        [_line_json(line, sold) for line, sold in zip(lines, sales, strict=True)], at,
    )
    if number is None:
        return None
    stocked = [domain.Line(line.product_id, line.quantity) for line in lines
               if line.product_id is not None and not line.is_membership]
    if stocked:
        assert storage_id is not None
        moved = await repo.apply_stock(op_id, domain.movements(op_type, storage_id, to_storage_id, stocked), at)
        await _stock_events(uow, repo, moved, {line.product_id: line for line in lines if line.product_id},
                            op_id=op_id, number=number, op_type=op_type, source=source, location_id=location_id,
                            to_storage_id=to_storage_id, automatic=automatic)
    for line, sold in zip(lines, sales, strict=True):
        if sold:
            assert line.membership_type_id is not None and location_id is not None
            _sell_memberships(uow, repo.chain_id, location_id, line, sold, client, at)
    return number


def _line_json(line: OpLine, units: list[MembershipUnit]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "product_id": line.product_id, "product_name": line.product_name, "unit": line.unit,
        "quantity": domain.quantity_text(line.quantity), "price": str(line.price.quantize(CENTS)),
        "amount": str(line.amount.quantize(CENTS)),
    }
    if line.is_membership:
        out["membership_type_id"] = str(line.membership_type_id)
        out["sales"] = [{"sale_id": u.sale_id, "code": u.code} for u in units]
    return out


async def _stock_events(uow: UnitOfWork, repo: Repository, moved: list[tuple[str, str, Decimal, Decimal]],
                        products: dict[str, OpLine], *, op_id: uuid.UUID, number: int, op_type: OpType,
                        source: str, location_id: str | None, to_storage_id: str | None, automatic: bool) -> None:
    if not domain.may_go_negative(op_type, automatic):
        short = [(s, p, b) for s, p, d, b in moved if d < 0 and b < 0]
        if short:
            s, p, b = short[0]
            raise Conflict("insufficient_stock",
                           f"product {p} in storage {s} would fall to {domain.quantity_text(b)}: "
                           f"a {op_type.value} takes only what is there")
    # A relocation may cross to another location's storage: that side's events name its location.
    other = await repo.storages([to_storage_id]) if to_storage_id else {}
    for storage_id, product_id, delta, balance in moved:
        product = products[product_id]
        where = other[storage_id]["location_id"] if storage_id in other else location_id
        uow.publish(topics.INVENTORY_STOCK_CHANGED, product_id, StockChanged(
            chain_id=repo.chain_id, location_id=where, storage_id=storage_id, product_id=product_id,
            product_name=product.product_name, unit=product.unit, delta=delta, balance=balance,
            operation_id=op_id, operation_number=number, operation_type=op_type.value, source=source,
        ))
        reason = domain.stock_alert(balance - delta, balance, product.min_stock)
        if reason is not None:
            uow.publish(topics.INVENTORY_STOCK_LOW, product_id, StockLow(
                chain_id=repo.chain_id, location_id=where, storage_id=storage_id, product_id=product_id,
                product_name=product.product_name, unit=product.unit, balance=balance,
                min_stock=product.min_stock, reason=reason.value, operation_id=op_id,
            ))


def _sell_memberships(uow: UnitOfWork, chain_id: str, location_id: str, line: OpLine,
                      units: list[MembershipUnit], client: Client | None, at: datetime) -> None:
    assert line.membership_type_id is not None
    for sold in membership_sales(chain_id, location_id, line.membership_type_id, units, line.amount,
                                 client or WALK_IN, at):
        uow.publish(topics.MEMBERSHIP_SOLD, sold.client.id, sold)
