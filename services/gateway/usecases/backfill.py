"""`POST /connections/{id}/backfill`: what the sender never retried, read back from the booking system's API.
The sender gives up after two retries (and, by the public docs, may not retry at all), so a gateway that
was down, or a webhook lost on the way, leaves records we never heard of. A backfill reads every record
of the connection's branches changed in a period (`GET /records/{company}`, deleted ones too) and stores
each as the record webhook would have carried it; the worker applies them like any delivery: one already
seen is a duplicate or a stale snapshot, one missed gives its events, once."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import asyncpg

from services.gateway import webhook_repository as repo
from services.gateway.booking_api import BookingApi
from services.gateway.usecases.receive import digest
from services.gateway.webhook_schemas import BackfillIn, BackfillOut
from shared.errors import Invalid, NotFound

PAGE = 100
MAX_PAGES = 100  # 10,000 records of a branch per backfill: a period's changes of the busiest branch
MAX_DAYS = 31


async def backfill(
    pool: asyncpg.Pool, chain_id: str, connection_id: uuid.UUID, body: BackfillIn, apis: dict[object, BookingApi]
) -> BackfillOut:
    if body.to <= body.from_ or body.to - body.from_ > timedelta(days=MAX_DAYS):
        raise Invalid(
            "bad_period", f"a backfill reads a period of at most {MAX_DAYS} days, `to` after `from`", field="to"
        )
    async with pool.acquire() as conn:
        [c] = (await repo.for_work(conn, [connection_id])).values() or [None]
    if c is None or c["chain_id"] != chain_id:
        raise NotFound("connection_not_found", f"no connection {connection_id}")
    key = (c["id"], c["api_base_url"], c["partner_token"], c["user_token"])
    api = apis.setdefault(key, BookingApi(c["api_base_url"], c["partner_token"], c["user_token"]))
    read = stored = 0
    for place in c["locations"]:
        company = place["company_id"]
        for page in range(1, MAX_PAGES + 1):
            records = await api.records(company, _when(body.from_), _when(body.to), page, PAGE)
            async with pool.acquire() as conn, conn.transaction():
                for r in records:
                    webhook = {
                        "company_id": company,
                        "resource": "record",
                        "resource_id": r.get("id"),
                        "status": "delete" if r.get("deleted") in (True, 1, "1") else "update",
                        "data": r,
                    }
                    raw = json.dumps(webhook, ensure_ascii=False).encode()
                    head = {k: webhook[k] for k in ("company_id", "resource", "resource_id", "status")}
                    if (
                        await repo.store_read_back(conn, connection_id, chain_id, digest(webhook, raw), raw, head)
                        is not None
                    ):
                        stored += 1
            read += len(records)
            if len(records) < PAGE:
                break
    return BackfillOut(records=read, stored=stored)


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")
