"""`membership.sold`: issue a membership with the given code, a generated one, or none."""

import uuid

import structlog

from services.memberships import domain
from services.memberships.domain import AUTO_CODE, IssueReason
from services.memberships.repository import Repository
from shared import topics
from shared.events import MembershipIssued, MembershipIssueRejected, MembershipSold
from shared.uow import UnitOfWork

log = structlog.get_logger("memberships")


async def _free_code(repo: Repository) -> str:
    while True:  # 31^8 codes: a collision is rare, two in a row rarer still
        code = domain.generate_code()
        if not await repo.code_taken(code):
            return code


async def sell(uow: UnitOfWork, e: MembershipSold) -> None:
    repo = Repository(uow.conn, e.chain_id, uow.batch)
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
        rejected = domain.IssueRejected(IssueReason.CODE_TAKEN)  # the unique index says so
    log.info("issue_rejected", sale_id=e.sale_id, code=code, reason=rejected.reason.value)
    uow.publish(topics.MEMBERSHIP_ISSUE_REJECTED, e.client.id, MembershipIssueRejected(
        chain_id=e.chain_id, location_id=e.location_id, sale_id=e.sale_id,
        membership_type_id=e.membership_type_id, code=code, client=e.client, reason=rejected.reason.value,
    ))
