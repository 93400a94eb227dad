"""Notice rules, pure (standard library only): the notice types and their default English templates,
placeholder checks, rendering, SMS segment counting (GSM-7 vs UCS-2), location settings and the send
window arithmetic in the location's time zone (DST included)."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

DEFAULT_LOCALE = "en"
DEAR_CLIENT = "Dear client"  # {client_name} when the booking system sent no name
CHANNELS = ("sms", "chatbot")
CLIENT, ADMINISTRATOR = "client", "administrator"

# --- notice types --------------------------------------------------------------------------------

COMMON = frozenset({"client_name", "location_name"})
MEMBERSHIP = COMMON | {"membership_code", "type_name", "balance", "valid_until"}
CARD = COMMON | {"card_number", "points", "balance"}


@dataclass(frozen=True)
class Kind:
    """One notice type: who receives it, its default English text, the placeholders it may use."""

    type: str
    audience: str
    template: str
    placeholders: frozenset[str]
    description: str
    # Sent by SMS where a location said nothing; off: only once a location turns it on.
    default_on: bool = True


KINDS: dict[str, Kind] = {k.type: k for k in (
    Kind("membership.issued", CLIENT,
         "{client_name}, your membership {membership_code} is ready: {balance} visits.",
         MEMBERSHIP, "a sold membership was issued (off by default: the client is at the desk)",
         default_on=False),
    Kind("membership.deducted", CLIENT,
         "{client_name}, {deducted} deducted from membership {membership_code}; {balance} left.",
         MEMBERSHIP | {"deducted", "units"}, "visits were deducted; {balance} is the visits left"),
    Kind("membership.deduction_rejected", CLIENT,
         "{client_name}, membership {membership_code} could not pay for your visit: {reason_text}.",
         MEMBERSHIP | {"reason", "reason_text", "service_id"},
         "a visit could not be paid with the membership for the client's own reason (expired, frozen, "
         "exhausted)"),
    Kind("membership.deduction_rejected.desk", ADMINISTRATOR,
         "{location_name}: membership {membership_code} could not pay for {service_id} of {client_name} "
         "(visit {visit_id}): {reason_text}.",
         MEMBERSHIP | {"reason", "reason_text", "service_id", "visit_id", "client_phone"},
         "to the location's administrator: a deduction was refused for an error of the desk (unknown code, "
         "service not included, location not allowed, phone mismatch)"),
    Kind("membership.deduction_reversed", CLIENT,
         "{client_name}, the visit of {visit_date} was given back to membership {membership_code}; {balance} left.",
         MEMBERSHIP | {"visit_date", "units", "reason"},
         "an automatic deduction (no-show, late cancellation) was given back: the visit was paid, or the client "
         "came"),
    Kind("membership.expiring", CLIENT,
         "{client_name}, your membership {membership_code} expires on {valid_until}; {balance} visits left.",
         MEMBERSHIP | {"days_left"}, "N days before the membership's end"),
    Kind("membership.running_low", CLIENT,
         "{client_name}, only {balance} visits left on membership {membership_code}.",
         MEMBERSHIP, "the visits left reached the type's reminder threshold"),
    Kind("membership.expired", CLIENT,
         "{client_name}, your membership {membership_code} has expired.",
         MEMBERSHIP, "the membership's validity ended"),
    Kind("membership.frozen", CLIENT,
         "{client_name}, membership {membership_code} is frozen; usable again from {frozen_until}.",
         MEMBERSHIP | {"frozen_from", "frozen_until", "days"}, "the membership was frozen"),
    Kind("membership.unfrozen", CLIENT,
         "{client_name}, membership {membership_code} is active again.",
         MEMBERSHIP, "the freeze ended (early or on time)"),
    Kind("membership.activated", CLIENT,
         "{client_name}, your membership {membership_code} is now active.",
         MEMBERSHIP, "an unused membership activated by itself N days after the sale (activation by first "
         "use is told by the deduction notice)"),
    Kind("loyalty.discount_changed", CLIENT,
         "{client_name}, your discount is now {discount}%.",
         COMMON | {"discount", "old_discount", "expires_at"}, "the client's loyalty discount changed"),
    Kind("loyalty.discount_expired", CLIENT,
         "{client_name}, your {old_discount}% discount has expired; your discount is now {discount}%.",
         COMMON | {"discount", "old_discount"}, "the discount was reset for inactivity"),
    Kind("loyalty.level_changed", CLIENT,
         "{client_name}, your level is now {level}.",
         COMMON | {"level", "old_level"}, "the client reached a new level (a level lost is not texted)"),
    Kind("loyalty.bonus_accrued", CLIENT,
         "{client_name}, {points} bonus points added to card {card_number}; balance {balance}.",
         CARD | {"burns_at"}, "points were accrued (cashback or manual)"),
    Kind("loyalty.bonus_spent", CLIENT,
         "{client_name}, {points} bonus points spent from card {card_number}; balance {balance}.",
         CARD, "points paid part of a visit, or were written off"),
    Kind("loyalty.bonus_burning", CLIENT,
         "{client_name}, {points} bonus points on card {card_number} burn on {burns_at}.",
         CARD | {"burns_at"}, "points burn soon unless spent"),
    Kind("loyalty.bonus_burned", CLIENT,
         "{client_name}, {points} bonus points on card {card_number} have burned; balance {balance}.",
         CARD, "unused points burned"),
    Kind("inventory.stock_low", ADMINISTRATOR,
         "{location_name}: {product_name} is low in storage {storage_id}: {stock} left (minimum {min_stock}).",
         COMMON | {"product_name", "storage_id", "stock", "min_stock", "unit", "reason"},
         "to the location's administrator: a product fell under its minimum stock, or below zero"),
)}

# Kept for the slice and its tests: the shipped English text of each type.
DEFAULT_TEMPLATES: dict[str, str] = {t: k.template for t, k in KINDS.items()}

# Channels on when a location said nothing: SMS only (a client is not told the same thing twice).
DEFAULT_CHANNELS: dict[str, bool] = {"sms": True, "chatbot": False}

# Why a membership could not pay: the client's own matter (told to the client) or the desk's error
# (told to the administrator; any reason not listed here is treated as the desk's).
CLIENT_REJECTIONS = {
    "expired": "it has expired",
    "frozen": "it is frozen",
    "exhausted": "no visits are left on it",
}
DESK_REJECTIONS = {
    "unknown_code": "no membership has this code",
    "service_not_included": "the service is not included",
    "location_not_allowed": "it is not valid at this location",
    "phone_mismatch": "the client's phone is not the buyer's",
}


def rejection(reason: str) -> tuple[str, str]:
    """(notice type, reason text) of a refused deduction."""
    if reason in CLIENT_REJECTIONS:
        return "membership.deduction_rejected", CLIENT_REJECTIONS[reason]
    return "membership.deduction_rejected.desk", DESK_REJECTIONS.get(reason, reason.replace("_", " "))


# --- templates -----------------------------------------------------------------------------------


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def template_problems(notice_type: str, template: str) -> list[str]:
    """Why a template cannot be saved for `notice_type` (empty: it can)."""
    kind = KINDS.get(notice_type)
    if kind is None:
        return [f"unknown notice type {notice_type!r}"]
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:  # a lone brace
        return [f"malformed template: {exc} (write {{{{ or }}}} for a literal brace)"]
    problems: list[str] = []
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name == "":
            problems.append("empty placeholder {}")
        elif name not in kind.placeholders:
            problems.append(f"unknown placeholder {{{name}}}")
        if spec or conversion:
            problems.append(f"placeholder {{{name}}} takes no format or conversion")
    if problems:
        problems.append(f"{notice_type} knows {', '.join('{' + p + '}' for p in sorted(kind.placeholders))}")
    return problems


def choose_template(kind: Kind, chain_templates: dict[str, str], locale: str) -> tuple[str, str]:
    """(locale, text): the chain's text in the location's locale, else the chain's text in English, else
    the shipped English default."""
    for candidate in (locale, DEFAULT_LOCALE):
        if candidate in chain_templates:
            return candidate, chain_templates[candidate]
    return DEFAULT_LOCALE, kind.template


def render(template: str, values: dict[str, object]) -> str:
    return template.format_map({k: "" if v is None else v for k, v in values.items()})


def visits_phrase(units: int) -> str:
    return "1 visit was" if units == 1 else f"{units} visits were"


def number(value: Decimal | int) -> str:
    """Points and stock as people read them: "120", "120.5", never "120.00"."""
    if isinstance(value, int):
        return str(value)
    return format(value.normalize(), "f")


def quantity(value: Decimal, unit: str) -> str:
    """A stock quantity with its unit: "2 pcs", "0.5 l"; the unit left out when there is none."""
    return f"{number(value)} {unit}".strip()


def local_date(moment: datetime | date | None, tz: ZoneInfo) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        return moment.astimezone(tz).date().isoformat()
    return moment.isoformat()


def prepare(values: dict[str, object], tz: ZoneInfo) -> dict[str, object]:
    """Values as they are written into a text: times as the location's local date, numbers plain."""
    out: dict[str, object] = {}
    for k, v in values.items():
        if isinstance(v, datetime | date):
            out[k] = local_date(v, tz)
        elif isinstance(v, Decimal):
            out[k] = number(v)
        else:
            out[k] = v
    return out


