"""The reports: gift cards by type and location, accounts by client."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.wallet.repository import Repository
from services.wallet.schemas import AccountReportRow, GiftCardReportRow
from shared.paging import Page


async def gift_card_report(
    conn: asyncpg.Connection,
    chain_id: str,
    since: datetime | None,
    until: datetime | None,
    location_id: str | None,
    type_id: uuid.UUID | None,
    page: Page,
) -> list[GiftCardReportRow]:
    rows = await Repository(conn, chain_id).gift_card_report(since, until, location_id, type_id, page)
    return [GiftCardReportRow(**dict(r)) for r in rows]


async def account_report(
    conn: asyncpg.Connection,
    chain_id: str,
    since: datetime | None,
    until: datetime | None,
    location_id: str | None,
    page: Page,
) -> list[AccountReportRow]:
    rows = await Repository(conn, chain_id).account_report(since, until, location_id, page)
    return [AccountReportRow(**dict(r)) for r in rows]
