"""Visit events: the client's statistics (one row per visit, whatever the order the events come in),
then the location program recalculated for the client, and on a paid visit the bonus program."""

from datetime import UTC, datetime

from services.loyalty.repository import Repository
from services.loyalty.usecases.bonus import apply_visit
from services.loyalty.usecases.recalculate import recalculate
from shared.events import VisitPaid, VisitStatus
from shared.uow import UnitOfWork


async def record_payment(uow: UnitOfWork, e: VisitPaid) -> None:
    repo = Repository(uow.conn, e.chain_id)
    await repo.record_payment(e.visit_id, e.location_id, e.client.id, e.sold_total, e.paid_total, e.occurred_at,
                              e.client.phone, e.client.name)
    await apply_visit(uow, e)
    await recalculate(uow, e.chain_id, e.location_id, [e.client.id], datetime.now(UTC), "visit_paid")


async def record_arrival(uow: UnitOfWork, e: VisitStatus) -> None:
    await _record_status(uow, e, "arrived")


async def record_no_show(uow: UnitOfWork, e: VisitStatus) -> None:
    await _record_status(uow, e, "no_show")


async def _record_status(uow: UnitOfWork, e: VisitStatus, status: str) -> None:
    repo = Repository(uow.conn, e.chain_id)
    await repo.record_status(e.visit_id, e.location_id, e.client.id, status, e.occurred_at, e.scheduled_at,
                             e.client.phone, e.client.name)
    await recalculate(uow, e.chain_id, e.location_id, [e.client.id], datetime.now(UTC), f"visit_{status}")
