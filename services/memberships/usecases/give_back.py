"""Giving automatic deductions back (the visit was paid, or the client came, after a no-show or a late
cancellation): each one's visits return to its membership, the history says which deduction and why, and
`membership.deduction_reversed` tells the client, once per reversed deduction."""

import uuid
from datetime import datetime

import structlog

from services.memberships import domain
from services.memberships.repository.batch import Entry
from services.memberships.usecases.work import Work
from shared import topics
from shared.events import Client, Envelope, MembershipDeductionReversed
from shared.uow import UnitOfWork

log = structlog.get_logger("memberships")


def give_back(
    uow: UnitOfWork,
    work: Work,
    settled: domain.VisitSettlement,
    *,
    chain_id: str,
    client: Client,
    location_id: str,
    visit_id: str,
    at: datetime,
    event: Envelope,
) -> None:
    """`event`: the consumed event that gives them back."""
    if settled.reason is None:
        return
    for charge in settled.reverse:
        m = work.ledger(chain_id).get(charge.membership_id)
        t = work.type(chain_id, m.type_id) if m else None
        assert m is not None and t is not None, "a deduction's membership and type are never deleted"
        after = domain.give_back(m, t, charge)
        key = t.balance_key(charge.service_id)
        log.info(
            "deduction_reversed",
            event_id=event.event_id,
            chain_id=chain_id,
            visit_id=visit_id,
            membership_id=m.id,
            service_id=charge.service_id,
            units=charge.units,
            cause=charge.cause,
            reason=settled.reason.value,
        )
        work.record(
            Entry(
                after,
                "reversal",
                at,
                visit_id=visit_id,
                service_id=charge.service_id,
                units=charge.units,
                detail={"reverses": charge.entry_id, "cause": charge.cause, "reason": settled.reason.value},
            )
        )
        uow.publish(
            topics.MEMBERSHIP_DEDUCTION_REVERSED,
            client.id,
            MembershipDeductionReversed(
                # One reversal per deduction: its event id follows from the deduction's history entry.
                event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"perkstream:{chain_id}:reversal:{charge.entry_id}")),
                chain_id=chain_id,
                location_id=location_id,
                membership_id=uuid.UUID(after.id),
                code=after.code,
                type_name=t.name,
                client=client,
                visit_id=visit_id,
                service_id=charge.service_id,
                units=charge.units,
                visit_at=charge.at,
                visits_left=after.balance[key],
                status=after.status.value,
                balance=after.balance,
                valid_until=after.valid_until,
                cause=charge.cause,  # type: ignore[arg-type]
                reason=settled.reason.value,
            ),
            cause=event,
        )
