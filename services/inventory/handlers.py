"""Kafka subscriptions of the inventory service: topic → use case."""

from services.inventory import usecases
from shared import topics
from shared.events import VisitPaid
from shared.runtime import Service


def register(service: Service) -> None:
    service.subscribe(topics.VISIT_PAID, VisitPaid, usecases.sell_visit_products,
                      keys=lambda e: [f"visit.paid:{e.visit_id}"],
                      description="A visit's checkout: its product lines leave their storage.")
