"""`membership_type.created` / `.changed`: a membership type is a product in the "Memberships" category
at each of its locations (one chain product when it is valid everywhere). An archived type's products,
and the product of a location the type left, are hidden from sale lists and stay readable."""

from __future__ import annotations

from typing import Any

from services.inventory import domain
from services.inventory.repository import Repository
from shared.events import MembershipTypeChanged
from shared.uow import UnitOfWork


async def sync_membership_type(uow: UnitOfWork, e: MembershipTypeChanged) -> None:
    repo = Repository(uow.conn, e.chain_id)
    category_id = await repo.ensure_category(domain.MEMBERSHIPS_CATEGORY)
    type_id = str(e.membership_type_id)
    wanted = domain.membership_product_locations(e.location_ids)
    rows: list[dict[str, Any]] = [
        {
            "id": domain.membership_product_id(e.chain_id, type_id, loc),
            "name": e.name,
            "category_id": category_id,
            "price": e.price,
            "location_id": loc,
            "allow_without_code": e.allow_without_code,
            "archived": e.archived,
        }
        for loc in wanted
    ]
    # Products of locations the type no longer lists: kept (sold ones stay in the history), hidden.
    for old in await repo.membership_products(e.membership_type_id):
        if old["location_id"] not in wanted:
            rows.append(
                {
                    "id": old["id"],
                    "name": e.name,
                    "category_id": category_id,
                    "price": e.price,
                    "location_id": old["location_id"],
                    "allow_without_code": e.allow_without_code,
                    "archived": True,
                }
            )
    await repo.upsert_membership_products(e.membership_type_id, rows, e.occurred_at)
