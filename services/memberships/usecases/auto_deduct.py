"""`visit.status_no_show` and late `visit.cancelled`: deduct where the location's policy says so, once per
visit and service (domain.settle_visit): not a visit that was paid or the client came to, nor a service a
charge stands for already (a no-show and then a late cancellation of one visit take one visit).

A service that names a membership uses it; otherwise the client's eligible membership that expires
soonest pays, and the event says which and why. A client with no eligible membership is not charged
(there is nothing to deduct from): nothing is published.

A batch at once: the policies of its locations, then its visits to charge, the memberships they name and
the usable ones of their clients (with their types), are loaded; each event is decided in offset order
(a later one sees the balances the earlier ones left); then saved."""

from collections.abc import Callable
from typing import TypeVar

from services.memberships import domain
from services.memberships.usecases.deduct import client_phone, deduct
from services.memberships.usecases.work import VisitFacts, Work
from shared.events import VisitCancelled, VisitService, VisitStatus
from shared.uow import UnitOfWork

E = TypeVar("E", bound=VisitStatus)


async def deduct_no_show(uow: UnitOfWork, events: list[VisitStatus]) -> None:
    await _deduct_all(uow, events, domain.VisitEvent.NO_SHOW, lambda policy, e, s: policy.deducts_no_show(s.service_id))


async def deduct_late_cancel(uow: UnitOfWork, events: list[VisitCancelled]) -> None:
    await _deduct_all(
        uow,
        events,
        domain.VisitEvent.LATE_CANCEL,
        lambda policy, e, s: policy.deducts_late_cancel(s.service_id, e.scheduled_at, e.cancelled_at),
    )


def ref(s: VisitService) -> str:
    assert s.membership is not None
    return s.membership.code or str(s.membership.id)


async def _deduct_all(
    uow: UnitOfWork,
    events: list[E],
    event: domain.VisitEvent,
    deducts: Callable[[domain.DeductionPolicy, E, VisitService], bool],
) -> None:
    work = Work(uow)
    await work.load_policies({(e.chain_id, e.location_id) for e in events})
    due = {id(e): [s for s in e.services if deducts(work.policy(e.chain_id, e.location_id), e, s)] for e in events}
    charging = [e for e in events if due[id(e)]]
    await work.load(
        visits=[VisitFacts(e.chain_id, e.visit_id, charging=True) for e in charging],
        refs={(e.chain_id, ref(s)) for e in charging for s in due[id(e)] if s.membership is not None},
        clients={(e.chain_id, e.client.id) for e in charging if any(s.membership is None for s in due[id(e)])},
    )
    for e in charging:
        services = due[id(e)]
        settled = domain.settle_visit(work.visit(e.chain_id, e.visit_id), event, [(s.service_id, 1) for s in services])
        ledger = work.ledger(e.chain_id)
        for index, units in settled.charge:
            s = services[index]
            chosen_because = None
            if s.membership is not None:
                m = ledger.find(ref(s))
                t = work.type(e.chain_id, m.type_id) if m else None
            else:
                owned = [(m, work.type(e.chain_id, m.type_id)) for m in ledger.usable(e.client.id)]
                choice = domain.choose_membership(
                    [(m, t) for m, t in owned if t is not None],
                    service_id=s.service_id,
                    location_id=e.location_id,
                    at=e.scheduled_at,
                    phone=client_phone(e.chain_id, e.location_id, e.client, [m for m, _ in owned]),
                )
                if choice is None:
                    continue
                m, chosen_because = choice
                t = work.type(e.chain_id, m.type_id)
            deduct(
                uow,
                work,
                m,
                t,
                chain_id=e.chain_id,
                code=s.membership.code if s.membership else m.code if m else None,
                client=e.client,
                location_id=e.location_id,
                visit_id=e.visit_id,
                service_id=s.service_id,
                units=units,
                at=e.scheduled_at,
                cause=event.value,
                event=e,
                chosen_because=chosen_because,
            )
    await work.save()
