import uuid

from services.memberships.domain import MembershipType
from services.memberships.repository import Repository
from services.memberships.schemas import MembershipTypeIn
from shared import topics
from shared.events import MembershipTypeChanged, MembershipTypeService
from shared.uow import UnitOfWork


def type_event(t: MembershipType) -> MembershipTypeChanged:
    return MembershipTypeChanged(
        chain_id=t.chain_id,
        membership_type_id=uuid.UUID(t.id),
        name=t.name,
        price=t.price,
        archived=t.archived,
        balance=t.balance,  # type: ignore[arg-type]
        services=[
            MembershipTypeService(service_id=s.service_id, category_id=s.category_id, visits=s.visits)
            for s in t.services
        ],
        total_visits=t.total_visits,
        allow_without_code=t.allow_without_code,
        online_sale=t.online_sale,
        location_ids=list(t.location_ids),
    )


async def create_type(uow: UnitOfWork, chain_id: str, body: MembershipTypeIn) -> MembershipType:
    t = body.to_domain(str(uuid.uuid4()), chain_id)
    await Repository(uow.conn, chain_id).add_type(t)
    uow.publish(topics.MEMBERSHIP_TYPE_CREATED, t.id, type_event(t))
    return t
