"""Pure inventory rules: quantities, stock arithmetic, alerts, membership units, consumables.

Standard library only, no I/O: the use cases load what these rules need and store what they answer."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

PIECES = "pcs"
UNITS = ("pcs", "g", "kg", "ml", "l", "m")
MEMBERSHIPS_CATEGORY = "Memberships"
GIFT_CARDS_CATEGORY = "Gift cards"
# What a product sells unit by unit (each unit its own sale and code), by the type it follows.
MEMBERSHIP = "membership"
GIFT_CARD = "gift_card"
# kind -> (its product's type column, its category)
UNIT_KINDS = {
    MEMBERSHIP: ("membership_type_id", MEMBERSHIPS_CATEGORY),
    GIFT_CARD: ("gift_card_type_id", GIFT_CARDS_CATEGORY),
}
AUTO_CODE = "auto"
QUANTITY_DECIMALS = 3
# The lines of one operation, and the balances one visit's consumables may move: each is a stock row
# and an `inventory.stock_changed`.
MAX_OPERATION_LINES = 500
ZERO = Decimal("0")
# Membership products are derived from their type: same type and location, same product id.
MEMBERSHIP_PRODUCT_NAMESPACE = uuid.UUID("5b0c6c1e-3d55-4f7e-9a39-6d8a1f0e7a21")


class OpType(StrEnum):
    ARRIVAL = "arrival"
    SALE = "sale"
    WRITE_OFF = "write_off"
    RELOCATION = "relocation"


class ConsumablesOn(StrEnum):
    ARRIVED = "arrived"  # Altegio's default: when the visit is marked arrived
    PAID = "paid"  # when the visit is paid


# --- quantities ---------------------------------------------------------------------------------


def quantity_problem(quantity: Decimal, unit: str) -> str | None:
    """Why `quantity` of a product counted in `unit` is not acceptable on a line, or None."""
    if not quantity.is_finite():
        return "quantity must be a number"
    if quantity <= 0:
        return "quantity must be greater than 0"
    exponent = quantity.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -QUANTITY_DECIMALS:
        return f"quantity has at most {QUANTITY_DECIMALS} decimals"
    if unit == PIECES and quantity != quantity.to_integral_value():
        return "pieces are counted in whole numbers"
    return None


def quantity_text(quantity: Decimal) -> str:
    """ "2", "0.5", "-1.25": no trailing zeros, never an exponent (NUMERIC(14,3) answers "2.000")."""
    text = format(quantity.normalize(), "f")
    return "0" if text in ("-0", "") else text


# --- stock arithmetic ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    product_id: str
    quantity: Decimal


def movements(
    op_type: OpType, storage_id: str, to_storage_id: str | None, lines: Iterable[Line]
) -> list[tuple[str, str, Decimal]]:
    """The stock deltas of an operation, one per (storage, product), sorted (so two operations lock
    their balance rows in one order and never deadlock). Arrival adds, sale and write-off take, a
    relocation takes from `storage_id` and adds to `to_storage_id`."""
    totals: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        if op_type == OpType.ARRIVAL:
            totals[(storage_id, line.product_id)] += line.quantity
        elif op_type in (OpType.SALE, OpType.WRITE_OFF):
            totals[(storage_id, line.product_id)] -= line.quantity
        else:
            if to_storage_id is None:
                raise ValueError("a relocation needs to_storage_id")
            totals[(storage_id, line.product_id)] -= line.quantity
            totals[(to_storage_id, line.product_id)] += line.quantity
    return sorted((s, p, d) for (s, p), d in totals.items() if d != 0)


def may_go_negative(op_type: OpType, automatic: bool) -> bool:
    """A sale records what already left at the till, and consumables what was used at the chair: never
    refused, the shortfall is reported. A write-off or relocation entered by hand moves goods that must
    be there: it may not take a storage below zero."""
    return op_type == OpType.SALE or automatic


def take(
    balances: dict[tuple[str, str], Decimal], deltas: Iterable[tuple[str, str, Decimal]]
) -> list[tuple[str, str, Decimal, Decimal]]:
    """Moves `balances` ((storage, product) -> balance; a missing one is 0) by an operation's deltas, in
    place: the next operation (of the batch) starts from what this one left. Answers (storage, product,
    delta, balance after) per delta."""
    moved = []
    for storage_id, product_id, delta in deltas:
        after = balances.get((storage_id, product_id), ZERO) + delta
        balances[(storage_id, product_id)] = after
        moved.append((storage_id, product_id, delta, after))
    return moved


def shortfall(
    moved: Iterable[tuple[str, str, Decimal, Decimal]], op_type: OpType, automatic: bool
) -> tuple[str, str, Decimal] | None:
    """The first (storage, product, balance) that an operation which may not go negative took below
    zero, or None."""
    if may_go_negative(op_type, automatic):
        return None
    return next(((s, p, b) for s, p, d, b in moved if d < 0 and b < 0), None)


class LowReason(StrEnum):
    BELOW_MIN = "below_min_stock"
    NEGATIVE = "negative"


def stock_alert(before: Decimal, after: Decimal, min_stock: Decimal | None) -> LowReason | None:
    """`inventory.stock_low` when a balance falls under a line it was not under before: below zero
    (always), or under the product's minimum stock. Staying low, or rising, says nothing again."""
    if after >= before:
        return None
    if after < 0 <= before:
        return LowReason.NEGATIVE
    if min_stock is not None and after < min_stock <= before:
        return LowReason.BELOW_MIN
    return None


