"""The `release_held` job: notices held outside their location's send window go onto their topic once
it opens (the outbox row is written only now); one whose client opted out meanwhile is skipped.
Idempotent: a released notice is never released again. Run for one chain at a time (the scheduler's
run takes every chain with notices due, each in a transaction of its own; shared/jobs.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.notifications.repository import Repository, chains_with_held_due
from services.notifications.usecases.notify import count_notices, outbox_message
from shared.jobs import PerChain
from shared.uow import UnitOfWork, enqueue

BATCH = 5000


async def release_held(uow: UnitOfWork, chain_id: str, as_of: datetime) -> dict[str, Any]:
    released = skipped = 0
    repo = Repository(uow.conn, chain_id)
    while True:
        taken = await repo.release_due(as_of, BATCH)
        await enqueue(uow.conn, [outbox_message(n) for n, opted_out in taken if not opted_out])
        skipped += sum(1 for _, opted_out in taken if opted_out)
        count_notices((n.channel, n.status) for n, opted_out in taken if opted_out)
        released += sum(1 for _, opted_out in taken if not opted_out)
        if len(taken) < BATCH:
            return {"released": released, "skipped_opted_out": skipped}


RELEASE_HELD = PerChain(chains=chains_with_held_due, run=release_held)
