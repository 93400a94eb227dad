import asyncpg

from services.notifications.repository import NoticeRow, Repository


async def list_notices(conn: asyncpg.Connection, chain_id: str, client_id: str | None, status: str | None,
                       limit: int) -> list[NoticeRow]:
    return await Repository(conn, chain_id).find(client_id, status, limit)
