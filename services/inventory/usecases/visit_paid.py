"""`visit.paid`: product lines are sold out of their storage (one sale per storage), membership lines
are membership sales (one `membership.sold` per unit), gift card lines gift card sales (one
`gift_card.sold` per unit, to the line's `holder` when it names one), and the consumables of its services are written
off where the location writes them off on payment. Applied once per visit (the inbox key
`visit.paid:<visit_id>`); the sale ids of its membership and gift card units follow from the visit and the line, so
even a replay past the inbox issues nothing twice.

A batch of paid visits: load (settings, storages, products, bills: `Reference`) -> decide each visit's
sales (`sales`) and consumables (`Consumables.want`) record by record -> claim the consumables at once ->
save every operation (`Books`: each sees the stock the earlier ones left) -> publish in record order ->
apply the rejections of its units that came first (parked: usecases/refused.py)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal

from services.inventory import domain, membership_rules
from services.inventory.batch_repository import BatchRepository
from services.inventory.domain import GIFT_CARD, MEMBERSHIP, ConsumablesOn, OpType
from services.inventory.sales_repository import SalesRepository
from services.inventory.usecases.codes import refuse_visit_codes
from services.inventory.usecases.consumables import Consumables
from services.inventory.usecases.record import Books, Operation, OpLine, sale_units, units_of
from services.inventory.usecases.reference import Reference
from services.inventory.usecases.refused import refuse_parked
from shared.events import CENTS, VisitPaid
from shared.sales import visit_line_codes, visit_membership_lines, visit_source
from shared.uow import UnitOfWork


async def apply_paid_visits(uow: UnitOfWork, events: list[VisitPaid]) -> None:
    repo = BatchRepository(uow.conn)
    ref = await Reference.load(
        repo,
        {(e.chain_id, e.location_id) for e in events},
        [
            (e.chain_id, e.location_id, x.item_id, ConsumablesOn.PAID)
            for e in events
            for x in e.lines
            if x.kind == "service"
        ],
        storage_ids={(e.chain_id, x.storage_id) for e in events for x in e.lines if x.storage_id},
        product_ids={(e.chain_id, x.item_id) for e in events for x in e.lines if x.kind == "product"},
        membership_types={(e.chain_id, t) for e in events for _, _, t in visit_membership_lines(e) if t},
        gift_card_types={(e.chain_id, t) for e in events for _, _, t in visit_membership_lines(e, GIFT_CARD) if t},
    )
    consumables = Consumables(ref)
    decided = []
    for e in events:
        services = domain.service_quantities((x.item_id, x.quantity) for x in e.lines if x.kind == "service")
        decided.append((sales(ref, e), consumables.want(e, services, ConsumablesOn.PAID)))
    # Its units held first: a rejection of one of them arriving meanwhile waits for this sale (refused.py).
    sales_repo = SalesRepository(uow.conn)
    await sales_repo.hold_units(units_of(op for ops, _ in decided for op in ops))
    claimed = await consumables.claim(repo)
    # The membership and gift card units claim their codes: one an issued unit holds is not sold (code_taken).
    sold = iter(await refuse_visit_codes(sales_repo, [(op, sale_units(op)) for ops, _ in decided for op in ops]))
    books = Books()
    for ops, want in decided:
        for op in [next(sold) for _ in ops] + consumables.write_offs(want, claimed):
            books.add(op)
    await books.save(repo)
    books.publish(uow)
    # A unit's rejection that came before its sale (the issuing service read the visit first) applies now.
    await refuse_parked(uow, books.units_sold())


def sales(ref: Reference, e: VisitPaid) -> list[Operation]:
    """The visit's sales: one per storage its product lines leave (in storage order), then those of its
    membership lines, then those of its gift card lines. Raises (the record is dead-lettered with the
    reason) for a line naming an unknown product, storage, membership or gift card type."""
    return _product_sales(ref, e) + _unit_sales(ref, e, MEMBERSHIP) + _unit_sales(ref, e, GIFT_CARD)


def _product_sales(ref: Reference, e: VisitPaid) -> list[Operation]:
    indexed = [(i, line) for i, line in enumerate(e.lines) if line.kind == "product"]
    default_storage = ref.settings[(e.chain_id, e.location_id)].storage_id
    per_storage: dict[str, list[OpLine]] = defaultdict(list)
    for i, line in indexed:
        product = ref.products.get((e.chain_id, line.item_id))
        if product is None or domain.unit_kind(product) is not None:
            raise ValueError(f"lines.{i}.item_id: unknown product {line.item_id}")
        storage_id = line.storage_id or default_storage
        if storage_id is None:
            raise ValueError(f"lines.{i}.storage_id: needed, {e.location_id} has no single consumables storage")
        price = (line.paid / line.quantity).quantize(CENTS)
        per_storage[storage_id].append(OpLine.of_product(product, Decimal(line.quantity), price, amount=line.paid))
    for i, line in indexed:
        storage_id = line.storage_id or default_storage
        if (e.chain_id, storage_id) not in ref.storages:
            raise ValueError(f"lines.{i}.storage_id: unknown storage {storage_id}")
    return [
        Operation(
            chain_id=e.chain_id,
            op_id=uuid.uuid4(),
            op_type=OpType.SALE,
            location_id=e.location_id,
            storage_id=storage_id,
            to_storage_id=None,
            source=visit_source(e.visit_id),
            client=e.client,
            comment=None,
            lines=lines,
            at=e.occurred_at,
            automatic=False,
            cause=e,
        )
        for storage_id, lines in sorted(per_storage.items())
    ]


def _unit_sales(ref: Reference, e: VisitPaid, kind: str) -> list[Operation]:
    """The sales of the visit's membership (gift card) lines, one per storage they leave (in storage order;
    a line whose storage is not known sells without moving stock). A unit whose code an earlier unit of the
    visit gave is refused (code_taken): the issuing service issues the first and refuses the rest."""
    found = visit_membership_lines(e, kind)
    repeated = membership_rules.repeats([visit_line_codes(line.code, line.quantity) for _, line, _ in found])
    default_storage = ref.settings[(e.chain_id, e.location_id)].storage_id
    per_storage: dict[str | None, list[OpLine]] = defaultdict(list)
    for n, (i, line, type_id) in enumerate(found):
        if type_id is None:
            raise ValueError(f"lines.{i}.item_id: a {kind} line names its type's id")
        product = ref.type_product(kind, e.chain_id, type_id, e.location_id)
        codes = visit_line_codes(line.code, line.quantity)  # as the memberships service derives them too
        price = (line.paid / line.quantity).quantize(CENTS)
        refused = tuple((unit, membership_rules.CODE_TAKEN) for at, unit in repeated if at == n)
        if product is None:  # the type's product is not here (yet): the issuing service is the judge
            per_storage[None].append(
                OpLine(
                    None,
                    f"{kind.replace('_', ' ')} type {type_id}",
                    domain.PIECES,
                    Decimal(line.quantity),
                    price,
                    line.paid,
                    type_id if kind == MEMBERSHIP else None,
                    codes,
                    ref=i,
                    refused=refused,
                    gift_card_type_id=type_id if kind == GIFT_CARD else None,
                    holder=line.holder,
                )
            )
            continue
        storage_id = membership_rules.sale_storage(line.storage_id, default_storage)
        if storage_id is not None and (e.chain_id, storage_id) not in ref.storages:
            raise ValueError(f"lines.{i}.storage_id: unknown storage {storage_id}")
        per_storage[storage_id].append(
            OpLine.of_product(
                product,
                Decimal(line.quantity),
                price,
                amount=line.paid,
                codes=codes,
                ref=i,
                refused=refused,
                holder=line.holder,
            )
        )
    source = visit_source(e.visit_id)
    return [
        Operation(
            chain_id=e.chain_id,
            op_id=uuid.uuid4(),
            op_type=OpType.SALE,
            location_id=e.location_id,
            storage_id=storage_id,
            to_storage_id=None,
            source=source,
            client=e.client,
            comment=None,
            lines=lines,
            at=e.occurred_at,
            automatic=False,
            sale_source=source,
            cause=e,
        )
        for storage_id, lines in sorted(per_storage.items(), key=lambda kv: kv[0] or "")
    ]
