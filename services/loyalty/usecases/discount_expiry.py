"""The discount-expiration warning, by the inactivity job: where a location program has
`notify_discount_expiration` on, each client whose discount lapses for inactivity within
`discount_expiration_notice_days` is warned once (`loyalty.discount_expiring`), whatever the job's
re-runs (the discount_warnings table's key: client, location and lapse moment; a visit moves the lapse,
so the next one is warned again in its turn). Rules: domain/expiry.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.loyalty import expiry_repository as repo
from services.loyalty.domain import Stats
from services.loyalty.domain.expiry import warning_due
from services.loyalty.repository import Repository
from shared import topics
from shared.events import Client, DiscountExpiring
from shared.uow import UnitOfWork

PAGE_SIZE = 500  # clients per page


async def warn_discount_expiring(uow: UnitOfWork, chain_id: str, as_of: datetime) -> dict[str, Any]:
    warned = 0
    loyalty = Repository(uow.conn, chain_id)
    for location_id, program in sorted((await loyalty.programs()).items()):
        reset = program.discount_reset_after_days
        if not (program.notify_discount_expiration and reset):
            continue
        cursor = ""
        while page := await repo.candidates_page(
            uow.conn, chain_id, location_id, reset, program.discount_expiration_notice_days, as_of, cursor, PAGE_SIZE
        ):
            cursor = page[-1]
            states = await repo.states(uow.conn, chain_id, location_id, page)
            stats = await loyalty.location_stats(location_id, page)
            due: dict[str, datetime] = {}
            for client_id, state in states.items():
                expires_at = warning_due(program, stats.get(client_id, Stats()), state, as_of)
                if expires_at is not None:
                    due[client_id] = expires_at
            new = await repo.claim(uow.conn, chain_id, location_id, due, as_of)
            people = await loyalty.clients(sorted(new)) if new else {}
            for client_id in sorted(new):
                expires_at = due[client_id]
                row = people.get(client_id)
                client = Client(id=client_id, phone=row["phone"] if row else None, name=row["name"] if row else None)
                uow.publish(
                    topics.LOYALTY_DISCOUNT_EXPIRING,
                    client_id,
                    DiscountExpiring(
                        chain_id=chain_id,
                        location_id=location_id,
                        client=client,
                        discount_percent=states[client_id].discount_percent,
                        expires_at=expires_at,
                        last_visit_at=expires_at - timedelta(days=reset),
                    ),
                )
                warned += 1
    return {"discount_warnings": warned}
