"""Gift card types: create, replace, archive and restore (each publishes `gift_card_type.*`: inventory keeps
a product per type in its "Gift cards" category), and read."""

from __future__ import annotations

import uuid
from dataclasses import replace

import asyncpg

from services.wallet.domain import GiftCardType
from services.wallet.repository import Repository
from services.wallet.schemas import GiftCardTypeIn, GiftCardTypeOut
from shared import topics
from shared.errors import NotFound
from shared.events import GiftCardLimits, GiftCardTypeChanged, GiftCardValidity
from shared.paging import Page
from shared.uow import UnitOfWork


def type_event(t: GiftCardType) -> GiftCardTypeChanged:
    out = GiftCardTypeOut.of(t)
    return GiftCardTypeChanged(
        chain_id=t.chain_id,
        gift_card_type_id=uuid.UUID(t.id),
        name=t.name,
        par_value=t.par_value,
        write_off=out.write_off,
        archived=t.archived,
        allow_without_code=t.allow_without_code,
        location_ids=list(t.location_ids),
        limits=GiftCardLimits.model_validate(out.limits.model_dump()),
        validity=GiftCardValidity.model_validate(out.validity.model_dump()),
    )


async def create_type(uow: UnitOfWork, chain_id: str, body: GiftCardTypeIn) -> GiftCardType:
    t = body.to_domain(str(uuid.uuid4()), chain_id)
    await Repository(uow.conn, chain_id).add_type(t)
    uow.publish(topics.GIFT_CARD_TYPE_CREATED, t.id, type_event(t))
    return t


async def _locked(repo: Repository, type_id: str) -> GiftCardType:
    found = await repo.get_type(type_id, lock=True)
    if found is None:
        raise NotFound("gift_card_type_not_found", f"no gift card type {type_id}")
    return found


async def _save(uow: UnitOfWork, repo: Repository, t: GiftCardType) -> GiftCardType:
    await repo.update_type(t)
    uow.publish(topics.GIFT_CARD_TYPE_CHANGED, t.id, type_event(t))
    return t


async def replace_type(uow: UnitOfWork, chain_id: str, type_id: str, body: GiftCardTypeIn) -> GiftCardType:
    """The whole definition replaced. Cards sold keep their balance and validity (fixed at the sale); the
    type's limits and locations apply to them from now on."""
    repo = Repository(uow.conn, chain_id)
    old = await _locked(repo, type_id)
    return await _save(uow, repo, body.to_domain(old.id, chain_id, archived=old.archived))


async def set_archived(uow: UnitOfWork, chain_id: str, type_id: str, archived: bool) -> GiftCardType:
    """Archived: no longer sold (`archived`); cards already sold still pay."""
    repo = Repository(uow.conn, chain_id)
    return await _save(uow, repo, replace(await _locked(repo, type_id), archived=archived))


async def get_type(conn: asyncpg.Connection, chain_id: str, type_id: str) -> GiftCardTypeOut:
    t = await Repository(conn, chain_id).get_type(type_id)
    if t is None:
        raise NotFound("gift_card_type_not_found", f"no gift card type {type_id}")
    return GiftCardTypeOut.of(t)


async def list_types(conn: asyncpg.Connection, chain_id: str, archived: bool, page: Page) -> list[GiftCardTypeOut]:
    return [GiftCardTypeOut.of(t) for t in await Repository(conn, chain_id).list_types(archived, page)]