# --- memberships as products --------------------------------------------------------------------


def membership_product_id(chain_id: str, membership_type_id: str, location_id: str | None) -> str:
    return str(uuid.uuid5(MEMBERSHIP_PRODUCT_NAMESPACE, f"{chain_id}/{membership_type_id}/{location_id or '*'}"))


def type_product_id(kind: str, chain_id: str, type_id: str, location_id: str | None) -> str:
    """The product of a membership or gift card type at a location (None: its chain product)."""
    if kind == MEMBERSHIP:
        return membership_product_id(chain_id, type_id, location_id)
    return str(uuid.uuid5(MEMBERSHIP_PRODUCT_NAMESPACE, f"{chain_id}/{kind}/{type_id}/{location_id or '*'}"))


def unit_kind(product: Mapping[str, object]) -> str | None:
    """What a product sells unit by unit: "membership", "gift_card", or None (goods)."""
    return next((kind for kind, (column, _) in UNIT_KINDS.items() if product.get(column) is not None), None)


def membership_product_locations(type_location_ids: Iterable[str]) -> list[str | None]:
    """A type valid at some locations has a product at each; one valid everywhere, one chain product."""
    ids = sorted(set(type_location_ids))
    return list(ids) if ids else [None]


def units_problem(quantities: Iterable[int], limit: int) -> str | None:
    """Why the membership units of one message or operation are too many to make, or None: each unit is
    a `membership.sold` (and a membership, and its notices), so they are counted before any is made."""
    total = sum(quantities)
    if total > limit:
        return f"{total} memberships sold at once; at most {limit} per visit or operation"
    return None


def code_problem(codes: list[str | None] | None, quantity: int, allow_without_code: bool) -> str | None:
    """Why the codes of a membership sale line are not acceptable, or None."""
    if not codes:
        return None if allow_without_code else 'a code per unit is needed (or "auto" to generate one)'
    if len(codes) != quantity:
        return f"{quantity} unit(s) need {quantity} code(s), got {len(codes)}"
    if any(c is None for c in codes) and not allow_without_code:
        return 'a code per unit is needed (or "auto" to generate one)'
    given = [c.upper() for c in codes if c is not None and c.lower() != AUTO_CODE]
    if len(set(given)) != len(given):
        return "a code is given twice"
    return None


# --- consumables --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BillOfMaterials:
    service_id: str
    location_id: str  # "" for the chain-wide bill
    storage_id: str | None
    items: tuple[Line, ...]


def consumables_storage(named: str | None, at_location: Iterable[str]) -> str | None:
    """Where a location writes consumables off when a bill names no storage: its settings' storage,
    else its only storage (None where it has several and names none)."""
    if named is not None:
        return named
    storages = set(at_location)
    return storages.pop() if len(storages) == 1 else None


@dataclass(frozen=True)
class Consumption:
    """What one visit's services consume, per storage."""

    per_storage: dict[str, list[Line]] = field(default_factory=dict)
    services: list[str] = field(default_factory=list)  # the services written off by this consumption
    missing_storage: list[str] = field(default_factory=list)  # services whose storage is unknown

    @property
    def wanted(self) -> list[str]:
        """The services this consumption would write off (whose storage is known or not): each is
        claimed once per visit before it is."""
        return sorted([*self.services, *self.missing_storage])

    def size_problem(self, limit: int) -> str | None:
        """Why this consumption moves too many balances to write off (each one a row and an event), or
        None: 200 services with 50-item bills would move 10,000."""
        moved = sum(len(items) for items in self.per_storage.values())
        if moved > limit:
            return f"the consumables move {moved} balances; a visit moves at most {limit}"
        return None


def service_quantities(service_ids: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Units of each service in a visit: the sum over its lines (or its entries in a status event)."""
    totals: dict[str, int] = defaultdict(int)
    for service_id, quantity in service_ids:
        totals[service_id] += quantity
    return dict(totals)


def pick_bill(boms: Iterable[BillOfMaterials], service_id: str, location_id: str) -> BillOfMaterials | None:
    """The location's own bill of the service, else the chain-wide one."""
    found = {b.location_id: b for b in boms if b.service_id == service_id}
    return found.get(location_id) or found.get("")


def consumption(
    services: Mapping[str, int],
    done: Iterable[str],
    boms: Iterable[BillOfMaterials],
    location_id: str,
    default_storage: str | None,
) -> Consumption:
    """The consumables of a visit's services not yet written off: each service's bill (the location's,
    else the chain's) times its units, from the bill's storage, else the location's consumables storage.
    A service without a bill consumes nothing and is not marked done; one whose storage is unknown is
    named in `missing_storage` (the caller refuses the message with that reason)."""
    boms = list(boms)
    already = set(done)
    per_storage: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    written: list[str] = []
    missing: list[str] = []
    for service_id in sorted(services):
        if service_id in already:
            continue
        bill = pick_bill(boms, service_id, location_id)
        if bill is None:
            continue
        storage = bill.storage_id or default_storage
        if storage is None:
            missing.append(service_id)
            continue
        for item in bill.items:
            per_storage[storage][item.product_id] += item.quantity * services[service_id]
        written.append(service_id)
    return Consumption(
        per_storage={s: [Line(p, q) for p, q in sorted(items.items())] for s, items in sorted(per_storage.items())},
        services=written,
        missing_storage=missing,
    )
