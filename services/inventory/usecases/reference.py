"""What a batch of visits reads and does not change, loaded once per batch for all its chains: the
locations' inventory settings and storages, the bills of materials of the visits' services, the products
their lines and bills name. One statement each."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import asyncpg

from services.inventory import domain
from services.inventory.batch_repository import BatchRepository
from services.inventory.domain import BillOfMaterials, ConsumablesOn


@dataclass(frozen=True)
class Settings:
    consumables_on: ConsumablesOn
    storage_id: str | None  # where consumables leave when a bill names no storage (None: unknown)


@dataclass
class Reference:
    settings: dict[tuple[str, str], Settings] = field(default_factory=dict)  # (chain, location)
    bills: dict[str, list[BillOfMaterials]] = field(default_factory=dict)  # chain -> bills
    storages: dict[tuple[str, str], asyncpg.Record] = field(default_factory=dict)  # (chain, id)
    products: dict[tuple[str, str], asyncpg.Record] = field(default_factory=dict)  # (chain, id)
    # (chain, kind, membership or gift card type, location or None for its chain product) -> its product
    typed: dict[tuple[str, str, uuid.UUID, str | None], asyncpg.Record] = field(default_factory=dict)

    @classmethod
    async def load(
        cls,
        repo: BatchRepository,
        locations: Iterable[tuple[str, str]],
        services: Iterable[tuple[str, str, str, ConsumablesOn]],
        storage_ids: Iterable[tuple[str, str]],
        product_ids: Iterable[tuple[str, str]],
        membership_types: Iterable[tuple[str, uuid.UUID]] = (),
        gift_card_types: Iterable[tuple[str, uuid.UUID]] = (),
    ) -> Reference:
        """`services`: (chain, location, service, when) of the batch: its bills are loaded where the
        location writes consumables off `when` (its settings say so)."""
        locations = set(locations)
        rows = await repo.settings(locations)
        ref = cls()
        billed = [(c, loc, s) for c, loc, s, when in services if ref._on(rows, c, loc) == when]
        ref.bills = await repo.bills({(c, s, where) for c, loc, s in billed for where in (loc, "")})
        named = {(c, r["consumables_storage_id"]) for (c, _), r in rows.items() if r["consumables_storage_id"]}
        named |= {(c, b.storage_id) for c, bills in ref.bills.items() for b in bills if b.storage_id}
        at: dict[tuple[str, str], list[str]] = {}
        for r in await repo.storages(set(storage_ids) | named, locations):
            ref.storages[(r["chain_id"], r["id"])] = r
            at.setdefault((r["chain_id"], r["location_id"]), []).append(r["id"])
        for c, loc in locations:
            row = rows.get((c, loc))
            ref.settings[(c, loc)] = Settings(
                ref._on(rows, c, loc),
                domain.consumables_storage(row["consumables_storage_id"] if row else None, at.get((c, loc), [])),
            )
        items = {(c, i.product_id) for c, bills in ref.bills.items() for b in bills for i in b.items}
        for r in await repo.products(set(product_ids) | items, membership_types, gift_card_types):
            ref.products[(r["chain_id"], r["id"])] = r
            kind = domain.unit_kind(r)
            if kind is not None:
                column, _ = domain.UNIT_KINDS[kind]
                ref.typed[(r["chain_id"], kind, r[column], r["location_id"])] = r
        return ref

    @staticmethod
    def _on(rows: dict[tuple[str, str], asyncpg.Record], chain_id: str, location_id: str) -> ConsumablesOn:
        row = rows.get((chain_id, location_id))
        return ConsumablesOn(row["consumables_on"]) if row else ConsumablesOn.ARRIVED

    def bills_of(self, chain_id: str) -> list[BillOfMaterials]:
        return self.bills.get(chain_id, [])

    def type_product(self, kind: str, chain_id: str, type_id: uuid.UUID, location_id: str) -> asyncpg.Record | None:
        """The membership or gift card (`kind`) type's product sold at `location_id`: its own there, else its
        chain product."""
        return self.typed.get((chain_id, kind, type_id, location_id)) or self.typed.get((chain_id, kind, type_id, None))
