"""What happens to one domain event: its notices decided (`decide`: channels, text, recipient, sent now,
held or skipped), and receipts moving a notice forward."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.notifications.domain.kinds import ADMINISTRATOR, CLIENT, KINDS
from services.notifications.domain.location import Administrator, LocationSettings, release_at
from services.notifications.domain.text import choose_template, count_segments, prepare, render

# How long a notice is worth sending once it is due: an aggregator with a backlog drops what is older
# (`send_before`), rather than text a client about yesterday's visit at 3 a.m. An administrator's
# notice (stock low, an error at the desk) stays useful longer.
SEND_WITHIN = {CLIENT: timedelta(hours=24), ADMINISTRATOR: timedelta(hours=72)}


def send_before(audience: str, due: datetime) -> datetime:
    """The moment after which a notice is stale news: `due` (when it went out: at once, or when its
    location's send window opened) plus its audience's window."""
    return due + SEND_WITHIN.get(audience, SEND_WITHIN[CLIENT])


@dataclass(frozen=True)
class Recipient:
    client_id: str | None
    phone: str | None


def address(channel: str, audience: str, client: Recipient, admin: Administrator) -> str | None:
    """Where a notice goes: the client's (or the administrator's) phone for SMS; for a chatbot the phone,
    or the client id when the booking system sent no phone (the chatbot knows its clients by id)."""
    if audience == ADMINISTRATOR:
        return admin.phone or None
    if channel == "sms":
        return client.phone or None
    return client.phone or client.client_id


def skip_reason(channel: str, audience: str, to: str | None, opted_out: bool) -> str | None:
    if audience == CLIENT and opted_out:
        return "opted_out"
    if to is None:
        return "no_administrator_contact" if audience == ADMINISTRATOR else "no_phone"
    return None


@dataclass(frozen=True)
class Draft:
    """A notice to decide on, built from one domain event."""

    type: str
    chain_id: str
    location_id: str | None
    client: Recipient
    values: dict[str, object]
    source_event_id: str
    occurred_at: datetime


@dataclass(frozen=True)
class Decided:
    """One channel's notice of a draft: what it says, to whom, and whether it goes out now (`due_at` is
    then the moment checked), is held until `due_at`, or is skipped for `reason`."""

    channel: str
    audience: str
    recipient: str | None
    text: str
    locale: str
    encoding: str | None  # SMS only
    segments: int | None
    status: str  # queued or skipped
    reason: str | None
    due_at: datetime | None  # None: skipped
    held: bool


def decide(
    d: Draft, settings: LocationSettings, templates: dict[str, str], opted_out: dict[str, bool], now: datetime
) -> list[Decided]:
    """The notices of `d`, one per channel enabled at its location (none: the type is off there), written
    from the chain's template for the location's locale (`templates`: locale -> text) and checked at the
    moment it would go out: `now`, or the event's time when that is later."""
    channels = settings.enabled(d.type)
    if not channels:
        return []
    kind = KINDS[d.type]
    locale, template = choose_template(kind, templates, settings.locale)
    values = {p: "" for p in kind.placeholders} | d.values
    values["location_name"] = settings.location_name or d.location_id or ""
    text = render(template, prepare(values, settings.tz))
    moment = max(d.occurred_at, now)
    due = release_at(moment, settings.tz, settings.window)
    notices = []
    for channel in channels:
        to = address(channel, kind.audience, d.client, settings.administrator)
        skipped = skip_reason(channel, kind.audience, to, opted_out.get(channel, False))
        segments = count_segments(text) if channel == "sms" else None
        notices.append(
            Decided(
                channel=channel,
                audience=kind.audience,
                recipient=to,
                text=text,
                locale=locale,
                encoding=segments.encoding if segments else None,
                segments=segments.count if segments else None,
                status="skipped" if skipped else "queued",
                reason=skipped,
                due_at=None if skipped else due,
                held=due > moment,
            )
        )
    return notices


# Status order of a notice: a receipt only moves it forward (a late "sent" never undoes "delivered").
STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "failed": 2}


def receipt_applies(current: str, received: str) -> bool:
    return current in STATUS_RANK and STATUS_RANK[received] > STATUS_RANK[current]


@dataclass(frozen=True)
class Delivery:
    """Where a sent notice stands with its aggregator: the last receipt that moved it."""

    status: str
    provider_message_id: str | None = None
    status_at: datetime | None = None
    reason: str | None = None


def receive(
    current: Delivery, status: str, provider_message_id: str | None, at: datetime, error: str | None
) -> Delivery | None:
    """The notice's delivery after a receipt; None when the receipt changes nothing (late or repeated).
    A receipt without a provider message id keeps the one known; only a failure records its error."""
    if not receipt_applies(current.status, status):
        return None
    reason = error if status == "failed" else None
    return Delivery(
        status,
        current.provider_message_id if provider_message_id is None else provider_message_id,
        at,
        current.reason if reason is None else reason,
    )
