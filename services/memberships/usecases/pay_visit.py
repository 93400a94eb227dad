"""`visit.paid`: the memberships the visit sells are issued, its automatic deductions are given back (the
visit happened), and each service line paid with a membership takes its visits off that membership: at
most its units per service, however the visit's statuses came (domain.settle_visit)."""

from services.memberships import domain
from services.memberships.repository import Repository
from services.memberships.usecases.deduct import deduct
from services.memberships.usecases.give_back import give_back
from services.memberships.usecases.sell import sell_visit_memberships
from shared.events import VisitPaid
from shared.uow import UnitOfWork


async def pay_visit(uow: UnitOfWork, e: VisitPaid) -> None:
    repo = Repository(uow.conn, e.chain_id, uow.batch)
    await sell_visit_memberships(uow, repo, e)  # one sold and used in this visit pays too
    lines = [line for line in e.lines if line.kind == "service" and line.membership is not None]
    visit = await repo.visit(e.visit_id, paid=True, charging=bool(lines))
    settled = domain.settle_visit(visit, domain.VisitEvent.PAID, [(line.item_id, line.quantity) for line in lines])
    await give_back(uow, repo, settled, client=e.client, location_id=e.location_id, visit_id=e.visit_id,
                    at=e.occurred_at)
    for index, units in settled.charge:
        line = lines[index]
        assert line.membership is not None
        # The row lock serializes two visits paying with one membership (a shared gift code, two
        # replicas): the second waits, then sees the balance the first left.
        m = await repo.get(line.membership.code or str(line.membership.id), lock=True)
        t = await repo.get_type(m.type_id) if m else None
        await deduct(uow, repo, m, t, code=line.membership.code, client=e.client, location_id=e.location_id,
                     visit_id=e.visit_id, service_id=line.item_id, units=units, at=e.occurred_at, cause="paid")
