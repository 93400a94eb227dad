"""Kafka subscriptions of the memberships service: topic → use case."""

from services.memberships import usecases
from shared import topics
from shared.events import MembershipSold, VisitPaid
from shared.runtime import Service


def register(service: Service) -> None:
    service.subscribe(
        topics.MEMBERSHIP_SOLD, MembershipSold, usecases.sell,
        keys=lambda e: [f"sale:{e.sale_id}"],  # a sale issues once, whatever its event id
        description="A membership was sold: issue it (with its code, a generated one, or none).",
    )
    service.subscribe(
        topics.VISIT_PAID, VisitPaid, usecases.pay_visit,
        keys=lambda e: [f"visit.paid:{e.visit_id}"],  # a visit is paid once, whatever its event id
        description="A visit's checkout: deduct the service lines paid with a membership.",
    )
