"""`visit.status_arrived`: the client came. An automatic deduction the visit took (a no-show or a late
cancellation told before) is given back, and no later one is taken (domain.settle_visit). A batch at
once: load its visits and their charges' memberships, decide in offset order, save."""

from services.memberships import domain
from services.memberships.usecases.give_back import give_back
from services.memberships.usecases.work import VisitFacts, Work
from shared.events import VisitStatus
from shared.uow import UnitOfWork


async def arrive(uow: UnitOfWork, events: list[VisitStatus]) -> None:
    work = Work(uow)
    await work.load(visits=[VisitFacts(e.chain_id, e.visit_id, arrived=True) for e in events])
    for e in events:
        settled = domain.settle_visit(work.visit(e.chain_id, e.visit_id), domain.VisitEvent.ARRIVED)
        give_back(
            uow,
            work,
            settled,
            chain_id=e.chain_id,
            client=e.client,
            location_id=e.location_id,
            visit_id=e.visit_id,
            at=e.occurred_at,
            event=e,
        )
    await work.save()
