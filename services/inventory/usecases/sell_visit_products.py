"""`visit.paid`: the product lines of a visit are sold out of their storage (one sale per storage).

Stock balances, consumables and membership lines come with the inventory issue; the operation
recorded here is what they will build on."""

from itertools import groupby

from services.inventory.repository import Repository
from shared.events import VisitPaid
from shared.uow import UnitOfWork


async def sell_visit_products(uow: UnitOfWork, e: VisitPaid) -> None:
    products = sorted((line for line in e.lines if line.kind == "product"), key=lambda x: x.storage_id or "")
    repo = Repository(uow.conn, e.chain_id)
    for storage_id, lines in groupby(products, key=lambda x: x.storage_id):
        await repo.add_operation(
            "sale", e.location_id, storage_id, f"visit:{e.visit_id}",
            [{"product_id": x.item_id, "quantity": x.quantity, "price": str(x.paid)} for x in lines],
            e.occurred_at,
        )
