"""Kafka subscriptions of the notifications service: domain event → notice."""

from services.notifications import usecases
from shared import topics
from shared.events import MembershipDeducted
from shared.runtime import Service


def register(service: Service) -> None:
    service.subscribe(topics.MEMBERSHIP_DEDUCTED, MembershipDeducted, usecases.notify_deduction,
                      description="Visits were deducted: tell the client what is left.")
