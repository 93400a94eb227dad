"""Composition root of the memberships service."""

from pathlib import Path

from services.memberships import api, handlers
from shared import events, topics
from shared.runtime import Service


def build() -> Service:
    service = Service("memberships", Path(__file__).parent / "migrations")
    handlers.register(service)
    service.publishes(topics.MEMBERSHIP_TYPE_CREATED, events.MembershipTypeChanged, "A membership type was created")
    service.publishes(topics.MEMBERSHIP_ISSUED, events.MembershipIssued, "A sold membership was issued")
    service.publishes(topics.MEMBERSHIP_ISSUE_REJECTED, events.MembershipIssueRejected,
                      "A sale issued nothing, with the reason")
    service.publishes(topics.MEMBERSHIP_DEDUCTED, events.MembershipDeducted, "Visits were deducted")
    service.publishes(topics.MEMBERSHIP_DEDUCTION_REJECTED, events.MembershipDeductionRejected,
                      "A line could not be paid with the membership, with the reason")
    service.include_router(api.router)
    return service
