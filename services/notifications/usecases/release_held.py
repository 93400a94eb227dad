"""The `release_held` job: notices held outside their location's send window go onto their topic once
it opens (the outbox row is written only now); one whose client opted out meanwhile is skipped.
Idempotent: a released notice is never released again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.notifications.repository import Repository
from services.notifications.usecases.notify import outbox_message
from shared.uow import UnitOfWork, enqueue

BATCH = 5000


async def release_held(uow: UnitOfWork, chain_id: str | None, as_of: datetime) -> dict[str, Any]:
    released = skipped = 0
    repo = Repository(uow.conn, chain_id)  # None: every chain
    while True:
        taken = await repo.release_due(as_of, BATCH)
        await enqueue(uow.conn, [outbox_message(n) for n, opted_out in taken if not opted_out])
        skipped += sum(1 for _, opted_out in taken if opted_out)
        released += sum(1 for _, opted_out in taken if not opted_out)
        if len(taken) < BATCH:
            return {"released": released, "skipped_opted_out": skipped}
