"""`POST /operations`: an arrival, sale, write-off or relocation entered at the desk."""

from __future__ import annotations

import uuid

import asyncpg

from services.inventory import domain, membership_rules
from services.inventory.domain import OpType
from services.inventory.repository import Repository
from services.inventory.schemas import OperationIn
from services.inventory.usecases.desk_sale import publish_sale_recorded
from services.inventory.usecases.record import OpLine, record
from shared.errors import Conflict, Invalid
from shared.events import utcnow
from shared.events.inbound import MAX_MEMBERSHIP_UNITS
from shared.uow import UnitOfWork


async def post_operation(uow: UnitOfWork, chain_id: str, body: OperationIn) -> asyncpg.Record:
    repo = Repository(uow.conn, chain_id)
    op_type = OpType(body.type)
    op_id = body.id or uuid.uuid4()
    if body.id is not None:
        existing = await repo.operation(op_id)
        if existing is not None:
            return existing  # a retry of a recorded operation: the same answer, nothing done twice

    products = await repo.products(line.product_id for line in body.lines)
    lines: list[OpLine] = []
    has_goods = False
    for i, line in enumerate(body.lines):
        product = products.get(line.product_id)
        if product is None:
            raise Invalid("unknown_product", f"no product {line.product_id}", field=f"lines.{i}.product_id")
        problem = domain.quantity_problem(line.quantity, product["unit"])
        if problem:
            raise Invalid("invalid_quantity", problem, field=f"lines.{i}.quantity")
        # A membership (gift card) product is stocked like any product (arrival, write-off, relocation); a
        # sale of it sells memberships (gift cards), one per unit, each with its code.
        if domain.unit_kind(product) is not None and op_type == OpType.SALE:
            if product["archived"]:
                raise Conflict(
                    "product_archived", f"{product['name']} is no longer sold", field=f"lines.{i}.product_id"
                )
        elif line.codes:
            raise Invalid(
                "codes_not_allowed",
                "codes are for sales of membership and gift card products",
                field=f"lines.{i}.codes",
            )
        else:
            has_goods = True
        default = product["sale_price"] if op_type == OpType.SALE else product["cost_price"]
        lines.append(
            OpLine.of_product(
                product,
                line.quantity,
                line.price if line.price is not None else default,
                codes=line.codes,
                holder=body.holder,
            )
        )

    location_id = await _where(repo, body, op_type, has_goods)
    _check_memberships(body, lines, products, location_id)
    storage_id = body.storage_id or await _default_storage(repo, location_id)
    number = await record(  # nothing done when a concurrent retry with this id recorded it first
        uow,
        repo,
        op_id=op_id,
        op_type=op_type,
        location_id=location_id,
        storage_id=storage_id,
        to_storage_id=body.to_storage_id,
        source=f"user:{body.user}" if body.user else "api",
        client=body.client,
        comment=body.comment,
        lines=lines,
        at=body.occurred_at or utcnow(),
        automatic=False,
    )
    row = await repo.operation(op_id)
    assert row is not None  # recorded now, or by a concurrent retry with this id (ids are per chain)
    if number is not None:  # recorded by this request: a desk sale for a client counts for loyalty, once
        publish_sale_recorded(uow, chain_id, row, body.client, lines, products)
    return row


