"""One deduction, whatever caused it (a paid visit, a no-show, a late cancellation): decide, save,
record, publish."""

import uuid
from datetime import datetime

import structlog

from services.memberships import domain
from services.memberships.repository.batch import Entry
from services.memberships.usecases.publishing import state
from services.memberships.usecases.work import Work
from shared import phones, topics
from shared.events import Client, Envelope, MembershipActivated, MembershipDeducted, MembershipDeductionRejected, utcnow
from shared.uow import UnitOfWork

log = structlog.get_logger("memberships")


def client_phone(chain_id: str, location_id: str, client: Client, memberships: list[domain.Membership]) -> str | None:
    """The client's phone in E.164 (read in the region of the visit's location), when one of `memberships`
    is a no-code one (whose buyer's phone it must be); else None, unread."""
    if any(m.code is None for m in memberships):
        return phones.e164_at(client.phone, chain_id, location_id)
    return None


def deduct(
    uow: UnitOfWork,
    work: Work,
    m: domain.Membership | None,
    t: domain.MembershipType | None,
    *,
    chain_id: str,
    code: str | None,
    client: Client,
    location_id: str,
    visit_id: str,
    service_id: str,
    units: int,
    at: datetime,
    cause: str,
    event: Envelope,
    chosen_because: str | None = None,
) -> bool:
    """True when it was deducted (False: rejected, and `membership.deduction_rejected` says why). `event`:
    the consumed event that caused it."""
    if m is None or t is None:
        outcome: domain.Deducted | domain.Rejected = domain.Rejected(domain.Reason.UNKNOWN_CODE)
    else:
        outcome = domain.deduct(
            m,
            t,
            service_id=service_id,
            location_id=location_id,
            units=units,
            at=at,
            phone=client_phone(chain_id, location_id, client, [m]),
            now=utcnow(),
        )
    if isinstance(outcome, domain.Rejected):
        log.info(
            "deduction_rejected",
            event_id=event.event_id,
            chain_id=chain_id,
            visit_id=visit_id,
            code=code,
            service_id=service_id,
            reason=outcome.reason.value,
            cause=cause,
        )
        uow.publish(
            topics.MEMBERSHIP_DEDUCTION_REJECTED,
            client.id,
            MembershipDeductionRejected(
                chain_id=chain_id,
                location_id=location_id,
                membership_id=uuid.UUID(m.id) if m else None,
                code=code,
                client=client,
                visit_id=visit_id,
                service_id=service_id,
                units=units,
                reason=outcome.reason.value,
                cause=cause,  # type: ignore[arg-type]
                type_name=t.name if t else None,
            ),
            cause=event,
        )
        return False
    assert t is not None
    after = outcome.membership
    log.info(
        "deducted",
        event_id=event.event_id,
        chain_id=chain_id,
        visit_id=visit_id,
        code=after.code,
        membership_id=after.id,
        service_id=service_id,
        units=outcome.units,
        visits_left=outcome.visits_left,
        status=after.status.value,
        cause=cause,
    )
    work.record(
        Entry(
            after,
            "deduction",
            at,
            visit_id=visit_id,
            service_id=service_id,
            units=outcome.units,
            service_cost=outcome.service_cost,
            detail={"cause": cause, **({"chosen_because": chosen_because} if chosen_because else {})},
        )
    )
    if outcome.activated:
        uow.publish(
            topics.MEMBERSHIP_ACTIVATED,
            after.client_id,
            MembershipActivated(**state(after, t), activated_at=after.activated_at or at, cause="first_use"),
            cause=event,
        )
    uow.publish(
        topics.MEMBERSHIP_DEDUCTED,
        client.id,
        MembershipDeducted(
            chain_id=chain_id,
            location_id=location_id,
            membership_id=uuid.UUID(after.id),
            code=after.code,
            type_name=t.name,
            client=client,
            visit_id=visit_id,
            service_id=service_id,
            units=outcome.units,
            visits_left=outcome.visits_left,
            status=after.status.value,
            balance=after.balance,
            service_cost=outcome.service_cost,
            valid_until=after.valid_until,
            cause=cause,  # type: ignore[arg-type]
            chosen_because=chosen_because,
        ),
        cause=event,
    )
    return True
