"""Composition root of the memberships service."""

from pathlib import Path

from pydantic import BaseModel

from services.memberships import api, handlers
from shared import events, topics
from shared.runtime import Service

PUBLISHES: list[tuple[str, type[BaseModel], str]] = [
    (topics.MEMBERSHIP_TYPE_CREATED, events.MembershipTypeChanged, "A membership type was created"),
    (topics.MEMBERSHIP_TYPE_CHANGED, events.MembershipTypeChanged, "A type was changed, archived or restored"),
    (topics.MEMBERSHIP_ISSUED, events.MembershipIssued, "A sold membership was issued"),
    (topics.MEMBERSHIP_ISSUE_REJECTED, events.MembershipIssueRejected, "A sale issued nothing, with the reason"),
    (topics.MEMBERSHIP_ACTIVATED, events.MembershipActivated, "First use, or auto-activation after the sale"),
    (topics.MEMBERSHIP_DEDUCTED, events.MembershipDeducted, "Visits were deducted (paid, no-show, late cancel)"),
    (
        topics.MEMBERSHIP_DEDUCTION_REJECTED,
        events.MembershipDeductionRejected,
        "A line could not be paid with the membership, with the reason",
    ),
    (
        topics.MEMBERSHIP_DEDUCTION_REVERSED,
        events.MembershipDeductionReversed,
        "An automatic deduction (no-show, late cancel) given back: the visit was paid, or the client arrived",
    ),
    (topics.MEMBERSHIP_EXPIRING, events.MembershipExpiring, "N days before expiry, or N visits left"),
    (topics.MEMBERSHIP_EXPIRED, events.MembershipExpired, "The membership is past its validity"),
    (topics.MEMBERSHIP_FROZEN, events.MembershipFrozen, "Frozen; valid_until extended by the frozen days"),
    (topics.MEMBERSHIP_UNFROZEN, events.MembershipUnfrozen, "Unfrozen, early or when the freeze ended"),
]


def build() -> Service:
    service = Service("memberships", Path(__file__).parent / "migrations")
    handlers.register(service)
    for topic, model, description in PUBLISHES:
        service.publishes(topic, model, description)
    service.include_router(api.router)
    return service
