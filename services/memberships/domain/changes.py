"""What a desk or an owner changes: freezes, a type after its first sale, a membership's edit. Pure."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from services.memberships.domain.model import Membership, MembershipType, Status, shift

# --- freezing -----------------------------------------------------------------------------------


class FreezeError(StrEnum):
    NOT_ALLOWED = "freeze_not_allowed"
    TOO_LONG = "freeze_limit_exceeded"
    NOT_ACTIVE = "not_freezable_in_this_status"
    ALREADY_FROZEN = "already_frozen"
    IN_THE_PAST = "freeze_starts_in_the_past"
    AFTER_EXPIRY = "freeze_starts_after_expiry"


def freeze(m: Membership, t: MembershipType, start: date, days: int, today: date) -> Membership | FreezeError:
    """Freezes from `start` for `days` days. Several freezes may add up to the type's `max_days`; the
    frozen days are added to valid_until."""
    if not t.freeze_allowed:
        return FreezeError.NOT_ALLOWED
    if m.status == Status.FROZEN or (m.frozen_until is not None and m.frozen_until > today):
        return FreezeError.ALREADY_FROZEN
    if m.status not in (Status.SOLD, Status.ACTIVE):
        return FreezeError.NOT_ACTIVE
    if start < today:
        return FreezeError.IN_THE_PAST
    if m.valid_until is not None and start >= m.valid_until.date():
        return FreezeError.AFTER_EXPIRY
    if days < 1 or m.freeze_days_used + days > t.freeze_max_days:
        return FreezeError.TOO_LONG
    try:
        until = start + timedelta(days=days)
    except OverflowError:  # a freeze that would end past the last day a calendar holds
        return FreezeError.AFTER_EXPIRY
    valid_until = shift(m.valid_until, timedelta(days=days)) if m.valid_until else None
    frozen = replace(
        m, frozen_from=start, frozen_until=until, freeze_days_used=m.freeze_days_used + days, valid_until=valid_until
    )
    return begin_freeze(frozen, today)


def begin_freeze(m: Membership, today: date) -> Membership:
    """A freeze whose first day has come turns the status to frozen (a later one waits for its day)."""
    if m.status in (Status.SOLD, Status.ACTIVE) and m.frozen_on(today):
        return replace(m, status=Status.FROZEN)
    return m


def unfreeze(m: Membership, today: date) -> Membership | FreezeError:
    """Ends a freeze early (or cancels one not started yet): the unused frozen days are given back,
    to the type's allowance and off valid_until."""
    if m.frozen_from is None or m.frozen_until is None or m.frozen_until <= today:
        return FreezeError.NOT_ACTIVE
    unused = (m.frozen_until - max(today, m.frozen_from)).days
    valid_until = shift(m.valid_until, -timedelta(days=unused)) if m.valid_until else None
    status = (Status.ACTIVE if m.activated_at else Status.SOLD) if m.status == Status.FROZEN else m.status
    if today <= m.frozen_from:  # cancelled before it began: no freeze at all
        return replace(
            m,
            status=status,
            frozen_from=None,
            frozen_until=None,
            valid_until=valid_until,
            freeze_days_used=m.freeze_days_used - unused,
        )
    return replace(
        m, status=status, frozen_until=today, valid_until=valid_until, freeze_days_used=m.freeze_days_used - unused
    )


def freeze_ended(m: Membership, today: date) -> bool:
    return m.status == Status.FROZEN and m.frozen_until is not None and today >= m.frozen_until


def end_freeze(m: Membership) -> Membership:
    if m.visits_left == 0:
        return replace(m, status=Status.EXHAUSTED)
    return replace(m, status=Status.ACTIVE if m.activated_at else Status.SOLD)


# --- types after their first sale ----------------------------------------------------------------


class TypeChangeError(StrEnum):
    PRICE_FIXED = "price_fixed_after_sale"
    SERVICE_REMOVED = "services_cannot_be_removed"
    SERVICE_ADDED_TO_SPLIT = "services_cannot_be_added_to_split_type"
    VISITS_CHANGED = "visits_fixed_after_sale"
    BALANCE_CHANGED = "balance_fixed_after_sale"


def check_type_change(old: MembershipType, new: MembershipType, sold: bool) -> TypeChangeError | None:
    """What may change once a type has been sold (before, anything may: the seed forbids these "after the
    membership has been sold"): not the price (duplicate it instead), no fewer services, more services
    only for an `overall` type, and not what a sold membership holds."""
    if not sold:
        return None
    old_ids = {s.service_id for s in old.services}
    new_ids = {s.service_id for s in new.services}
    if not old_ids <= new_ids:
        return TypeChangeError.SERVICE_REMOVED
    if new.price != old.price:
        return TypeChangeError.PRICE_FIXED
    if new.balance != old.balance:
        return TypeChangeError.BALANCE_CHANGED
    if new_ids != old_ids and old.balance == "split":
        return TypeChangeError.SERVICE_ADDED_TO_SPLIT
    if old.initial_balance() != {k: v for k, v in new.initial_balance().items() if k in old.initial_balance()}:
        return TypeChangeError.VISITS_CHANGED
    return None


def duplicate_name(name: str, taken: set[str]) -> str:
    """ "Massage" → "Massage (2)", then "(3)"...; duplicating "Massage (2)" gives "Massage (3)"."""
    base = re.sub(r" \(\d+\)$", "", name)
    n = 2
    while f"{base} ({n})" in taken:
        n += 1
    return f"{base} ({n})"


# --- editing ------------------------------------------------------------------------------------


class EditError(StrEnum):
    NOT_ALLOWED = "editing_not_allowed"
    WRONG_LOCATION = "editing_only_at_selling_location"
    UNKNOWN_BALANCE_KEY = "unknown_balance_key"


def edit(
    m: Membership,
    t: MembershipType,
    *,
    balance: dict[str, int] | None,
    valid_until: datetime | None,
    location_id: str | None,
    at: datetime,
) -> Membership | EditError:
    if t.editing == "none":
        return EditError.NOT_ALLOWED
    if t.editing == "selling_location" and location_id != m.location_id:
        return EditError.WRONG_LOCATION
    new_balance = dict(m.balance)
    if balance is not None:
        if not set(balance) <= set(m.balance):
            return EditError.UNKNOWN_BALANCE_KEY
        new_balance.update(balance)
    until = valid_until if valid_until is not None else m.valid_until
    status = m.status
    if status in (Status.EXHAUSTED, Status.ACTIVE, Status.SOLD, Status.FROZEN):
        status = (
            Status.EXHAUSTED
            if sum(new_balance.values()) == 0
            else (Status.FROZEN if status == Status.FROZEN else Status.ACTIVE if m.activated_at else Status.SOLD)
        )
    if status == Status.EXPIRED and until is not None and until > at and sum(new_balance.values()) > 0:
        status = Status.ACTIVE if m.activated_at else Status.SOLD  # an edit may bring it back
    return replace(m, balance=new_balance, valid_until=until, status=status)