SAMPLE_VALUES: dict[str, object] = {
    "client_name": "Anna", "location_name": "Centrum", "membership_code": "4567", "type_name": "Massage",
    "balance": 9, "valid_until": "2026-06-01", "deducted": "1 visit was", "units": 1, "reason": "expired",
    "reason_text": "it has expired", "service_id": "svc-massage", "visit_id": "v-77",
    "client_phone": "+36201234567", "days_left": 7, "frozen_from": "2026-03-01", "frozen_until": "2026-03-15",
    "days": 14, "discount": "10", "old_discount": "5", "expires_at": "2026-05-01", "level": "silver",
    "old_level": "bronze", "card_number": "1001", "points": "120", "burns_at": "2026-09-01",
    "visit_date": "2026-03-01",
    "product_name": "Massage oil", "storage_id": "st-1", "stock": "2 pcs", "min_stock": "5 pcs", "unit": "pcs",
}


def preview(notice_type: str, template: str) -> str:
    """The template rendered with sample values (what the administrator sees when saving it)."""
    kind = KINDS[notice_type]
    return render(template, {p: SAMPLE_VALUES.get(p, p) for p in kind.placeholders})


# --- SMS segments --------------------------------------------------------------------------------

# The GSM 03.38 basic character set (7-bit): a text using only these fits 160 characters a segment.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")  # each takes two septets (escape + char)


