"""A notice's text: template checks, the locale's template chosen, values as people read them, rendering,
and SMS segment counting (GSM-7 vs UCS-2)."""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.notifications.domain.kinds import DEFAULT_LOCALE, KINDS, Kind


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
    "client_name": "Anna",
    "location_name": "Centrum",
    "membership_code": "4567",
    "type_name": "Massage",
    "balance": 9,
    "valid_until": "2026-06-01",
    "deducted": "1 visit was",
    "units": 1,
    "reason": "expired",
    "reason_text": "it has expired",
    "service_id": "svc-massage",
    "visit_id": "v-77",
    "client_phone": "+36201234567",
    "days_left": 7,
    "frozen_from": "2026-03-01",
    "frozen_until": "2026-03-15",
    "days": 14,
    "discount": "10",
    "old_discount": "5",
    "expires_at": "2026-05-01",
    "level": "silver",
    "old_level": "bronze",
    "card_number": "1001",
    "points": "120",
    "burns_at": "2026-09-01",
    "visit_date": "2026-03-01",
    "product_name": "Massage oil",
    "storage_id": "st-1",
    "stock": "2 pcs",
    "min_stock": "5 pcs",
    "unit": "pcs",
    "gift_card_code": "GC-2024",
    "holder_name": "Bea",
    "buyer_name": "Anna",
    "amount": "500",
    "status": "active",
    "method": "cash",
    "credit_limit": "1000",
    "rejected": "gift card GC-2024 500: the balance is too low",
    "outcome": "No payment of the visit was taken.",
    "count": 1,
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
