"""`membership.sold`: issue a membership with the given code, a generated one, or none. The membership
lines of a paid visit are issued from the visit itself too (visit_sales, then issue), under the sale ids
inventory's `membership.sold` of them carries: whichever comes first issues, the other is a duplicate."""

import uuid

import structlog

from services.memberships import domain
from services.memberships.domain import IssueReason
from services.memberships.usecases.work import Work
from shared import phones, topics
from shared.events import Envelope, MembershipIssued, MembershipIssueRejected, MembershipSold, VisitPaid
from shared.sales import visit_membership_sales
from shared.uow import UnitOfWork

log = structlog.get_logger("memberships")


def sale_key(sale_id: str) -> str:
    """The inbox key of a sale: it issues once, whatever its event id, from `membership.sold` or its visit."""
    return f"sale:{sale_id}"


async def sell(uow: UnitOfWork, events: list[MembershipSold]) -> None:
    work = Work(uow)
    await work.load(sales=events)
    for e in events:
        issue(uow, work, e, cause=e)
    await work.save()


async def visit_sales(work: Work, events: list[VisitPaid]) -> dict[int, list[MembershipSold]]:
    """The memberships each paid visit sells (by id(event)), to issue before its lines are deducted, so one
    sold and used in the same visit pays (its `membership.sold`, from inventory, may come later or not at
    all). Each is issued as its `membership.sold` would be, and that message, when it comes, finds its inbox
    key taken; one that came first took the key already, and the sale is not decided twice."""
    sold = {id(e): visit_membership_sales(e) for e in events}
    keys = {(s.chain_id, sale_key(s.sale_id)) for sales in sold.values() for s in sales}
    claimed = await work.claim(keys, topics.MEMBERSHIP_SOLD) if keys else set()
    return {i: [s for s in sales if (s.chain_id, sale_key(s.sale_id)) in claimed] for i, sales in sold.items()}


def issue(
    uow: UnitOfWork, work: Work, e: MembershipSold, *, cause: Envelope
) -> domain.Membership | domain.IssueRejected | None:
    """Issues (or refuses) the membership `e` sells, publishing which; None: this sale was issued before."""
    t = work.type(e.chain_id, str(e.membership_type_id))
    code = work.sale_code(e)
    region = phones.region(e.chain_id, e.location_id)
    rejected = domain.check_sale(
        t,
        code,
        e.location_id,
        channel=e.channel,
        phone=phones.e164(e.client.phone, region),
        phone_given=phones.given(e.client.phone),
    )
    if rejected is None:
        assert t is not None
        if work.sale_issued(e):  # this very sale, issued already: a duplicate, not a conflict
            log.info("sale_already_issued", event_id=cause.event_id, chain_id=e.chain_id, sale_id=e.sale_id)
            return None
        if code is None or not work.code_taken(e.chain_id, code):
            m = domain.issue(
                t,
                membership_id=str(uuid.uuid4()),
                code=code,
                client_id=e.client.id,
                phone=phones.normalize(e.client.phone, region),
                location_id=e.location_id,
                price=e.price,
                sold_at=e.occurred_at,
                client_name=e.client.name,
            )
            work.issued(m, e.sale_id, {"sale_id": e.sale_id, "price": str(e.price)})
            log.info(
                "membership_issued",
                event_id=cause.event_id,
                chain_id=e.chain_id,
                code=m.code,
                membership_id=m.id,
                sale_id=e.sale_id,
            )
            uow.publish(
                topics.MEMBERSHIP_ISSUED,
                e.client.id,
                MembershipIssued(
                    chain_id=e.chain_id,
                    location_id=e.location_id,
                    membership_id=uuid.UUID(m.id),
                    membership_type_id=e.membership_type_id,
                    type_name=t.name,
                    code=m.code,
                    sale_id=e.sale_id,
                    client=e.client,
                    status=m.status.value,
                    balance=m.balance,
                    valid_until=m.valid_until,
                ),
                cause=cause,
            )
            return m
        rejected = domain.IssueRejected(IssueReason.CODE_TAKEN)  # the unique index says so
    log.info(
        "issue_rejected",
        event_id=cause.event_id,
        chain_id=e.chain_id,
        sale_id=e.sale_id,
        code=code,
        reason=rejected.reason.value,
    )
    uow.publish(
        topics.MEMBERSHIP_ISSUE_REJECTED,
        e.client.id,
        MembershipIssueRejected(
            chain_id=e.chain_id,
            location_id=e.location_id,
            sale_id=e.sale_id,
            membership_type_id=e.membership_type_id,
            code=code,
            client=e.client,
            reason=rejected.reason.value,
        ),
        cause=cause,
    )
    return rejected
