"""Consumables: each service's bill of materials times its units, written off once per visit and
service, when the visit is marked arrived (`visit.status_arrived`) or paid (`visit.paid`), whichever
the location's inventory settings name."""

from __future__ import annotations

import uuid
from datetime import datetime

from services.inventory import domain
from services.inventory.domain import ConsumablesOn, OpType
from services.inventory.repository import Repository
from services.inventory.usecases.record import OpLine, record
from shared.events import CENTS, VisitStatus
from shared.uow import UnitOfWork


async def settings_of(repo: Repository, location_id: str) -> tuple[ConsumablesOn, str | None]:
    """When the location writes consumables off, and from which storage when a bill names none: its
    settings' storage, else its only storage."""
    row = await repo.settings(location_id)
    on = ConsumablesOn(row["consumables_on"]) if row else ConsumablesOn.ARRIVED
    storage = row["consumables_storage_id"] if row else None
    if storage is None:
        storages = await repo.list_storages(location_id)
        storage = storages[0]["id"] if len(storages) == 1 else None
    return on, storage


async def write_off_on_arrival(uow: UnitOfWork, e: VisitStatus) -> None:
    repo = Repository(uow.conn, e.chain_id)
    on, storage = await settings_of(repo, e.location_id)
    if on == ConsumablesOn.ARRIVED:
        services = domain.service_quantities((s.service_id, 1) for s in e.services)
        await write_off(uow, repo, e.visit_id, e.location_id, services, storage, e.occurred_at)


async def write_off(uow: UnitOfWork, repo: Repository, visit_id: str, location_id: str, services: dict[str, int],
                    default_storage: str | None, at: datetime) -> None:
    if not services:
        return
    boms = await repo.boms(services, location_id)
    plan = domain.consumption(services, await repo.consumables_done(visit_id), boms, location_id, default_storage)
    if plan.missing_storage:
        raise ValueError(f"no storage to write the consumables of {', '.join(plan.missing_storage)} off at "
                         f"{location_id}: give the bill a storage_id, or the location a consumables_storage_id")
    too_big = plan.size_problem(domain.MAX_OPERATION_LINES)
    if too_big:
        raise ValueError(f"visit {visit_id}: {too_big}")
    claimed = set(await repo.claim_consumables(visit_id, plan.services))
    if claimed != set(plan.services):  # another event of this visit wrote some off meanwhile: plan again
        plan = domain.consumption({s: q for s, q in services.items() if s in claimed}, [], boms, location_id,
                                  default_storage)
    for storage_id, items in plan.per_storage.items():
        if not await repo.storages([storage_id]):
            raise ValueError(f"unknown storage {storage_id} in the consumables of visit {visit_id}")
        products = await repo.products(i.product_id for i in items)
        missing = [i.product_id for i in items if i.product_id not in products]
        if missing:
            raise ValueError(f"unknown product {', '.join(missing)} in a bill of materials")
        lines = [OpLine.of_product(products[i.product_id], i.quantity, products[i.product_id]["cost_price"],
                                   amount=(products[i.product_id]["cost_price"] * i.quantity).quantize(CENTS))
                 for i in items]
        await record(
            uow, repo, op_id=uuid.uuid4(),
            op_type=OpType.WRITE_OFF, location_id=location_id, storage_id=storage_id, to_storage_id=None,
            source=f"visit:{visit_id}", client=None, comment=f"consumables: {', '.join(sorted(claimed))}",
            lines=lines, at=at, automatic=True,
        )
