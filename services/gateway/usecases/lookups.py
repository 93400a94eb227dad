"""What a webhook lacks, asked of the booking system's API (usecases/process.py): the client's
memberships (their number is our code), the catalogue (a service's category, a product's membership type,
kept a day in the `catalogue` table), and the API client of each connection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg

from services.gateway import webhook_repository as repo
from services.gateway.booking_api import ApiRefused, BookingApi
from services.gateway.domain import mapping

if TYPE_CHECKING:
    from services.gateway.usecases.process import Batch

CATALOGUE_SECONDS = 86_400


async def codes(api: BookingApi, company_id: int, phone: str | None, ids: set[int]) -> dict[int, dict[str, Any]]:
    """Their membership id -> {"code", "type_id"} for the client's memberships (their numbers are our codes)."""
    if not phone:
        return {}
    theirs = await api.client_abonements(company_id, phone)
    return {a: found for a in ids if (found := mapping.sold_membership(theirs, a, None))}


async def abonement(
    api: BookingApi, company_id: int, phone: str | None, abonement_id: int | None, type_id: int | None
) -> dict[str, Any] | None:
    if not phone:
        return None
    return mapping.sold_membership(await api.client_abonements(company_id, phone), abonement_id, type_id)


async def catalogue(
    batch: Batch, api: BookingApi, c: asyncpg.Record, company_id: int, kind: str, ids: set[int]
) -> dict[int, dict[str, Any]]:
    known = await repo.catalogue(batch.uow.conn, c["id"], company_id, kind, ids, CATALOGUE_SECONDS)
    fetched = batch.fetched.setdefault((c["id"], company_id, kind), {})
    known.update({i: fetched[i] for i in ids if i in fetched})
    for item in sorted(ids - set(known)):
        try:
            data = await (api.service(company_id, item) if kind == "service" else api.good(company_id, item))
        except ApiRefused:
            data = {}  # gone from their catalogue: the line goes without its category
        known[item] = fetched[item] = data
    return known


def api_of(batch: Batch, c: asyncpg.Record) -> BookingApi:
    key = (c["id"], c["api_base_url"], c["partner_token"], c["user_token"])
    if key not in batch.apis:
        batch.apis[key] = BookingApi(c["api_base_url"], c["partner_token"], c["user_token"])
    return batch.apis[key]
