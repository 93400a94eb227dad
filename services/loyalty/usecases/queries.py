import asyncpg

from services.loyalty.repository import ClientStats, Repository


async def client_loyalty(conn: asyncpg.Connection, chain_id: str, client_id: str,
                         location_id: str | None) -> ClientStats:
    return await Repository(conn, chain_id).stats(client_id, location_id)