async def _where(repo: Repository, body: OperationIn, op_type: OpType, has_goods: bool) -> str | None:
    """The operation's location: its storage's (a storage is needed wherever goods move)."""
    if op_type == OpType.RELOCATION:
        if body.to_storage_id is None:
            raise Invalid("to_storage_required", "a relocation names to_storage_id", field="to_storage_id")
        if body.to_storage_id == body.storage_id:
            raise Invalid("same_storage", "a relocation moves goods to another storage", field="to_storage_id")
    elif body.to_storage_id is not None:
        raise Invalid("to_storage_not_allowed", "only a relocation has to_storage_id", field="to_storage_id")
    if body.storage_id is None:
        if has_goods or op_type != OpType.SALE:
            raise Invalid("storage_required", "goods move in or out of a storage: name storage_id", field="storage_id")
        if body.location_id is None:
            raise Invalid("location_required", "a sale without a storage names its location_id", field="location_id")
        return body.location_id
    wanted = [body.storage_id] + ([body.to_storage_id] if body.to_storage_id else [])
    storages = await repo.storages(wanted)
    for name, storage_id in (("storage_id", body.storage_id), ("to_storage_id", body.to_storage_id)):
        if storage_id is not None and storage_id not in storages:
            raise Invalid("unknown_storage", f"no storage {storage_id}", field=name)
    location: str = storages[body.storage_id]["location_id"]
    if body.location_id is not None and body.location_id != location:
        raise Invalid("location_mismatch", f"storage {body.storage_id} is at {location}", field="location_id")
    return location


async def _default_storage(repo: Repository, location_id: str | None) -> str | None:
    """Where a sale of memberships only that names no storage takes them from, as a paid visit's
    membership line does: the location's consumables storage, else its only storage (else none: sold
    without moving stock)."""
    if location_id is None:
        return None
    settings = await repo.settings(location_id)
    named = settings["consumables_storage_id"] if settings else None
    return domain.consumables_storage(named, await repo.storage_ids_at(location_id, limit=2))


# kind -> (what its units are called, the error code of too many of them)
UNIT_WORDS = {
    domain.MEMBERSHIP: ("memberships", "too_many_memberships"),
    domain.GIFT_CARD: ("gift cards", "too_many_gift_cards"),
}


def _check_memberships(
    body: OperationIn, lines: list[OpLine], products: dict[str, asyncpg.Record], location_id: str | None
) -> None:
    """A sale's membership and gift card lines: whole units, sold here, their codes, their count."""
    if body.holder is not None and not any(line.kind == domain.GIFT_CARD for line in lines):
        raise Invalid("holder_not_allowed", "a holder receives gift cards: no line sells one", field="holder")
    units = dict.fromkeys(domain.UNIT_KINDS, 0)
    for i, line in enumerate(lines):
        if body.type != OpType.SALE or line.kind is None:
            continue
        words, too_many = UNIT_WORDS[line.kind]
        # Each unit is a membership.sold (gift_card.sold): bounded before a single one is made.
        if line.quantity > MAX_MEMBERSHIP_UNITS:
            raise Invalid(too_many, f"a line sells at most {MAX_MEMBERSHIP_UNITS} {words}", field=f"lines.{i}.quantity")
        units[line.kind] += int(line.quantity)
        product = products[line.product_id or ""]
        assert location_id is not None
        if product["location_id"] is not None and product["location_id"] != location_id:
            raise Invalid(
                "not_sold_here", f"{product['name']} is sold at {product['location_id']}", field=f"lines.{i}.product_id"
            )
        if line.quantity != line.quantity.to_integral_value():
            raise Invalid("invalid_quantity", f"{words} are sold in whole units", field=f"lines.{i}.quantity")
        problem = domain.code_problem(line.codes, int(line.quantity), product["allow_without_code"])
        if problem:
            raise Invalid("codes_invalid", problem, field=f"lines.{i}.codes")
        if not line.codes and body.client is None and (line.kind == domain.MEMBERSHIP or body.holder is None):
            raise Invalid(
                "client_required", f"{words} sold without a code belong to a client: name client", field="client"
            )
    for kind in domain.UNIT_KINDS:
        # Each membership (gift card) has its own code: one given twice in the request is refused at its repeat.
        repeated = membership_rules.repeats([line.codes if line.kind == kind else None for line in lines])
        if repeated:
            i, n = repeated[0]
            raise Invalid("codes_invalid", "a code is given twice", field=f"lines.{i}.codes.{n}")
        words, too_many = UNIT_WORDS[kind]
        if units[kind] > MAX_MEMBERSHIP_UNITS:
            raise Invalid(
                too_many,
                f"the lines sell {units[kind]} {words}; an operation sells at most {MAX_MEMBERSHIP_UNITS}",
                field="lines",
            )
