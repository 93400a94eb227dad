"""Sale, deduction and the lifecycle a deduction or a job moves a membership through (first use,
auto-activation, expiry, expiring-soon). Pure."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from services.memberships.domain.model import (
    IssueReason,
    Membership,
    MembershipType,
    Reason,
    Status,
    shift,
)


@dataclass(frozen=True)
class IssueRejected:
    reason: IssueReason


def check_sale(
    t: MembershipType | None,
    code: str | None,
    location_id: str,
    *,
    channel: str = "desk",
    phone: str | None = None,
    phone_given: bool = False,
) -> IssueRejected | None:
    """May this sale issue a membership of type `t`? (The code's uniqueness is the repository's.) `channel`:
    desk or online; `phone`: the buyer's in E.164 (None: none, or `phone_given` but no number), which a
    no-code membership is bound to."""
    if t is None:
        return IssueRejected(IssueReason.UNKNOWN_TYPE)
    if t.archived:
        return IssueRejected(IssueReason.TYPE_ARCHIVED)
    if not t.valid_at(location_id):
        return IssueRejected(IssueReason.LOCATION_NOT_ALLOWED)
    if channel == "online" and not t.online_sale:
        return IssueRejected(IssueReason.NOT_SOLD_ONLINE)
    if code is None and not t.allow_without_code:
        return IssueRejected(IssueReason.CODE_REQUIRED)
    if code is None and phone is None:
        return IssueRejected(IssueReason.PHONE_INVALID if phone_given else IssueReason.PHONE_REQUIRED)
    return None


def issue(
    t: MembershipType,
    *,
    membership_id: str,
    code: str | None,
    client_id: str,
    phone: str | None,
    location_id: str,
    price: Decimal,
    sold_at: datetime,
    client_name: str | None = None,
) -> Membership:
    """The membership a sale issues (`phone`: as it is to be stored, E.164 when it is a number)."""
    valid_until = t.validity.end(sold_at) if t.validity.counted_from == "sale" else None
    return Membership(
        id=membership_id,
        chain_id=t.chain_id,
        type_id=t.id,
        code=code,
        client_id=client_id,
        phone=phone,
        location_id=location_id,
        status=Status.SOLD,
        balance=t.initial_balance(),
        price=price,
        sold_at=sold_at,
        valid_until=valid_until,
        client_name=client_name,
    )


@dataclass(frozen=True)
class Deducted:
    membership: Membership
    balance_key: str
    units: int
    service_cost: Decimal | None
    activated: bool = False  # this deduction was the first use

    @property
    def visits_left(self) -> int:
        return self.membership.balance[self.balance_key]


@dataclass(frozen=True)
class Rejected:
    reason: Reason


def is_expired(m: Membership, at: datetime) -> bool:
    return m.status == Status.EXPIRED or (m.valid_until is not None and at >= m.valid_until)


def first_use_at(m: Membership, at: datetime, now: datetime | None = None) -> datetime:
    """When a first use dated `at` starts the membership: never before its sale (a visit dated earlier, by a
    late message or a skewed clock, would start a `first_visit` validity early), and never after `now`
    (one dated ahead would push the validity's end out; the consumer refuses the far future already)."""
    moment = min(at, now) if now is not None else at
    return max(moment, m.sold_at)


def deduct(
    m: Membership,
    t: MembershipType,
    *,
    service_id: str,
    location_id: str,
    units: int,
    at: datetime,
    phone: str | None,
    now: datetime | None = None,
) -> Deducted | Rejected:
    """Takes `units` visits of `service_id` off `m`, or says why not (and then changes nothing). A first use
    activates it as of `first_use_at`. `phone`: the client's, in E.164 (None: none, or no number), which
    must be the buyer's for a no-code membership."""
    if not t.covers(service_id):
        return Rejected(Reason.SERVICE_NOT_INCLUDED)
    if not t.valid_at(location_id):
        return Rejected(Reason.LOCATION_NOT_ALLOWED)
    if m.code is None and (phone is None or phone != m.phone):
        return Rejected(Reason.PHONE_MISMATCH)
    # By the visit's date, not the status: the freeze's last day has passed even if the job that turns
    # the status back has not run yet (a late job run costs the client nothing).
    day = at.date()
    if m.frozen_on(day) or (m.status == Status.FROZEN and (m.frozen_until is None or day < m.frozen_until)):
        return Rejected(Reason.FROZEN)
    if is_expired(m, at):
        return Rejected(Reason.EXPIRED)
    key = t.balance_key(service_id)
    if m.balance.get(key, 0) < units:
        return Rejected(Reason.EXHAUSTED)

    balance = {**m.balance, key: m.balance[key] - units}
    active = activate(m, t, first_use_at(m, at, now)) if m.status == Status.SOLD else m  # first use starts it
    status = Status.EXHAUSTED if sum(balance.values()) == 0 else Status.ACTIVE
    cost = t.service_cost()
    return Deducted(
        replace(active, balance=balance, status=status),
        key,
        units,
        cost * units if cost is not None else None,
        activated=m.status == Status.SOLD,
    )


def eligibility(
    m: Membership,
    t: MembershipType,
    *,
    service_id: str,
    location_id: str,
    at: datetime,
    phone: str | None,
    units: int = 1,
) -> Rejected | None:
    """May `m` pay for `units` of `service_id` now? None if it may, else why not."""
    outcome = deduct(m, t, service_id=service_id, location_id=location_id, units=units, at=at, phone=phone)
    return outcome if isinstance(outcome, Rejected) else None


# --- lifecycle ----------------------------------------------------------------------------------


def activate(m: Membership, t: MembershipType, at: datetime) -> Membership:
    """sold → active: the validity of a `first_visit` type starts now. Frozen days that fall after this
    moment (a freeze planned or running while it was unused) still extend it."""
    valid_until = m.valid_until
    if t.validity.counted_from == "first_visit" and valid_until is None:
        valid_until = t.validity.end(at)
        if valid_until is not None and m.frozen_from and m.frozen_until:
            frozen_after = (m.frozen_until - max(m.frozen_from, at.date())).days
            valid_until = shift(valid_until, timedelta(days=max(frozen_after, 0)))
    return replace(m, status=Status.ACTIVE, activated_at=at, valid_until=valid_until)


def auto_activation_due(m: Membership, t: MembershipType, at: datetime) -> bool:
    """An unused membership activates by itself `auto_activation_days` after its sale (unless it had
    expired by then: that one expires instead)."""
    due = auto_activation_at(m, t)
    if m.status != Status.SOLD or due is None:
        return False
    return at >= due and (m.valid_until is None or due < m.valid_until)


def auto_activation_at(m: Membership, t: MembershipType) -> datetime | None:
    if t.auto_activation_days is None:
        return None
    return shift(m.sold_at, timedelta(days=t.auto_activation_days))


def auto_activate(m: Membership, t: MembershipType) -> Membership:
    """Activation as of the day it was due (not the day the job ran), so a late job run costs the
    client nothing."""
    due = auto_activation_at(m, t)
    assert due is not None
    return activate(m, t, due)


def expiry_due(m: Membership, at: datetime) -> bool:
    return (
        m.status in (Status.SOLD, Status.ACTIVE, Status.FROZEN) and m.valid_until is not None and (at >= m.valid_until)
    )


def expire(m: Membership) -> Membership:
    return replace(m, status=Status.EXPIRED)


@dataclass(frozen=True)
class ExpiringSoon:
    reason: str  # valid_until or visits_left
    days_left: int | None = None


def expiring_soon(m: Membership, t: MembershipType, at: datetime) -> ExpiringSoon | None:
    """Is it time for the expiring-soon notice (the type's `notify_days_before_expiry` before
    valid_until, or the visits left down to `notify_visits_left`)?"""
    if m.status not in (Status.SOLD, Status.ACTIVE):
        return None
    if t.notify_days_before_expiry is not None and m.valid_until is not None and at < m.valid_until:
        left = m.valid_until - at
        if left <= timedelta(days=t.notify_days_before_expiry):
            return ExpiringSoon("valid_until", left.days)
    if t.notify_visits_left is not None and 0 < m.visits_left <= t.notify_visits_left:
        return ExpiringSoon("visits_left")
    return None
