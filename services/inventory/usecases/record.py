"""Recording operations, whoever asks (the API, a batch of paid or arrived visits): the documents, their
stock movements, and the events they cause, all in the caller's transaction.

`Books` records many at once, in order: `add` each operation (pure: its lines, sales and stock deltas),
`save` them (one statement per table for all of them: the documents, their stock rows locked in key
order, the ledger, the balances; each operation moves the balances the previous one left), then
`publish` what each caused, in order, naming the event that caused it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from services.inventory import domain
from services.inventory import membership_rules as rules
from services.inventory.batch_repository import BatchRepository, StockKey
from services.inventory.domain import OpType
from services.inventory.repository import Repository
from services.inventory.sales_repository import SaleRow, SalesRepository
from services.inventory.usecases.codes import refuse_taken_codes
from services.inventory.usecases.sell_units import sell_units
from shared import topics
from shared.errors import Conflict
from shared.events import CENTS, Client, StockChanged, StockLow
from shared.events.inbound import MAX_MEMBERSHIP_UNITS
from shared.sales import MembershipUnit, membership_units, split_amount
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class OpLine:
    product_id: str | None  # None: a membership or gift card line whose type has no product (yet) here
    product_name: str
    unit: str
    quantity: Decimal
    price: Decimal  # per unit
    amount: Decimal  # the line's total
    membership_type_id: uuid.UUID | None = None
    codes: list[str | None] | None = None
    ref: int | None = None  # the line's index in its source (a visit's lines), for its sale ids
    min_stock: Decimal | None = None
    # Membership or gift card units refused before they were sold (a paid visit's code in use): (unit, reason).
    refused: tuple[tuple[int, str], ...] = ()
    gift_card_type_id: uuid.UUID | None = None
    holder: Client | None = None  # a gift card line's: who receives the cards, when not the buyer

    @property
    def kind(self) -> str | None:
        """What the line sells unit by unit (`domain.MEMBERSHIP`, `domain.GIFT_CARD`), or None: goods."""
        if self.membership_type_id is not None:
            return domain.MEMBERSHIP
        return domain.GIFT_CARD if self.gift_card_type_id is not None else None

    @property
    def type_id(self) -> uuid.UUID | None:
        return self.membership_type_id or self.gift_card_type_id

    @property
    def sells_units(self) -> bool:
        """A membership or gift card line: each unit its own sale (and code)."""
        return self.kind is not None

    @property
    def stocked(self) -> Decimal:
        """The quantity that moves stock: the units refused before the sale never left."""
        return self.quantity - len(self.refused)

    @classmethod
    def of_product(
        cls,
        product: Mapping[str, Any],
        quantity: Decimal,
        price: Decimal,
        amount: Decimal | None = None,
        codes: list[str | None] | None = None,
        ref: int | None = None,
        refused: tuple[tuple[int, str], ...] = (),
        holder: Client | None = None,
    ) -> OpLine:
        return cls(
            product["id"],
            product["name"],
            product["unit"],
            quantity,
            price,
            amount if amount is not None else (price * quantity).quantize(CENTS),
            product["membership_type_id"],
            codes,
            ref,
            product["min_stock"],
            refused,
            product["gift_card_type_id"],
            holder,
        )


@dataclass(frozen=True)
class Operation:
    """One operation to record. `sale_source`: what its membership units' sale ids derive from (default:
    the operation); `to_location_id`: the location of a relocation's `to_storage_id` (its side's events
    name it); `cause`: the consumed event that caused it (its published events carry its trace)."""

    chain_id: str
    op_id: uuid.UUID
    op_type: OpType
    location_id: str | None
    storage_id: str | None
    to_storage_id: str | None
    source: str
    client: Client | None
    comment: str | None
    lines: list[OpLine]
    at: datetime
    automatic: bool
    sale_source: str | None = None
    to_location_id: str | None = None
    cause: BaseModel | None = None


def sale_units(op: Operation) -> list[list[MembershipUnit]]:
    """The units each line of `op` sells (none but a sale's membership and gift card lines): each one a
    `membership.sold` or `gift_card.sold` with a sale id derived from the source (`sale_source`, else the
    operation), the line (its `ref`, else its index) and the unit."""
    sales: list[list[MembershipUnit]] = []
    for index, line in enumerate(op.lines):
        units = int(line.quantity) if line.sells_units and op.op_type == OpType.SALE else 0
        ref = line.ref if line.ref is not None else index
        sales.append(membership_units(op.sale_source or f"op:{op.op_id}", ref, units, line.codes) if units else [])
    return sales


def units_of(ops: Iterable[Operation]) -> list[tuple[str, str, str]]:
    """(chain, kind, sale id) of every unit these operations would sell."""
    return [
        (op.chain_id, kind, unit.sale_id)
        for op in ops
        for line, sold in zip(op.lines, sale_units(op), strict=True)
        if (kind := line.kind) is not None
        for unit in sold
    ]


@dataclass
class _Entry:
    op: Operation
    sales: list[list[MembershipUnit]]
    deltas: list[tuple[str, str, Decimal]]
    number: int | None = None  # once saved; None: its id was recorded before, nothing done
    moved: list[tuple[str, str, Decimal, Decimal]] = field(default_factory=list)


class Books:
    def __init__(self) -> None:
        self._entries: list[_Entry] = []

    def add(self, op: Operation) -> None:
        """Queues `op`: its membership units (each a `membership.sold`, its sale id derived from the
        source, the line and the unit) and its stock deltas (`domain.movements`)."""
        # Validation refused more already (visit.paid, POST /operations): this guards whatever calls next.
        # Only a sale's units are memberships (gift cards); an arrival of a hundred and one is stock.
        units = sale_units(op)
        for kind in domain.UNIT_KINDS:
            problem = domain.units_problem(
                (len(sold) for sold, line in zip(units, op.lines, strict=True) if line.kind == kind),
                MAX_MEMBERSHIP_UNITS,
            )
            if problem:
                raise ValueError(problem)
        # Membership and gift card products are stocked like any product; a sale of them only where no
        # storage is known (a paid visit at a location without one) sells without moving stock.
        stocked = [
            domain.Line(x.product_id, x.stocked)
            for x in op.lines
            if x.product_id is not None and x.stocked > 0 and (op.storage_id is not None or not x.sells_units)
        ]
        deltas: list[tuple[str, str, Decimal]] = []
        if stocked:
            assert op.storage_id is not None
            deltas = domain.movements(op.op_type, op.storage_id, op.to_storage_id, stocked)
        self._entries.append(_Entry(op, units, deltas))

    async def save(self, repo: BatchRepository) -> None:
        """Records every queued operation in order: the documents; their stock rows, locked; each
        operation's movements from the balances the previous one left (a write-off or relocation entered
        by hand may not take a storage below zero: 409 insufficient_stock); the ledger; the balances."""
        numbers = await repo.add_operations(
            [
                (
                    e.op.op_id,
                    e.op.chain_id,
                    e.op.op_type.value,
                    e.op.location_id,
                    e.op.storage_id,
                    e.op.to_storage_id,
                    e.op.source,
                    e.op.client.model_dump(exclude_none=True) if e.op.client else None,
                    e.op.comment,
                    [_line_json(line, sold) for line, sold in zip(e.op.lines, e.sales, strict=True)],
                    e.op.at,
                )
                for e in self._entries
            ]
        )
        recorded = []
        for e in self._entries:
            e.number = numbers.get((e.op.chain_id, e.op.op_id))
            if e.number is not None:
                recorded.append(e)
        locked = await repo.lock_stock((e.op.chain_id, s, p) for e in recorded for s, p, _ in e.deltas)
        balances: dict[str, dict[tuple[str, str], Decimal]] = {}
        for (chain_id, s, p), balance in locked.items():
            balances.setdefault(chain_id, {})[(s, p)] = balance
        for e in recorded:
            if e.deltas:
                e.moved = domain.take(balances[e.op.chain_id], e.deltas)
                _refuse_shortfall(e)
        await repo.add_movements(
            [(e.op.chain_id, s, p, e.op.op_id, d, e.op.at) for e in recorded for s, p, d in e.deltas]
        )
        await SalesRepository(repo.conn).add_sales([row for e in recorded for row in _sale_rows(e)])
        moved: dict[StockKey, Decimal] = {(c, s, p): balances[c][(s, p)] for c, s, p in locked}
        await repo.set_stock(moved)

    def publish(self, uow: UnitOfWork) -> None:
        """What each recorded operation caused, in order: `inventory.stock_changed` per moved balance,
        `inventory.stock_low` for one that fell low, `membership.sold` / `gift_card.sold` per unit sold."""
        for e in self._entries:
            if e.number is None:
                continue
            _stock_events(uow, e, e.number)
            for index, (line, sold) in enumerate(zip(e.op.lines, e.sales, strict=True)):
                if sold:
                    sell_units(uow, e.op, e.number, index, line, sold)

    def units_sold(self) -> list[tuple[str, str, str]]:
        """(chain, kind, sale id) of every unit the recorded operations sold."""
        return units_of(e.op for e in self._entries if e.number is not None)

    def number(self, op_id: uuid.UUID) -> int | None:
        return next((e.number for e in self._entries if e.op.op_id == op_id), None)


async def record(
    uow: UnitOfWork,
    repo: Repository,
    *,
    op_id: uuid.UUID,
    op_type: OpType,
    location_id: str | None,
    storage_id: str | None,
    to_storage_id: str | None,
    source: str,
    client: Client | None,
    comment: str | None,
    lines: list[OpLine],
    at: datetime,
    automatic: bool,
) -> int | None:
    """Records one operation and its effects (`Books`); answers its number (None: this id was recorded
    before, nothing done)."""
    # A relocation may cross to another location's storage: that side's events name its location.
    other = await repo.storages([to_storage_id]) if to_storage_id else {}
    op = Operation(
        chain_id=repo.chain_id,
        op_id=op_id,
        op_type=op_type,
        location_id=location_id,
        storage_id=storage_id,
        to_storage_id=to_storage_id,
        source=source,
        client=client,
        comment=comment,
        lines=lines,
        at=at,
        automatic=automatic,
        to_location_id=other[to_storage_id]["location_id"] if to_storage_id in other else None,
    )
    await refuse_taken_codes(SalesRepository(uow.conn), op, sale_units(op))
    books = Books()
    books.add(op)
    await books.save(BatchRepository(uow.conn))
    books.publish(uow)
    return books.number(op_id)


def _line_json(line: OpLine, units: list[MembershipUnit]) -> dict[str, Any]:
    """The line as `GET /operations` reads it; a sale's membership units refused before they were sold
    already come off its quantity and amount (`membership_rules.refuse`)."""
    out: dict[str, Any] = {
        "product_id": line.product_id,
        "product_name": line.product_name,
        "unit": line.unit,
        "quantity": domain.quantity_text(line.quantity),
        "price": str(line.price.quantize(CENTS)),
        "amount": str(line.amount.quantize(CENTS)),
    }
    if line.kind is not None:
        column, _ = domain.UNIT_KINDS[line.kind]
        out[column] = str(line.type_id)
    if units:
        out["sales"] = [{"sale_id": u.sale_id, "code": u.code} for u in units]
        shares = split_amount(line.amount, len(units))
        for unit, reason in line.refused:
            out = rules.refuse(out, unit, reason, shares[unit])
    return out


def _sale_rows(e: _Entry) -> list[SaleRow]:
    """The membership units of a recorded operation: its line and unit, its share of the line's amount, and
    the reason of one refused before it was sold."""
    rows: list[SaleRow] = []
    for index, (line, sold) in enumerate(zip(e.op.lines, e.sales, strict=True)):
        refused = dict(line.refused)
        shares = split_amount(line.amount, len(sold)) if sold else []
        for n, (unit, share) in enumerate(zip(sold, shares, strict=True)):
            rows.append(
                (
                    line.kind or domain.MEMBERSHIP,
                    e.op.chain_id,
                    unit.sale_id,
                    e.op.op_id,
                    index,
                    n,
                    share,
                    refused.get(n),
                    e.op.at if n in refused else None,
                )
            )
    return rows


def _refuse_shortfall(e: _Entry) -> None:
    short = domain.shortfall(e.moved, e.op.op_type, e.op.automatic)
    if short:
        s, p, b = short
        raise Conflict(
            "insufficient_stock",
            f"product {p} in storage {s} would fall to {domain.quantity_text(b)}: "
            f"a {e.op.op_type.value} takes only what is there",
        )


def _stock_events(uow: UnitOfWork, e: _Entry, number: int) -> None:
    op = e.op
    products = {line.product_id: line for line in op.lines if line.product_id}
    for storage_id, product_id, delta, balance in e.moved:
        product = products[product_id]
        where = op.to_location_id if storage_id == op.to_storage_id and op.to_location_id else op.location_id
        uow.publish(
            topics.INVENTORY_STOCK_CHANGED,
            product_id,
            StockChanged(
                chain_id=op.chain_id,
                location_id=where,
                storage_id=storage_id,
                product_id=product_id,
                product_name=product.product_name,
                unit=product.unit,
                delta=delta,
                balance=balance,
                operation_id=op.op_id,
                operation_number=number,
                operation_type=op.op_type.value,
                source=op.source,
            ),
            cause=op.cause,
        )
        reason = domain.stock_alert(balance - delta, balance, product.min_stock)
        if reason is not None:
            uow.publish(
                topics.INVENTORY_STOCK_LOW,
                product_id,
                StockLow(
                    chain_id=op.chain_id,
                    location_id=where,
                    storage_id=storage_id,
                    product_id=product_id,
                    product_name=product.product_name,
                    unit=product.unit,
                    balance=balance,
                    min_stock=product.min_stock,
                    reason=reason.value,
                    operation_id=op.op_id,
                ),
                cause=op.cause,
            )
