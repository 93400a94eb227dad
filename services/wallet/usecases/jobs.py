"""Time-driven work of the wallet: cards past their end expire (their balance forfeited, `gift_card.expired`),
cards with a balance are told 7 days before their end (`gift_card.expiring`, once per end: an edit of the
validity tells again). Per chain, a page at a time, idempotent for the same as_of."""

from __future__ import annotations

import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import asyncpg

from services.wallet import domain
from services.wallet.repository import Repository, chains_with_work
from shared import topics
from shared.events import Client, GiftCardExpired, GiftCardExpiring
from shared.jobs import PerChain
from shared.uow import UnitOfWork


def _about(card: domain.GiftCard) -> dict[str, Any]:
    return {
        "chain_id": card.chain_id,
        "location_id": card.location_id,
        "gift_card_id": uuid.UUID(card.id),
        "code": card.code,
        "type_name": card.type.name,
        "client": Client(id=card.holder_id or card.client_id),
        "valid_until": card.valid_until,
    }


async def expire(uow: UnitOfWork, repo: Repository, as_of: datetime) -> list[str]:
    changed = []
    while cards := await repo.due_cards("expire", as_of):
        for card in cards:
            after = replace(card, balance=domain.ZERO, status="expired")
            await repo.save_card(after)
            await repo.add_card_movement(after, at=as_of, kind="expire", amount=-card.balance, source="job:expiry")
            event = GiftCardExpired(**_about(after), balance=domain.ZERO, forfeited=card.balance)
            uow.publish(topics.GIFT_CARD_EXPIRED, card.holder_id or card.client_id, event)
            changed.append(card.id)
    return changed


async def expiring(uow: UnitOfWork, repo: Repository, as_of: datetime) -> list[str]:
    changed = []
    while cards := await repo.due_cards("expiring", as_of):
        for card in cards:
            assert card.valid_until is not None
            days_left = math.ceil((card.valid_until - as_of).total_seconds() / 86400)
            await repo.mark_expiring_noticed(card)
            event = GiftCardExpiring(**_about(card), balance=card.balance, days_left=days_left)
            uow.publish(topics.GIFT_CARD_EXPIRING, card.holder_id or card.client_id, event)
            changed.append(card.id)
    return changed


def per_chain(due: str, job: Callable[[UnitOfWork, Repository, datetime], Awaitable[list[str]]]) -> PerChain:
    async def chains(conn: asyncpg.Connection, as_of: datetime) -> list[str]:
        return await chains_with_work(conn, due, as_of)

    async def run(uow: UnitOfWork, chain_id: str, as_of: datetime) -> dict[str, Any]:
        changed = await job(uow, Repository(uow.conn, chain_id), as_of)
        return {"count": len(changed), "gift_cards": changed}

    return PerChain(chains, run)


JOBS = {
    "gift_card_expiring": (per_chain("expiring", expiring), "Cards with a balance are told 7 days before their end"),
    "gift_card_expiry": (per_chain("expire", expire), "Cards past their end expire; their balance is forfeited"),
}