@dataclass(frozen=True)
class Segments:
    encoding: str  # gsm7 or ucs2
    count: int
    units: int  # septets for gsm7, UTF-16 code units for ucs2


def count_segments(text: str) -> Segments:
    """Segments of an SMS: 160 septets (GSM-7) or 70 UTF-16 units (UCS-2) in one; a longer text is sent in
    parts of 153 / 67 (the rest is the concatenation header), and a part never splits an escaped GSM-7
    character or a UTF-16 surrogate pair (so it may hold one unit less)."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text):
        costs = [2 if c in GSM7_EXTENDED else 1 for c in text]
        single, multi, encoding = 160, 153, "gsm7"
    else:
        costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, multi, encoding = 70, 67, "ucs2"
    units = sum(costs)
    if units == 0:
        return Segments(encoding, 0, 0)
    if units <= single:
        return Segments(encoding, 1, units)
    count, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            count, used = count + 1, 0
        used += cost
    return Segments(encoding, count, units)


# --- location settings and the send window ---------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Local wall-clock hours notices may be sent in: [start, end); end before start spans midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("a send window needs different start and end (no window: always open)")

    def contains(self, t: time) -> bool:
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


def release_at(moment: datetime, tz: ZoneInfo, window: Window | None) -> datetime:
    """The first instant at or after `moment` inside the window, in UTC. Wall-clock hours of the location's
    zone: across a DST change "09:00" is still 09:00 local; a start that does not exist that day (in
    the spring gap) is taken as the same wall time after the gap, an ambiguous one (autumn) as its first
    occurrence."""
    moment = moment.astimezone(UTC)
    if window is None:
        return moment
    local = moment.astimezone(tz)
    if window.contains(local.time().replace(tzinfo=None)):
        return moment
    for days in range(3):
        candidate = datetime.combine(local.date() + timedelta(days=days), window.start, tzinfo=tz)
        opens = candidate.astimezone(UTC)  # a wall time in the gap maps to the instant after it
        if opens > moment:
            return opens
    raise AssertionError("a window opens within two days")  # pragma: no cover


@dataclass(frozen=True)
class Administrator:
    name: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class LocationSettings:
    """How one location (or the chain, as the default for every location) notifies."""

    time_zone: str = "UTC"
    window: Window | None = None
    locale: str = DEFAULT_LOCALE
    location_name: str | None = None
    administrator: Administrator = Administrator()
    # notice type -> channel -> on; what is not named takes DEFAULT_CHANNELS
    channels: dict[str, dict[str, bool]] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def enabled(self, notice_type: str) -> list[str]:
        """The channels a notice of this type goes out on, in a fixed order."""
        mine = self.channels.get(notice_type, {})
        on = KINDS[notice_type].default_on
        return [c for c in CHANNELS if mine.get(c, on and DEFAULT_CHANNELS[c])]

    def effective_channels(self) -> dict[str, dict[str, bool]]:
        return {t: {c: c in self.enabled(t) for c in CHANNELS} for t in KINDS}


DEFAULT_SETTINGS = LocationSettings()


def settings_from_doc(doc: dict[str, object] | None) -> LocationSettings:
    """The stored JSON document of a location's settings (validated when it was saved) back to rules."""
    if not doc:
        return DEFAULT_SETTINGS
    window = doc.get("send_window")
    admin = doc.get("administrator") or {}
    assert isinstance(admin, dict)
    return LocationSettings(
        time_zone=str(doc.get("time_zone") or "UTC"),
        window=Window(time.fromisoformat(window["from"]), time.fromisoformat(window["to"]))
        if isinstance(window, dict) else None,
        locale=str(doc.get("locale") or DEFAULT_LOCALE),
        location_name=doc.get("location_name") or None,  # type: ignore[arg-type]
        administrator=Administrator(admin.get("name"), admin.get("phone")),
        channels=dict(doc.get("types") or {}),  # type: ignore[call-overload]
    )


# --- recipients and what happens to a notice -----------------------------------------------------


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


# Status order of a notice: a receipt only moves it forward (a late "sent" never undoes "delivered").
STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "failed": 2}


def receipt_applies(current: str, received: str) -> bool:
    return current in STATUS_RANK and STATUS_RANK[received] > STATUS_RANK[current]
