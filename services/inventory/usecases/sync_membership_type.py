"""`membership_type.created` / `.changed` and `gift_card_type.created` / `.changed`: a membership type is a
product in the "Memberships" category, a gift card type one in the "Gift cards" category (at its par
value), at each of its locations (one chain product when it is valid everywhere). An archived type's
products, and the product of a location the type left, are hidden from sale lists and stay readable."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.inventory import domain
from services.inventory.repository import Repository
from shared.events import GiftCardTypeChanged, MembershipTypeChanged
from shared.uow import UnitOfWork


async def sync_membership_type(uow: UnitOfWork, e: MembershipTypeChanged) -> None:
    await _sync(
        uow, domain.MEMBERSHIP, e.chain_id, e.membership_type_id, e.name, e.price, e.location_ids,
        allow_without_code=e.allow_without_code, archived=e.archived, at=e.occurred_at,
    )  # fmt: skip


async def sync_gift_card_type(uow: UnitOfWork, e: GiftCardTypeChanged) -> None:
    await _sync(
        uow, domain.GIFT_CARD, e.chain_id, e.gift_card_type_id, e.name, e.par_value, e.location_ids,
        allow_without_code=e.allow_without_code, archived=e.archived, at=e.occurred_at,
    )  # fmt: skip


async def _sync(
    uow: UnitOfWork,
    kind: str,
    chain_id: str,
    type_id: uuid.UUID,
    name: str,
    price: Decimal,
    location_ids: Iterable[str],
    *,
    allow_without_code: bool,
    archived: bool,
    at: datetime,
) -> None:
    repo = Repository(uow.conn, chain_id)
    _, category = domain.UNIT_KINDS[kind]
    category_id = await repo.ensure_category(category)
    wanted = domain.membership_product_locations(location_ids)
    product = {"name": name, "category_id": category_id, "price": price, "allow_without_code": allow_without_code}
    rows: list[dict[str, Any]] = [
        {
            **product,
            "id": domain.type_product_id(kind, chain_id, str(type_id), loc),
            "location_id": loc,
            "archived": archived,
        }
        for loc in wanted
    ]
    # Products of locations the type no longer lists: kept (sold ones stay in the history), hidden.
    for old in await repo.type_products(kind, type_id):
        if old["location_id"] not in wanted:
            rows.append({**product, "id": old["id"], "location_id": old["location_id"], "archived": True})
    await repo.upsert_type_products(kind, type_id, rows, at)
