"""`membership.deducted` → "Anna, 1 visit was deducted from membership 4567; 9 left." by SMS."""

from services.notifications import domain
from services.notifications.usecases.notify import send
from shared import topics
from shared.events import MembershipDeducted
from shared.uow import UnitOfWork


async def notify_deduction(uow: UnitOfWork, e: MembershipDeducted) -> None:
    await send(
        uow, chain_id=e.chain_id, location_id=e.location_id, client_id=e.client.id, to=e.client.phone,
        channel="sms", notice_type=topics.MEMBERSHIP_DEDUCTED,
        template=domain.DEFAULT_TEMPLATES[topics.MEMBERSHIP_DEDUCTED],
        values={
            "client_name": e.client.name or "Dear client",
            "deducted": domain.visits_phrase(e.units),
            "membership_code": e.code or e.type_name,
            "balance": e.visits_left,
            "valid_until": e.valid_until.date().isoformat() if e.valid_until else "",
        },
        source_event_id=e.event_id, at=e.occurred_at,
    )
