"""`visit.status_no_show` and late `visit.cancelled`: deduct where the location's policy says so, once per
visit and service (domain.settle_visit): not a visit that was paid or the client came to, nor a service a
charge stands for already (a no-show and then a late cancellation of one visit take one visit).

A service that names a membership uses it; otherwise the client's eligible membership that expires
soonest pays, and the event says which and why. A client with no eligible membership is not charged
(there is nothing to deduct from): nothing is published."""

from services.memberships import domain
from services.memberships.repository import Repository
from services.memberships.usecases.deduct import deduct
from services.memberships.usecases.policy import load_policy
from shared.events import VisitCancelled, VisitService, VisitStatus
from shared.uow import UnitOfWork


async def deduct_no_show(uow: UnitOfWork, e: VisitStatus) -> None:
    repo = Repository(uow.conn, e.chain_id, uow.batch)
    policy = await load_policy(repo, e.location_id)
    due = [s for s in e.services if policy.deducts_no_show(s.service_id)]
    await _deduct_all(uow, repo, e, due, domain.VisitEvent.NO_SHOW)


async def deduct_late_cancel(uow: UnitOfWork, e: VisitCancelled) -> None:
    repo = Repository(uow.conn, e.chain_id, uow.batch)
    policy = await load_policy(repo, e.location_id)
    due = [s for s in e.services if policy.deducts_late_cancel(s.service_id, e.scheduled_at, e.cancelled_at)]
    await _deduct_all(uow, repo, e, due, domain.VisitEvent.LATE_CANCEL)


async def _deduct_all(uow: UnitOfWork, repo: Repository, e: VisitStatus, services: list[VisitService],
                      event: domain.VisitEvent) -> None:
    if not services:
        return
    visit = await repo.visit(e.visit_id, charging=True)
    settled = domain.settle_visit(visit, event, [(s.service_id, 1) for s in services])
    for index, units in settled.charge:
        s = services[index]
        chosen_because = None
        if s.membership is not None:
            m = await repo.get(s.membership.code or str(s.membership.id), lock=True)
            t = await repo.get_type(m.type_id) if m else None
        else:
            owned = await repo.client_memberships(e.client.id)
            types = await repo.types_by_id({m.type_id for m in owned}) if owned else {}
            choice = domain.choose_membership(
                [(m, types[m.type_id]) for m in owned], service_id=s.service_id, location_id=e.location_id,
                at=e.scheduled_at, phone=e.client.phone)
            if choice is None:
                continue
            m, chosen_because = choice
            t = types[m.type_id]
        await deduct(uow, repo, m, t, code=s.membership.code if s.membership else m.code if m else None,
                     client=e.client, location_id=e.location_id, visit_id=e.visit_id, service_id=s.service_id,
                     units=units, at=e.scheduled_at, cause=event.value, chosen_because=chosen_because)
