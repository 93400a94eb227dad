"""Automatic deductions (no-show, late cancellation) and the rule of one charge per visit. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from services.memberships.domain.deduction import eligibility
from services.memberships.domain.model import Membership, MembershipType, Status

# --- automatic deduction (no-show, late cancellation) --------------------------------------------


@dataclass(frozen=True)
class ServicePolicy:
    no_show: bool | None = None
    late_cancel: bool | None = None


@dataclass(frozen=True)
class DeductionPolicy:
    """A location's rule for deducting a visit the client did not come to; per-service overrides."""

    no_show: bool = False
    late_cancel_hours: int | None = None  # None: late cancellations are not deducted
    services: dict[str, ServicePolicy] | None = None

    def deducts_no_show(self, service_id: str) -> bool:
        override = (self.services or {}).get(service_id)
        return override.no_show if override and override.no_show is not None else self.no_show

    def deducts_late_cancel(self, service_id: str, scheduled_at: datetime, cancelled_at: datetime) -> bool:
        if self.late_cancel_hours is None:
            return False
        override = (self.services or {}).get(service_id)
        if override and override.late_cancel is False:
            return False
        return is_late_cancel(scheduled_at, cancelled_at, self.late_cancel_hours)


def is_late_cancel(scheduled_at: datetime, cancelled_at: datetime, hours: int) -> bool:
    """Late = cancelled fewer than `hours` before the visit was to start (or after it)."""
    return scheduled_at - cancelled_at < timedelta(hours=hours)


def choose_membership(
    candidates: list[tuple[Membership, MembershipType]],
    *,
    service_id: str,
    location_id: str,
    at: datetime,
    phone: str | None,
) -> tuple[Membership, str] | None:
    """Where a deduction names no membership: the client's eligible one that expires soonest
    (Altegio's rule); unlimited ones last, then the oldest sale. Answers it and why."""
    eligible = [
        (m, t)
        for m, t in candidates
        if eligibility(m, t, service_id=service_id, location_id=location_id, at=at, phone=phone) is None
    ]
    if not eligible:
        return None
    far = datetime.max.replace(tzinfo=at.tzinfo)

    def expires(mt: tuple[Membership, MembershipType]) -> datetime:
        # An unused first_visit membership would run from now if used now.
        m, t = mt
        if m.valid_until is None and m.activated_at is None and t.validity.counted_from == "first_visit":
            return t.validity.end(at) or far
        return m.valid_until or far

    m, t = min(eligible, key=lambda mt: (expires(mt), mt[0].sold_at))
    end = expires((m, t))
    why = (
        f"eligible for {service_id}; expires soonest ({end.isoformat()})"
        if end != far
        else f"eligible for {service_id}; the oldest sale among unlimited memberships"
    )
    return m, f"{why}, of {len(eligible)} eligible"


# --- one charge per visit ------------------------------------------------------------------------


class VisitEvent(StrEnum):
    """What a booking system says of a visit, as far as its charges go."""

    PAID = "paid"
    ARRIVED = "arrived"
    NO_SHOW = "no_show"
    LATE_CANCEL = "late_cancel"


AUTOMATIC = frozenset({VisitEvent.NO_SHOW.value, VisitEvent.LATE_CANCEL.value})


class ReversalReason(StrEnum):
    """Why an automatic deduction was given back: the booking system corrected the visit's status."""

    VISIT_PAID = "visit_paid"
    VISIT_ARRIVED = "visit_arrived"


@dataclass(frozen=True)
class Charge:
    """A deduction that stands against a visit: recorded (its history entry) and not given back."""

    entry_id: int
    membership_id: str
    service_id: str
    units: int
    cause: str  # paid, no_show, late_cancel
    at: datetime  # what the deduction was dated: the payment, or the visit's scheduled time

    @property
    def automatic(self) -> bool:
        return self.cause in AUTOMATIC


@dataclass(frozen=True)
class VisitRecord:
    """What this service knows of one visit: whether it was paid or the client came (facts a later
    no-show or cancellation does not undo), and the charges standing against it."""

    paid: bool = False
    arrived: bool = False
    charges: tuple[Charge, ...] = ()


@dataclass(frozen=True)
class VisitSettlement:
    """What one event of a visit does to its charges: the automatic ones to give back (and why), and
    which of the event's wanted charges to deduct now, as (index in `wanted`, units)."""

    reverse: tuple[Charge, ...] = ()
    reason: ReversalReason | None = None
    charge: tuple[tuple[int, int], ...] = ()


def settle_visit(visit: VisitRecord, event: VisitEvent, wanted: Sequence[tuple[str, int]] = ()) -> VisitSettlement:
    """THE rule of one charge per visit: whatever mix and order of no-show, late cancellation, arrival
    and payment arrive, a visit takes at most its units of each service, once.

    - `paid`: the visit happened. Its automatic deductions are given back (reason `visit_paid`), then its
      lines paid with a membership are deducted (`wanted`: (service, units) per line), less what already
      stands paid for that service;
    - `arrived`: the client came: its automatic deductions are given back (`visit_arrived`);
    - `no_show`, `late_cancel` (`wanted`: (service, 1) per service the location's policy deducts):
      nothing on a visit that was paid or arrived, whichever came first; otherwise each service is
      deducted only as far as no charge (of any cause) stands for it already.
    """
    if event in (VisitEvent.PAID, VisitEvent.ARRIVED):
        reverse = tuple(c for c in visit.charges if c.automatic)
        reason = ReversalReason.VISIT_PAID if event == VisitEvent.PAID else ReversalReason.VISIT_ARRIVED
        if event == VisitEvent.ARRIVED:
            return VisitSettlement(reverse, reason if reverse else None)
        kept = [c for c in visit.charges if not c.automatic]
        return VisitSettlement(reverse, reason if reverse else None, _uncovered(wanted, kept))
    if visit.paid or visit.arrived:
        return VisitSettlement()
    return VisitSettlement(charge=_uncovered(wanted, visit.charges))


def _uncovered(wanted: Sequence[tuple[str, int]], standing: Sequence[Charge]) -> tuple[tuple[int, int], ...]:
    """The units of each wanted charge that no standing charge of its service covers yet."""
    held = Counter[str]()
    for c in standing:
        held[c.service_id] += c.units
    due = []
    for index, (service_id, units) in enumerate(wanted):
        covered = min(units, held[service_id])
        held[service_id] -= covered
        if units > covered:
            due.append((index, units - covered))
    return tuple(due)


def give_back(m: Membership, t: MembershipType, charge: Charge) -> Membership:
    """A deduction reversed: its visits back on the balance they came from; an exhausted membership is
    usable again. (Its first use stays its first use: the validity it started keeps running.)"""
    key = t.balance_key(charge.service_id)
    balance = {**m.balance, key: m.balance.get(key, 0) + charge.units}
    status = m.status
    if status == Status.EXHAUSTED:
        status = Status.ACTIVE if m.activated_at else Status.SOLD
    return replace(m, balance=balance, status=status)
