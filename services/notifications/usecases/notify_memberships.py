"""Membership domain events → notices: each event's draft (what to tell, with which values), and the
topic's batch handler. `membership.deducted` gives the slice's
"Anna, 1 visit was deducted from membership 4567; 9 left."."""

from __future__ import annotations

from typing import Any

from services.notifications import domain
from services.notifications.domain import Draft
from services.notifications.usecases.notify import notifier
from shared import phones
from shared.events import (
    DomainEvent,
    MembershipActivated,
    MembershipDeducted,
    MembershipDeductionRejected,
    MembershipDeductionReversed,
    MembershipExpired,
    MembershipExpiring,
    MembershipFrozen,
    MembershipIssued,
    MembershipStateEvent,
    MembershipUnfrozen,
)
from shared.events.inbound import Client


def _draft(notice_type: str, e: DomainEvent, client: Client, values: dict[str, object]) -> Draft:
    return Draft(
        type=notice_type,
        chain_id=e.chain_id,
        location_id=e.location_id,
        client=domain.Recipient(client.id, phones.normalize_at(client.phone, e.chain_id, e.location_id)),
        values={"client_name": client.name or domain.DEAR_CLIENT, **values},
        source_event_id=e.event_id,
        occurred_at=e.occurred_at,
    )


def _membership(e: MembershipStateEvent) -> dict[str, Any]:
    return {
        "membership_code": e.code or e.type_name,
        "type_name": e.type_name,
        "balance": e.visits_left,
        "valid_until": e.valid_until,
    }


def issued_draft(e: MembershipIssued) -> Draft:
    return _draft(
        "membership.issued",
        e,
        e.client,
        {
            "membership_code": e.code or e.type_name,
            "type_name": e.type_name,
            "balance": sum(e.balance.values()),
            "valid_until": e.valid_until,
        },
    )


def deduction_draft(e: MembershipDeducted) -> Draft:
    return _draft(
        "membership.deducted",
        e,
        e.client,
        {
            "deducted": domain.visits_phrase(e.units),
            "units": e.units,
            "membership_code": e.code or e.type_name,
            "type_name": e.type_name,
            "balance": e.visits_left,
            "valid_until": e.valid_until,
        },
    )


def deduction_rejected_draft(e: MembershipDeductionRejected) -> Draft:
    notice_type, reason_text = domain.rejection(e.reason)
    desk = domain.KINDS[notice_type].audience == domain.ADMINISTRATOR
    return _draft(
        notice_type,
        e,
        e.client,
        {
            **({"client_name": e.client.name or e.client.id} if desk else {}),
            "membership_code": e.code or e.type_name or "without a code",
            "reason": e.reason,
            "reason_text": reason_text,
            "service_id": e.service_id,
            "visit_id": e.visit_id,
            "client_phone": e.client.phone or "",
        },
    )


def deduction_reversed_draft(e: MembershipDeductionReversed) -> Draft:
    return _draft(
        "membership.deduction_reversed",
        e,
        e.client,
        {
            "visit_date": e.visit_at,
            "units": e.units,
            "reason": e.reason,
            "membership_code": e.code or e.type_name,
            "type_name": e.type_name,
            "balance": e.visits_left,
            "valid_until": e.valid_until,
        },
    )


def expiring_draft(e: MembershipExpiring) -> Draft:
    notice_type = "membership.running_low" if e.reason == "visits_left" else "membership.expiring"
    return _draft(notice_type, e, e.client, {**_membership(e), "days_left": e.days_left})


def expired_draft(e: MembershipExpired) -> Draft:
    return _draft("membership.expired", e, e.client, _membership(e))


def frozen_draft(e: MembershipFrozen) -> Draft:
    return _draft(
        "membership.frozen",
        e,
        e.client,
        {
            **_membership(e),
            "frozen_from": e.frozen_from,
            "frozen_until": e.frozen_until,
            "days": e.days,
        },
    )


def unfrozen_draft(e: MembershipUnfrozen) -> Draft:
    return _draft("membership.unfrozen", e, e.client, _membership(e))


def activated_draft(e: MembershipActivated) -> Draft | None:
    if e.cause != "auto_activation":
        return None  # activated by its first use: the deduction's notice tells the client already
    return _draft("membership.activated", e, e.client, _membership(e))


# The topics' batch handlers.
notify_issued = notifier(issued_draft)
notify_deduction = notifier(deduction_draft)
notify_deduction_rejected = notifier(deduction_rejected_draft)
notify_deduction_reversed = notifier(deduction_reversed_draft)
notify_expiring = notifier(expiring_draft)
notify_expired = notifier(expired_draft)
notify_frozen = notifier(frozen_draft)
notify_unfrozen = notifier(unfrozen_draft)
notify_activated = notifier(activated_draft)
