"""`visit.paid`: each service line paid with a membership takes its visits off that membership."""

import uuid

from services.memberships import domain
from services.memberships.repository import Repository
from shared import topics
from shared.events import MembershipDeducted, MembershipDeductionRejected, VisitLine, VisitPaid
from shared.uow import UnitOfWork


async def pay_visit(uow: UnitOfWork, e: VisitPaid) -> None:
    repo = Repository(uow.conn, e.chain_id)
    for line in e.lines:
        if line.kind == "service" and line.membership is not None:
            await _pay_line(uow, repo, e, line)


async def _pay_line(uow: UnitOfWork, repo: Repository, e: VisitPaid, line: VisitLine) -> None:
    assert line.membership is not None
    ref = line.membership.code or str(line.membership.id)
    # The row lock serializes two visits paying with one membership (a shared gift code, two replicas):
    # the second waits, then sees the balance the first left.
    m = await repo.get(ref, lock=True)
    t = await repo.get_type(m.type_id) if m else None
    if m is None or t is None:
        outcome: domain.Deducted | domain.Rejected = domain.Rejected(domain.Reason.UNKNOWN_CODE)
    else:
        outcome = domain.deduct(m, t, service_id=line.item_id, location_id=e.location_id,
                                units=line.quantity, at=e.occurred_at, phone=e.client.phone)
    if isinstance(outcome, domain.Rejected):
        uow.publish(topics.MEMBERSHIP_DEDUCTION_REJECTED, e.client.id, MembershipDeductionRejected(
            chain_id=e.chain_id, location_id=e.location_id, membership_id=uuid.UUID(m.id) if m else None,
            code=line.membership.code, client=e.client, visit_id=e.visit_id, service_id=line.item_id,
            units=line.quantity, reason=outcome.reason.value,
        ))
        return
    assert t is not None
    after = outcome.membership
    await repo.save(after)
    await repo.record(after, "deduction", e.occurred_at, visit_id=e.visit_id, service_id=line.item_id,
                      units=outcome.units, service_cost=outcome.service_cost)
    uow.publish(topics.MEMBERSHIP_DEDUCTED, e.client.id, MembershipDeducted(
        chain_id=e.chain_id, location_id=e.location_id, membership_id=uuid.UUID(after.id), code=after.code,
        type_name=t.name, client=e.client, visit_id=e.visit_id, service_id=line.item_id,
        units=outcome.units, visits_left=outcome.visits_left, balance=after.balance,
        service_cost=outcome.service_cost, valid_until=after.valid_until,
    ))
