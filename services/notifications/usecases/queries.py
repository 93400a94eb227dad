import asyncpg

from services.notifications.repository import NoticeRow, Repository
from shared.paging import Page


async def list_notices(
    conn: asyncpg.Connection,
    chain_id: str,
    client_id: str | None,
    status: str | None,
    page: Page,
    location_id: str | None = None,
    notice_type: str | None = None,
) -> list[NoticeRow]:
    return await Repository(conn, chain_id).find(
        client_id, status, page, location_id=location_id, notice_type=notice_type
    )
