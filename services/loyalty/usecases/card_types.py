"""Card types, with the promotions attached to them: a card type's `promotion_ids` are the promotions
whose `card_type_ids` list it (one association, stored once), set from either side."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.loyalty import link_repository as links
from services.loyalty.bonus_schemas import CardTypeIn, CardTypeOut, CardTypePatch
from services.loyalty.domain.cards import CardType
from services.loyalty.domain.promotion_links import Refusal, relink
from services.loyalty.repository import Repository
from shared.errors import Conflict, Invalid, NotFound
from shared.paging import Page
from shared.uow import UnitOfWork


def _out(t: CardType, promotion_ids: Sequence[str]) -> CardTypeOut:
    return CardTypeOut(
        id=t.id,  # type: ignore[arg-type]
        name=t.name,
        location_ids=list(t.location_ids),
        promotion_ids=list(promotion_ids),  # type: ignore[arg-type]
        created_at=t.created_at,
    )


async def _set_promotions(
    conn: asyncpg.Connection, chain_id: str, card_type_id: str, wanted: Sequence[str]
) -> tuple[str, ...]:
    """The card type's promotions replaced by `wanted` (the catalog locked); answers the set afterwards."""
    found = await links.linked(conn, chain_id, card_type_id, wanted)
    change = relink(card_type_id, wanted, found)
    if isinstance(change, Refusal):
        error = Invalid if change.unknown else Conflict
        raise error(change.code, change.message, field="promotion_ids")
    await links.relink(conn, chain_id, card_type_id, change.attach, change.detach)
    return change.promotion_ids


async def create_card_type(uow: UnitOfWork, chain_id: str, body: CardTypeIn) -> CardTypeOut:
    await links.lock_catalog(uow.conn, chain_id)
    t = await Repository(uow.conn, chain_id).add_card_type(body.name, body.location_ids)
    return _out(t, await _set_promotions(uow.conn, chain_id, t.id, [str(p) for p in body.promotion_ids]))


async def patch_card_type(uow: UnitOfWork, chain_id: str, type_id: str, body: CardTypePatch) -> CardTypeOut:
    """Fields left out stay as they are; `promotion_ids`, when given, replaces the set."""
    await links.lock_catalog(uow.conn, chain_id)
    repo = Repository(uow.conn, chain_id)
    t = await repo.card_type(type_id)
    if t is None:
        raise NotFound("card_type_not_found", f"no card type {type_id}")
    t = await repo.update_card_type(
        t.id,
        body.name if body.name is not None else t.name,
        body.location_ids if body.location_ids is not None else list(t.location_ids),
    )
    if body.promotion_ids is None:
        return _out(t, (await links.promotion_ids(uow.conn, chain_id, [t.id])).get(t.id, []))
    return _out(t, await _set_promotions(uow.conn, chain_id, t.id, [str(p) for p in body.promotion_ids]))


async def get_card_type(conn: asyncpg.Connection, chain_id: str, type_id: str) -> CardTypeOut:
    t = await Repository(conn, chain_id).card_type(type_id)
    if t is None:
        raise NotFound("card_type_not_found", f"no card type {type_id}")
    return _out(t, (await links.promotion_ids(conn, chain_id, [t.id])).get(t.id, []))


async def list_card_types(conn: asyncpg.Connection, chain_id: str, page: Page) -> list[CardTypeOut]:
    types = await Repository(conn, chain_id).card_types(page)
    promotions = await links.promotion_ids(conn, chain_id, [t.id for t in types])
    return [_out(t, promotions.get(t.id, [])) for t in types]
