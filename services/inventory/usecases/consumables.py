"""Consumables: each service's bill of materials times its units, written off once per visit and
service, when the visit is marked arrived (`visit.status_arrived`) or paid (`visit.paid`), whichever
the location's inventory settings name.

A batch of arrived visits: load (settings, bills, storages, products: `Reference`) -> decide which
services each visit would write off (`Consumables.want`, record by record: a visit's second event in the
batch sees the first's) -> claim them all at once (what was written off before, or meanwhile by another
transaction, is not claimed again) -> the write-offs of what each claimed (`Consumables.write_offs`) ->
save them all (`Books`) -> publish in record order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from services.inventory import domain
from services.inventory.batch_repository import BatchRepository
from services.inventory.domain import ConsumablesOn, OpType
from services.inventory.usecases.record import Books, Operation, OpLine
from services.inventory.usecases.reference import Reference
from shared.events import CENTS, VisitPaid, VisitStatus
from shared.uow import UnitOfWork


async def write_off_on_arrival(uow: UnitOfWork, events: list[VisitStatus]) -> None:
    repo = BatchRepository(uow.conn)
    ref = await Reference.load(
        repo,
        {(e.chain_id, e.location_id) for e in events},
        [(e.chain_id, e.location_id, s.service_id, ConsumablesOn.ARRIVED) for e in events for s in e.services],
        storage_ids=(),
        product_ids=(),
    )
    consumables = Consumables(ref)
    wanted = [
        consumables.want(e, domain.service_quantities((s.service_id, 1) for s in e.services), ConsumablesOn.ARRIVED)
        for e in events
    ]
    claimed = await consumables.claim(repo)
    books = Books()
    for want in wanted:
        for op in consumables.write_offs(want, claimed):
            books.add(op)
    await books.save(repo)
    books.publish(uow)


@dataclass(frozen=True)
class Want:
    """A visit's services with a bill, not yet written off (as far as the batch knows), and their units."""

    chain_id: str
    visit_id: str
    location_id: str
    services: dict[str, int]
    at: datetime
    cause: BaseModel


class Consumables:
    """The consumables of a batch's visits, written off once per visit and service."""

    def __init__(self, ref: Reference) -> None:
        self.ref = ref
        self._done: dict[tuple[str, str], set[str]] = {}  # (chain, visit) -> services wanted by earlier records

    def want(self, e: VisitStatus | VisitPaid, services: dict[str, int], when: ConsumablesOn) -> Want | None:
        """What the event's visit would write off, where its location writes consumables off `when`."""
        chain_id, visit_id, location_id = e.chain_id, e.visit_id, e.location_id
        settings = self.ref.settings[(chain_id, location_id)]
        if settings.consumables_on != when or not services:
            return None
        done = self._done.setdefault((chain_id, visit_id), set())
        plan = domain.consumption(services, done, self.ref.bills_of(chain_id), location_id, settings.storage_id)
        if not plan.wanted:
            return None
        done.update(plan.wanted)
        return Want(chain_id, visit_id, location_id, {s: services[s] for s in plan.wanted}, e.occurred_at, e)

    async def claim(self, repo: BatchRepository) -> set[tuple[str, str, str]]:
        """Marks every wanted (chain, visit, service) written off; answers those that were not already."""
        return await repo.claim_consumables((c, v, s) for (c, v), services in self._done.items() for s in services)

    def write_offs(self, want: Want | None, claimed: set[tuple[str, str, str]]) -> list[Operation]:
        """The write-offs (one per storage) of what `want`'s visit claimed, each service's bill (the
        location's, else the chain's) times its units, from the bill's storage, else the location's
        consumables storage. Raises (the record is dead-lettered with the reason) where a storage is not
        known, a product is not, or the consumables move too many balances."""
        if want is None:
            return []
        mine = {s: q for s, q in want.services.items() if (want.chain_id, want.visit_id, s) in claimed}
        chain_id, location_id, visit_id = want.chain_id, want.location_id, want.visit_id
        plan = domain.consumption(
            mine, [], self.ref.bills_of(chain_id), location_id, self.ref.settings[(chain_id, location_id)].storage_id
        )
        if plan.missing_storage:
            raise ValueError(
                f"no storage to write the consumables of {', '.join(plan.missing_storage)} off at "
                f"{location_id}: give the bill a storage_id, or the location a consumables_storage_id"
            )
        too_big = plan.size_problem(domain.MAX_OPERATION_LINES)
        if too_big:
            raise ValueError(f"visit {visit_id}: {too_big}")
        ops = []
        for storage_id, items in plan.per_storage.items():
            if (chain_id, storage_id) not in self.ref.storages:
                raise ValueError(f"unknown storage {storage_id} in the consumables of visit {visit_id}")
            missing = [i.product_id for i in items if (chain_id, i.product_id) not in self.ref.products]
            if missing:
                raise ValueError(f"unknown product {', '.join(missing)} in a bill of materials")
            lines = []
            for i in items:
                product = self.ref.products[(chain_id, i.product_id)]
                lines.append(
                    OpLine.of_product(
                        product,
                        i.quantity,
                        product["cost_price"],
                        amount=(product["cost_price"] * i.quantity).quantize(CENTS),
                    )
                )
            ops.append(
                Operation(
                    chain_id=chain_id,
                    op_id=uuid.uuid4(),
                    op_type=OpType.WRITE_OFF,
                    location_id=location_id,
                    storage_id=storage_id,
                    to_storage_id=None,
                    source=f"visit:{visit_id}",
                    client=None,
                    comment=f"consumables: {', '.join(sorted(mine))}",
                    lines=lines,
                    at=want.at,
                    automatic=True,
                    cause=want.cause,
                )
            )
        return ops
