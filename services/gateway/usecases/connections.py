"""Connections to a booking system (Altegio, YCLIENTS): create, read, change; their deliveries listed and
replayed."""

from __future__ import annotations

import hashlib
import secrets
import uuid

import asyncpg

from services.gateway import webhook_repository as repo
from services.gateway.webhook_schemas import (
    ConnectionCreatedOut,
    ConnectionIn,
    ConnectionOut,
    ConnectionPatch,
    DeliveryOut,
    ReplayIn,
    ReplayOut,
)
from shared.errors import Invalid, NotFound
from shared.paging import Page
from shared.uow import UnitOfWork


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _locations(body: ConnectionIn | ConnectionPatch) -> list[dict[str, object]]:
    locations = [loc.model_dump() for loc in body.locations or []]
    seen: set[object] = set()
    for i, loc in enumerate(locations):
        if loc["company_id"] in seen:
            raise Invalid(
                "duplicate_company", f"company {loc['company_id']} is mapped twice", field=f"locations.{i}.company_id"
            )
        seen.add(loc["company_id"])
    return locations


async def create_connection(uow: UnitOfWork, chain_id: str, body: ConnectionIn) -> ConnectionCreatedOut:
    secret = secrets.token_urlsafe(32)
    fields = {
        **body.model_dump(exclude={"locations"}),
        "secret_hash": secret_hash(secret),
        "membership_types": {k: str(v) for k, v in body.membership_types.items()},
    }
    cid = await repo.create_connection(uow.conn, chain_id, fields, _locations(body))
    row = await repo.connection(uow.conn, chain_id, cid)
    return ConnectionCreatedOut(**ConnectionOut.of(row).model_dump(), secret=secret)


async def update_connection(
    uow: UnitOfWork, chain_id: str, connection_id: uuid.UUID, body: ConnectionPatch
) -> ConnectionOut:
    fields = body.model_dump(exclude_unset=True, exclude={"locations"})
    if "membership_types" in fields:
        fields["membership_types"] = {k: str(v) for k, v in (body.membership_types or {}).items()}
    fields = {k: v for k, v in fields.items() if v is not None}
    if not await repo.update_connection(uow.conn, chain_id, connection_id, fields):
        raise NotFound("connection_not_found", f"no connection {connection_id}")
    if body.locations is not None:
        await repo.set_locations(uow.conn, connection_id, _locations(body))
    return await get_connection(uow.conn, chain_id, connection_id)


async def get_connection(conn: asyncpg.Connection, chain_id: str, connection_id: uuid.UUID) -> ConnectionOut:
    row = await repo.connection(conn, chain_id, connection_id)
    if row is None:
        raise NotFound("connection_not_found", f"no connection {connection_id}")
    return ConnectionOut.of(row)


async def list_connections(conn: asyncpg.Connection, chain_id: str, page: Page) -> list[ConnectionOut]:
    return [ConnectionOut.of(r) for r in await repo.connections(conn, chain_id, page)]


async def list_deliveries(
    conn: asyncpg.Connection, chain_id: str, connection_id: uuid.UUID, state: str | None, page: Page
) -> list[DeliveryOut]:
    await get_connection(conn, chain_id, connection_id)
    return [DeliveryOut(**dict(r)) for r in await repo.deliveries(conn, chain_id, connection_id, state, page)]


async def replay_deliveries(uow: UnitOfWork, chain_id: str, connection_id: uuid.UUID, body: ReplayIn) -> ReplayOut:
    await get_connection(uow.conn, chain_id, connection_id)
    return ReplayOut(replayed=await repo.replay(uow.conn, chain_id, connection_id, list(body.states), body.ids))
