"""`visit.paid`: each service line paid with a membership takes its visits off that membership."""

from services.memberships.repository import Repository
from services.memberships.usecases.deduct import deduct
from shared.events import VisitPaid
from shared.uow import UnitOfWork


async def pay_visit(uow: UnitOfWork, e: VisitPaid) -> None:
    repo = Repository(uow.conn, e.chain_id, uow.batch)
    for line in e.lines:
        if line.kind != "service" or line.membership is None:
            continue
        ref = line.membership.code or str(line.membership.id)
        # The row lock serializes two visits paying with one membership (a shared gift code, two
        # replicas): the second waits, then sees the balance the first left.
        m = await repo.get(ref, lock=True)
        t = await repo.get_type(m.type_id) if m else None
        await deduct(uow, repo, m, t, code=line.membership.code, client=e.client, location_id=e.location_id,
                     visit_id=e.visit_id, service_id=line.item_id, units=line.quantity, at=e.occurred_at,
                     cause="paid")
