"""Kafka subscriptions of the memberships service: topic → use case, each given a whole batch of events
(usecases/work.py: loaded in bulk, decided record by record, saved in bulk)."""

from services.memberships import usecases
from shared import topics
from shared.events import MembershipSold, VisitCancelled, VisitPaid, VisitStatus
from shared.runtime import Service


def register(service: Service) -> None:
    service.subscribe(
        topics.MEMBERSHIP_SOLD,
        MembershipSold,
        batch=usecases.sell,
        keys=lambda e: [usecases.sale_key(e.sale_id)],  # once, whatever its event id (or its visit issued it)
        description="A membership was sold: issue it (with its code, a generated one, or none).",
    )
    service.subscribe(
        topics.VISIT_PAID,
        VisitPaid,
        batch=usecases.pay_visits,
        keys=lambda e: [f"visit.paid:{e.visit_id}"],  # a visit is paid once, whatever its event id
        description="A visit's checkout: issue the memberships it sells, give back its automatic deductions, "
        "deduct the service lines paid with a membership.",
    )
    service.subscribe(
        topics.VISIT_ARRIVED,
        VisitStatus,
        batch=usecases.arrive,
        keys=lambda e: [f"visit.arrived:{e.visit_id}"],
        description="The client came: give back the visit's automatic deductions (no-show, late cancellation).",
    )
    service.subscribe(
        topics.VISIT_NO_SHOW,
        VisitStatus,
        batch=usecases.deduct_no_show,
        keys=lambda e: [f"visit.no_show:{e.visit_id}"],
        description="The client did not come: deduct where the location's policy says so.",
    )
    service.subscribe(
        topics.VISIT_CANCELLED,
        VisitCancelled,
        batch=usecases.deduct_late_cancel,
        keys=lambda e: [f"visit.cancelled:{e.visit_id}"],
        description="A visit was cancelled: deduct a late cancellation where the location's policy says so.",
    )
    for name, (job, description) in usecases.JOBS.items():
        service.job(name, job, description)
