"""Client statistics from visit events (the location and bonus programs build on them)."""

from services.loyalty.repository import Repository
from shared.events import VisitPaid, VisitStatus
from shared.uow import UnitOfWork


async def record_payment(uow: UnitOfWork, e: VisitPaid) -> None:
    await Repository(uow.conn, e.chain_id).record_payment(
        e.visit_id, e.location_id, e.client.id, e.sold_total, e.paid_total, e.occurred_at
    )


async def record_arrival(uow: UnitOfWork, e: VisitStatus) -> None:
    await _record_status(uow, e, "arrived")


async def record_no_show(uow: UnitOfWork, e: VisitStatus) -> None:
    await _record_status(uow, e, "no_show")


async def _record_status(uow: UnitOfWork, e: VisitStatus, status: str) -> None:
    await Repository(uow.conn, e.chain_id).record_status(
        e.visit_id, e.location_id, e.client.id, status, e.occurred_at, e.scheduled_at
    )
