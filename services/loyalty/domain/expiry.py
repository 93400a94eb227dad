"""The location program's discount-expiration switch (`notify_discount_expiration`), pure: when a client is
warned that their discount is about to lapse for inactivity, and whether a lapse is told to them.

With the switch on, the client is warned `discount_expiration_notice_days` before the moment the discount
resets unless they come back (`loyalty.discount_expiring`, once per client, location and lapse moment),
and the lapse itself is told (`loyalty.discount_changed` with reason `inactivity` and `notify` true: the
`loyalty.discount_expired` notice). With it off, the discount lapses all the same, its
`loyalty.discount_changed` is published with `notify` false, and no warning is published: the client is
told neither. Loyalty, the publisher, decides; the notifications service follows `notify`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.loyalty.domain import LoyaltyState, Program, Stats, discount_expires_at

DEFAULT_NOTICE_DAYS = 7
MAX_NOTICE_DAYS = 365


def warning_due(p: Program, s: Stats, state: LoyaltyState, as_of: datetime) -> datetime | None:
    """The moment the client's discount lapses, when they are to be warned of it as of `as_of`; None when
    not: the switch off, no discount, a discount set by hand (it never lapses), no reset period, or the
    lapse not within `discount_expiration_notice_days` of `as_of` (or already past: then the lapse is
    told instead)."""
    if not p.notify_discount_expiration or state.discount_percent <= 0 or state.manual.discount_percent is not None:
        return None
    expires_at = discount_expires_at(p, s)
    if expires_at is None or as_of >= expires_at:
        return None
    if as_of < expires_at - timedelta(days=p.discount_expiration_notice_days):
        return None
    return expires_at


def tell_change(p: Program, reason: str) -> bool:
    """Is a change of the discount to be told to the client? Every change is, except a lapse for
    inactivity at a location whose program has the switch off."""
    return reason != "inactivity" or p.notify_discount_expiration
