"""`visit.paid`: the memberships the visit sells are issued, its automatic deductions are given back (the
visit happened), and each service line paid with a membership takes its visits off that membership: at
most its units per service, however the visit's statuses came (domain.settle_visit).

A batch at once: load (its visits, the memberships its lines name, their types), decide visit by visit
in offset order (a later visit sees the balance an earlier one left, and a membership an earlier one
sold), save, each effect published in record order."""

from services.memberships import domain
from services.memberships.usecases.deduct import deduct
from services.memberships.usecases.give_back import give_back
from services.memberships.usecases.sell import issue, visit_sales
from services.memberships.usecases.work import VisitFacts, Work
from shared.events import VisitLine, VisitPaid
from shared.uow import UnitOfWork


def paying_lines(e: VisitPaid) -> list[VisitLine]:
    """The service lines paid with a membership."""
    return [line for line in e.lines if line.kind == "service" and line.membership is not None]


def ref(line: VisitLine) -> str:
    assert line.membership is not None
    return line.membership.code or str(line.membership.id)


async def pay_visits(uow: UnitOfWork, events: list[VisitPaid]) -> None:
    work = Work(uow)
    sales = await visit_sales(work, events)
    await work.load(
        visits=[VisitFacts(e.chain_id, e.visit_id, paid=True, charging=bool(paying_lines(e))) for e in events],
        refs={(e.chain_id, ref(line)) for e in events for line in paying_lines(e)},
        sales=[s for e in events for s in sales[id(e)]],
    )
    for e in events:
        for sold in sales[id(e)]:  # one sold and used in this visit pays too
            issue(uow, work, sold, cause=e)
        lines = paying_lines(e)
        settled = domain.settle_visit(
            work.visit(e.chain_id, e.visit_id),
            domain.VisitEvent.PAID,
            [(line.item_id, line.quantity) for line in lines],
        )
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
        for index, units in settled.charge:
            line = lines[index]
            assert line.membership is not None
            # The memberships are locked (in id order): two visits paying with one membership (a shared gift
            # code, two replicas) apply one after the other, the second seeing the balance the first left.
            m = work.ledger(e.chain_id).find(ref(line))
            t = work.type(e.chain_id, m.type_id) if m else None
            deduct(
                uow,
                work,
                m,
                t,
                chain_id=e.chain_id,
                code=line.membership.code,
                client=e.client,
                location_id=e.location_id,
                visit_id=e.visit_id,
                service_id=line.item_id,
                units=units,
                at=e.occurred_at,
                cause="paid",
                event=e,
            )
    await work.save()
