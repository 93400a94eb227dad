"""The bonus program's catalog: promotions attached to card types, cards issued to clients (card types
themselves: card_types.py)."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.loyalty import link_repository as links
from services.loyalty.bonus_schemas import CardIn, CardOut, PointsOut, PromotionIn, PromotionOut, TransactionOut
from services.loyalty.domain import MAX_CARDS_PER_CLIENT, MAX_LIVE_PROMOTIONS
from services.loyalty.domain.cards import Card
from services.loyalty.repository import Repository
from shared import phones
from shared.errors import Conflict, Invalid, NotFound
from shared.paging import Page
from shared.uow import UnitOfWork


def _promotion_out(row: asyncpg.Record) -> PromotionOut:
    return PromotionOut.model_validate({**row["spec"], "id": row["id"], "created_at": row["created_at"]})


async def _check_card_types(repo: Repository, body: PromotionIn) -> None:
    wanted = [str(i) for i in body.card_type_ids]
    missing = sorted(set(wanted) - await repo.existing_card_types(wanted))
    if missing:
        raise Invalid(
            "unknown_card_type",
            f"card_type_ids: no card type {', '.join(missing)} in this chain",
            field="card_type_ids",
        )


async def _check_live_promotions(repo: Repository, body: PromotionIn, promotion_id: str | None = None) -> None:
    if body.archived:
        return
    wanted = sorted({str(i) for i in body.card_type_ids})
    live = await repo.live_promotions(wanted, promotion_id)
    full = [t for t in wanted if live.get(t, 0) >= MAX_LIVE_PROMOTIONS]
    if full:
        raise Conflict(
            "too_many_promotions",
            f"card type {', '.join(full)} has {MAX_LIVE_PROMOTIONS} live promotions already (archive one first)",
            field="card_type_ids",
        )


async def create_promotion(uow: UnitOfWork, chain_id: str, body: PromotionIn) -> PromotionOut:
    await links.lock_catalog(uow.conn, chain_id)  # card types' promotions change with it (link_repository.py)
    repo = Repository(uow.conn, chain_id)
    await _check_card_types(repo, body)
    await _check_live_promotions(repo, body)
    return _promotion_out(await repo.save_promotion(None, body.spec()))


async def patch_promotion(uow: UnitOfWork, chain_id: str, promotion_id: str, patch: dict[str, Any]) -> PromotionOut:
    """A PATCH merges into the promotion and the result is validated as a whole (422 naming the field)."""
    await links.lock_catalog(uow.conn, chain_id)  # read after a card type's change of it, never lost
    repo = Repository(uow.conn, chain_id)
    row = await repo.promotion_row(promotion_id)
    if row is None:
        raise NotFound("promotion_not_found", f"no promotion {promotion_id}")
    body = PromotionIn.model_validate({**row["spec"], **patch})
    await _check_card_types(repo, body)
    await _check_live_promotions(repo, body, str(row["id"]))
    return _promotion_out(await repo.save_promotion(str(row["id"]), body.spec()))


async def get_promotion(conn: asyncpg.Connection, chain_id: str, promotion_id: str) -> PromotionOut:
    row = await Repository(conn, chain_id).promotion_row(promotion_id)
    if row is None:
        raise NotFound("promotion_not_found", f"no promotion {promotion_id}")
    return _promotion_out(row)


async def list_promotions(conn: asyncpg.Connection, chain_id: str, page: Page) -> list[PromotionOut]:
    return [_promotion_out(r) for r in await Repository(conn, chain_id).promotion_rows(page)]


async def issue_card(uow: UnitOfWork, chain_id: str, body: CardIn) -> CardOut:
    repo = Repository(uow.conn, chain_id)
    if await repo.card_type(str(body.card_type_id)) is None:
        raise Invalid(
            "unknown_card_type", f"card_type_id: no card type {body.card_type_id} in this chain", field="card_type_id"
        )
    if await repo.card_count(body.client_id) >= MAX_CARDS_PER_CLIENT:
        raise Conflict(
            "too_many_cards", f"client {body.client_id} has {MAX_CARDS_PER_CLIENT} cards already", field="client_id"
        )
    phone = phones.normalize_at(body.phone, chain_id)  # E.164 when it is a number
    card = await repo.add_card(str(body.card_type_id), body.client_id, phone, body.number, body.issued_at)
    if card is None:
        raise Conflict("number_taken", f"card number {body.number} is already issued in this chain")
    await repo.remember_client(body.client_id, phone, None)
    return card_out(card, [])


def card_out(
    card: Card, transactions: list[asyncpg.Record] | None, points: list[asyncpg.Record] | None = None
) -> CardOut:
    return CardOut(
        id=card.id,  # type: ignore[arg-type]
        card_type_id=card.card_type_id,  # type: ignore[arg-type]
        client_id=card.client_id,
        phone=card.phone,
        number=card.number,
        balance=card.balance,
        issued_at=card.issued_at,
        transactions=None if transactions is None else [TransactionOut.model_validate(dict(t)) for t in transactions],
        points=None if points is None else [PointsOut.model_validate(dict(p)) for p in points],
    )


async def get_card(conn: asyncpg.Connection, chain_id: str, card_ref: str) -> CardOut:
    repo = Repository(conn, chain_id)
    card = await repo.card(card_ref)
    if card is None:
        raise NotFound("card_not_found", f"no card {card_ref}")
    return card_out(card, await repo.transactions(card.id), await repo.points(card.id))


async def find_cards(conn: asyncpg.Connection, chain_id: str, client_id: str | None, page: Page) -> list[CardOut]:
    return [card_out(c, None) for c in await Repository(conn, chain_id).find_cards(client_id, page)]
