"""Kafka subscriptions of the loyalty service: topic → use case (each takes a whole batch's events)."""

from services.loyalty import usecases
from shared import topics
from shared.events import SaleRecorded, VisitPaid, VisitStatus
from shared.runtime import Service


def register(service: Service) -> None:
    service.subscribe(
        topics.VISIT_PAID,
        VisitPaid,
        batch=usecases.record_payments_and_referrals,
        keys=lambda e: [f"visit.paid:{e.visit_id}"],  # a visit is paid once, whatever its event id
        description="A visit's checkout: the client's sold and paid totals, points spent and "
        "cashback accrued, the location program recalculated; a referral it names recorded, the "
        "referrer rewarded on the invitee's first paid visit.",
    )
    service.subscribe(
        topics.VISIT_ARRIVED,
        VisitStatus,
        batch=usecases.record_arrivals,
        description="The client came: counts as a visit; the location program recalculated.",
    )
    service.subscribe(
        topics.VISIT_NO_SHOW,
        VisitStatus,
        batch=usecases.record_no_shows,
        description="The client did not come (the no-show category).",
    )
    service.subscribe(
        topics.INVENTORY_SALE_RECORDED,
        SaleRecorded,
        batch=usecases.record_desk_sales,
        keys=lambda e: [f"inventory.sale_recorded:{e.operation_id}"],  # once per operation
        description="A sale at the desk for a client: counts toward the client's sold and paid "
        "(not visits); the location program recalculated.",
    )
