"""`POST /memberships/import`: memberships sold before the chain came to us, many at once, each issued
exactly as its `membership.sold` would be (the same rules, the same `membership.issued` or
`membership.issue_rejected` event), and each sale once: its inbox key is claimed here, so an import sent
twice, or the sale's `membership.sold` arriving later, issues nothing more. Load -> decide -> save, as the
consumer's batch does (usecases/work.py)."""

from __future__ import annotations

import uuid
from collections import Counter

from services.memberships import domain
from services.memberships.schemas import ImportedMembershipOut, MembershipImportIn, MembershipImportOut
from services.memberships.usecases.sell import issue, sale_key
from services.memberships.usecases.work import SaleRace, Work
from shared import topics
from shared.errors import Conflict, Invalid
from shared.events import MembershipSold
from shared.uow import UnitOfWork


async def import_memberships(uow: UnitOfWork, chain_id: str, body: MembershipImportIn) -> MembershipImportOut:
    seen: dict[str, int] = {}
    for i, row in enumerate(body.memberships):
        if row.sale_id in seen:
            raise Invalid(
                "duplicate_sale",
                f"sale {row.sale_id} is imported twice (also memberships.{seen[row.sale_id]}.sale_id)",
                field=f"memberships.{i}.sale_id",
            )
        seen[row.sale_id] = i
    sales = [
        MembershipSold(
            event_id=str(uuid.uuid4()),
            occurred_at=row.sold_at,
            chain_id=chain_id,
            location_id=row.location_id,
            sale_id=row.sale_id,
            membership_type_id=row.membership_type_id,
            code=row.code,
            client=row.client,
            price=row.price,
        )
        for row in body.memberships
    ]
    work = Work(uow)
    claimed = await work.claim({(chain_id, sale_key(s.sale_id)) for s in sales}, topics.MEMBERSHIP_SOLD)
    fresh = [s for s in sales if (chain_id, sale_key(s.sale_id)) in claimed]
    await work.load(sales=fresh)
    answers = []
    for s in sales:
        outcome = issue(uow, work, s, cause=s) if (chain_id, sale_key(s.sale_id)) in claimed else None
        if isinstance(outcome, domain.Membership):
            answers.append(
                ImportedMembershipOut(
                    sale_id=s.sale_id, status="issued", membership_id=uuid.UUID(outcome.id), code=outcome.code
                )
            )
        elif isinstance(outcome, domain.IssueRejected):
            answers.append(
                ImportedMembershipOut(sale_id=s.sale_id, status="rejected", code=s.code, reason=outcome.reason.value)
            )
        else:
            answers.append(ImportedMembershipOut(sale_id=s.sale_id, status="duplicate"))
    try:
        await work.save()
    except SaleRace as exc:
        raise Conflict(
            "sale_race",
            "a sale or code of the import was issued meanwhile: nothing was imported; send the import again",
            field="memberships",
        ) from exc
    counts = Counter(a.status for a in answers)
    return MembershipImportOut(
        issued=counts["issued"], rejected=counts["rejected"], duplicate=counts["duplicate"], memberships=answers
    )
