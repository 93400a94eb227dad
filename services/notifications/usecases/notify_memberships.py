"""Membership domain events → notices. `membership.deducted` gives the slice's
"Anna, 1 visit was deducted from membership 4567; 9 left."."""

from __future__ import annotations

from typing import Any

from services.notifications import domain
from services.notifications.usecases.notify import Draft, notify
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
from shared.uow import UnitOfWork


def _draft(notice_type: str, e: DomainEvent, client: Client, values: dict[str, object]) -> Draft:
    return Draft(
        type=notice_type, chain_id=e.chain_id, location_id=e.location_id,
        client=domain.Recipient(client.id, client.phone),
        values={"client_name": client.name or domain.DEAR_CLIENT, **values},
        source_event_id=e.event_id, occurred_at=e.occurred_at,
    )


def _membership(e: MembershipStateEvent) -> dict[str, Any]:
    return {"membership_code": e.code or e.type_name, "type_name": e.type_name, "balance": e.visits_left,
            "valid_until": e.valid_until}


async def notify_issued(uow: UnitOfWork, e: MembershipIssued) -> None:
    await notify(uow, _draft("membership.issued", e, e.client, {
        "membership_code": e.code or e.type_name, "type_name": e.type_name,
        "balance": sum(e.balance.values()), "valid_until": e.valid_until,
    }))


async def notify_deduction(uow: UnitOfWork, e: MembershipDeducted) -> None:
    await notify(uow, _draft("membership.deducted", e, e.client, {
        "deducted": domain.visits_phrase(e.units), "units": e.units,
        "membership_code": e.code or e.type_name, "type_name": e.type_name, "balance": e.visits_left,
        "valid_until": e.valid_until,
    }))


async def notify_deduction_rejected(uow: UnitOfWork, e: MembershipDeductionRejected) -> None:
    notice_type, reason_text = domain.rejection(e.reason)
    desk = domain.KINDS[notice_type].audience == domain.ADMINISTRATOR
    await notify(uow, _draft(notice_type, e, e.client, {
        **({"client_name": e.client.name or e.client.id} if desk else {}),
        "membership_code": e.code or e.type_name or "without a code", "reason": e.reason, "reason_text": reason_text,
        "service_id": e.service_id, "visit_id": e.visit_id, "client_phone": e.client.phone or "",
    }))


async def notify_deduction_reversed(uow: UnitOfWork, e: MembershipDeductionReversed) -> None:
    await notify(uow, _draft("membership.deduction_reversed", e, e.client, {
        "visit_date": e.visit_at, "units": e.units, "reason": e.reason, "membership_code": e.code or e.type_name,
        "type_name": e.type_name, "balance": e.visits_left, "valid_until": e.valid_until,
    }))


async def notify_expiring(uow: UnitOfWork, e: MembershipExpiring) -> None:
    notice_type = "membership.running_low" if e.reason == "visits_left" else "membership.expiring"
    await notify(uow, _draft(notice_type, e, e.client, {**_membership(e), "days_left": e.days_left}))


async def notify_expired(uow: UnitOfWork, e: MembershipExpired) -> None:
    await notify(uow, _draft("membership.expired", e, e.client, _membership(e)))


async def notify_frozen(uow: UnitOfWork, e: MembershipFrozen) -> None:
    await notify(uow, _draft("membership.frozen", e, e.client, {
        **_membership(e), "frozen_from": e.frozen_from, "frozen_until": e.frozen_until, "days": e.days,
    }))


async def notify_unfrozen(uow: UnitOfWork, e: MembershipUnfrozen) -> None:
    await notify(uow, _draft("membership.unfrozen", e, e.client, _membership(e)))


async def notify_activated(uow: UnitOfWork, e: MembershipActivated) -> None:
    if e.cause != "auto_activation":
        return  # activated by its first use: the deduction's notice tells the client already
    await notify(uow, _draft("membership.activated", e, e.client, _membership(e)))
