"""Kafka subscriptions of the inventory service: topic → use case."""

from services.inventory import usecases
from shared import topics
from shared.events import MembershipTypeChanged, VisitPaid, VisitStatus
from shared.runtime import Service


def register(service: Service) -> None:
    service.subscribe(
        topics.VISIT_PAID, VisitPaid, batch=usecases.apply_paid_visits,
        keys=lambda e: [f"visit.paid:{e.visit_id}"],  # a visit is applied once, whatever its event id
        description="A visit's checkout: product lines leave their storage, membership lines are sold "
                    "(membership.sold per unit), consumables are written off where the location says so.",
    )
    service.subscribe(
        topics.VISIT_ARRIVED, VisitStatus, batch=usecases.write_off_on_arrival,
        description="A visit marked arrived: the consumables of its services are written off (once per "
                    "visit and service).",
    )
    for topic in (topics.MEMBERSHIP_TYPE_CREATED, topics.MEMBERSHIP_TYPE_CHANGED):
        service.subscribe(
            topic, MembershipTypeChanged, usecases.sync_membership_type,
            description="A membership type is a product in the Memberships category at each of its locations.",
        )
