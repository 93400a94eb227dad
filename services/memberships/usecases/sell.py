"""`membership.sold`: issue a membership with the given code, a generated one, or none. The membership
lines of a paid visit are issued from the visit itself too (sell_visit_memberships), under the sale ids
inventory's `membership.sold` of them carries: whichever comes first issues, the other is a duplicate."""

import uuid

import structlog

from services.memberships import domain
from services.memberships.domain import AUTO_CODE, IssueReason
from services.memberships.repository import Repository
from shared import topics
from shared.events import MembershipIssued, MembershipIssueRejected, MembershipSold, VisitPaid
from shared.sales import visit_membership_sales
from shared.uow import UnitOfWork

log = structlog.get_logger("memberships")


def sale_key(sale_id: str) -> str:
    """The inbox key of a sale: it issues once, whatever its event id, from `membership.sold` or its visit."""
    return f"sale:{sale_id}"


async def _free_code(repo: Repository) -> str:
    while True:  # 31^8 codes: a collision is rare, two in a row rarer still
        code = domain.generate_code()
        if not await repo.code_taken(code):
            return code


async def sell(uow: UnitOfWork, e: MembershipSold) -> None:
    await issue(uow, Repository(uow.conn, e.chain_id, uow.batch), e)


async def sell_visit_memberships(uow: UnitOfWork, repo: Repository, e: VisitPaid) -> None:
    """The memberships a paid visit sells, issued before its lines are deducted, so one sold and used in
    the same visit pays (its `membership.sold`, from inventory, may come later or not at all). Each is
    issued as its `membership.sold` would be, and that message, when it comes, finds its inbox key taken;
    one that came first took the key already, and the sale is not decided twice."""
    for sold in visit_membership_sales(e):
        if await repo.claim(sale_key(sold.sale_id), topics.MEMBERSHIP_SOLD):
            await issue(uow, repo, sold)


async def issue(uow: UnitOfWork, repo: Repository, e: MembershipSold) -> None:
    t = await repo.get_type(str(e.membership_type_id), for_sale=True)
    code = await _free_code(repo) if e.code and e.code.lower() == AUTO_CODE else e.code
    rejected = domain.check_sale(t, code, e.location_id)
    if rejected is None:
        assert t is not None
        m = domain.issue(t, membership_id=str(uuid.uuid4()), code=code, client_id=e.client.id,
                         phone=e.client.phone, location_id=e.location_id, price=e.price, sold_at=e.occurred_at,
                         client_name=e.client.name)
        if await repo.add_membership(m, e.sale_id, {"sale_id": e.sale_id, "price": str(e.price)}):
            log.info("membership_issued", code=m.code, membership_id=m.id, sale_id=e.sale_id)
            uow.publish(topics.MEMBERSHIP_ISSUED, e.client.id, MembershipIssued(
                chain_id=e.chain_id, location_id=e.location_id, membership_id=uuid.UUID(m.id),
                membership_type_id=e.membership_type_id, type_name=t.name, code=m.code, sale_id=e.sale_id,
                client=e.client, status=m.status.value, balance=m.balance, valid_until=m.valid_until,
            ))
            return
        if await repo.sale_issued(e.sale_id):  # this very sale, issued already: a duplicate, not a conflict
            log.info("sale_already_issued", sale_id=e.sale_id)
            return
        rejected = domain.IssueRejected(IssueReason.CODE_TAKEN)  # the unique index says so
    log.info("issue_rejected", sale_id=e.sale_id, code=code, reason=rejected.reason.value)
    uow.publish(topics.MEMBERSHIP_ISSUE_REJECTED, e.client.id, MembershipIssueRejected(
        chain_id=e.chain_id, location_id=e.location_id, sale_id=e.sale_id,
        membership_type_id=e.membership_type_id, code=code, client=e.client, reason=rejected.reason.value,
    ))
