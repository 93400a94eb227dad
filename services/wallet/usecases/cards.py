"""Reading gift cards: one by code or id, its history, a client's cards."""

from __future__ import annotations

import asyncpg

from services.wallet.repository import Repository
from services.wallet.schemas import GiftCardOut, MovementOut
from shared.errors import NotFound
from shared.paging import Page


async def get_card(conn: asyncpg.Connection, chain_id: str, code_or_id: str) -> GiftCardOut:
    card = await Repository(conn, chain_id).get_card(code_or_id)
    if card is None:
        raise NotFound("gift_card_not_found", f"no gift card {code_or_id}")
    return GiftCardOut.of(card)


async def card_history(conn: asyncpg.Connection, chain_id: str, code_or_id: str, page: Page) -> list[MovementOut]:
    repo = Repository(conn, chain_id)
    card = await repo.get_card(code_or_id)
    if card is None:
        raise NotFound("gift_card_not_found", f"no gift card {code_or_id}")
    return [MovementOut.of(r) for r in await repo.card_history(card.id, page)]


async def cards_of(conn: asyncpg.Connection, chain_id: str, client_id: str, page: Page) -> list[GiftCardOut]:
    return [GiftCardOut.of(c) for c in await Repository(conn, chain_id).cards_of(client_id, page)]
