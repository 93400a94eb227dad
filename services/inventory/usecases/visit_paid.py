"""`visit.paid`: product lines are sold out of their storage (one sale per storage), membership lines
are membership sales (one `membership.sold` per unit), and the consumables of its services are written
off where the location writes them off on payment. Applied once per visit (the inbox key
`visit.paid:<visit_id>`); the sale ids of its membership units follow from the visit and the line, so
even a replay past the inbox issues nothing twice."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal

from services.inventory import domain
from services.inventory.domain import ConsumablesOn, OpType
from services.inventory.repository import Repository
from services.inventory.usecases.consumables import settings_of, write_off
from services.inventory.usecases.record import OpLine, record
from shared.events import CENTS, VisitPaid
from shared.sales import visit_line_codes, visit_membership_lines, visit_source
from shared.uow import UnitOfWork


async def apply_paid_visit(uow: UnitOfWork, e: VisitPaid) -> None:
    repo = Repository(uow.conn, e.chain_id)
    source = visit_source(e.visit_id)
    consumables_on, default_storage = await settings_of(repo, e.location_id)
    await _sell_products(uow, repo, e, source, default_storage)
    await _sell_memberships(uow, repo, e, source)
    if consumables_on == ConsumablesOn.PAID:
        services = domain.service_quantities((x.item_id, x.quantity) for x in e.lines if x.kind == "service")
        await write_off(uow, repo, e.visit_id, e.location_id, services, default_storage, e.occurred_at)


async def _sell_products(uow: UnitOfWork, repo: Repository, e: VisitPaid, source: str,
                         default_storage: str | None) -> None:
    indexed = [(i, line) for i, line in enumerate(e.lines) if line.kind == "product"]
    if not indexed:
        return
    products = await repo.products(line.item_id for _, line in indexed)
    per_storage: dict[str, list[OpLine]] = defaultdict(list)
    for i, line in indexed:
        product = products.get(line.item_id)
        if product is None or product["membership_type_id"] is not None:
            raise ValueError(f"lines.{i}.item_id: unknown product {line.item_id}")
        storage_id = line.storage_id or default_storage
        if storage_id is None:
            raise ValueError(f"lines.{i}.storage_id: needed, {e.location_id} has no single consumables storage")
        price = (line.paid / line.quantity).quantize(CENTS)
        per_storage[storage_id].append(OpLine.of_product(product, Decimal(line.quantity), price, amount=line.paid))
    storages = await repo.storages(per_storage)
    for i, line in indexed:
        storage_id = line.storage_id or default_storage
        if storage_id not in storages:
            raise ValueError(f"lines.{i}.storage_id: unknown storage {storage_id}")
    for storage_id, lines in sorted(per_storage.items()):
        await record(uow, repo, op_id=uuid.uuid4(), op_type=OpType.SALE, location_id=e.location_id,
                     storage_id=storage_id, to_storage_id=None, source=source, client=e.client, comment=None,
                     lines=lines, at=e.occurred_at, automatic=False)


async def _sell_memberships(uow: UnitOfWork, repo: Repository, e: VisitPaid, source: str) -> None:
    lines: list[OpLine] = []
    for i, line, type_id in visit_membership_lines(e):
        if type_id is None:
            raise ValueError(f"lines.{i}.item_id: a membership line names its membership type's id")
        product = await repo.membership_product_at(type_id, e.location_id)
        codes = visit_line_codes(line.code, line.quantity)  # as the memberships service derives them too
        price = (line.paid / line.quantity).quantize(CENTS)
        if product is not None:
            lines.append(OpLine.of_product(product, Decimal(line.quantity), price, amount=line.paid, codes=codes,
                                           ref=i))
        else:  # the type's product is not here (yet): the memberships service is the judge of the sale
            lines.append(OpLine(None, f"membership type {type_id}", domain.PIECES, Decimal(line.quantity), price,
                                line.paid, type_id, codes, ref=i))
    if lines:
        await record(uow, repo, op_id=uuid.uuid4(), op_type=OpType.SALE, location_id=e.location_id,
                     storage_id=None, to_storage_id=None, source=source, client=e.client, comment=None,
                     lines=lines, at=e.occurred_at, automatic=False, sale_source=source)
