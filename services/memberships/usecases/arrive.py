"""`visit.status_arrived`: the client came. An automatic deduction the visit took (a no-show or a late
cancellation told before) is given back, and no later one is taken (domain.settle_visit)."""

from services.memberships import domain
from services.memberships.repository import Repository
from services.memberships.usecases.give_back import give_back
from shared.events import VisitStatus
from shared.uow import UnitOfWork


async def arrive(uow: UnitOfWork, e: VisitStatus) -> None:
    repo = Repository(uow.conn, e.chain_id, uow.batch)
    visit = await repo.visit(e.visit_id, arrived=True)
    settled = domain.settle_visit(visit, domain.VisitEvent.ARRIVED)
    await give_back(uow, repo, settled, client=e.client, location_id=e.location_id, visit_id=e.visit_id,
                    at=e.occurred_at)
