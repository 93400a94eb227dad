"""Notice rules, pure: templates, rendering and SMS segment counting."""

from __future__ import annotations

import string
from dataclasses import dataclass

DEFAULT_LOCALE = "en"

# Default English templates, one per notice type; a chain can override them per locale.
DEFAULT_TEMPLATES: dict[str, str] = {
    "membership.deducted": "{client_name}, {deducted} deducted from membership {membership_code}; {balance} left.",
}

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
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text):
        units = sum(2 if c in GSM7_EXTENDED else 1 for c in text)
        single, multi, encoding = 160, 153, "gsm7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "ucs2"
    count = 1 if units <= single else -(-units // multi)
    return Segments(encoding, count if units else 0, units)


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def render(template: str, values: dict[str, object]) -> str:
    return template.format_map({k: "" if v is None else v for k, v in values.items()})


def visits_phrase(units: int) -> str:
    return "1 visit was" if units == 1 else f"{units} visits were"
