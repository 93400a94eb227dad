"""Phones compared as numbers: every phone a service stores or compares goes through here, once.

`+36201234567`, `36201234567`, `06201234567` and `+36 20 123 4567` are one number; E.164 (`+36201234567`)
is the form every service stores, compares and sends. A number written without its country code (a
national form: `06 20 123 4567`) is read in the region of the place it came from: the setting
`PHONE_REGION` (ISO 3166 alpha-2, default HU), overridden per chain or per location by `PHONE_REGIONS`
(`{"<chain_id>": "AT", "<chain_id>/<location_id>": "SK"}`; a location's wins over its chain's).

Pure functions of their arguments (the region is one); the `phonenumbers` library (Google's
libphonenumber) knows every country's prefixes and lengths."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import phonenumbers

from shared.settings import get_settings

# More than any phone holds written out with spaces and an extension; longer text is not parsed at all.
MAX_PHONE_TEXT = 64


def e164(phone: str | None, region: str) -> str | None:
    """The number in E.164 (`+36201234567`); None when there is none, or the text is not a valid number of
    any country (read in `region` when it has no country code)."""
    if not phone or not phone.strip() or len(phone) > MAX_PHONE_TEXT:
        return None
    return _e164(phone, region)


@lru_cache(maxsize=8192)
def _e164(phone: str, region: str) -> str | None:
    """Parsing takes ~50 µs; a client's phone comes again and again (every notice, every visit): remembered."""
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize(phone: str | None, region: str) -> str | None:
    """What to store of a phone: its E.164 form; text that is no number is kept as given (trimmed), for
    the people who read it, and never equals a number; None for none."""
    if phone is None or not phone.strip():
        return None
    return e164(phone, region) or phone.strip()


def given(phone: str | None) -> bool:
    """Was a phone given at all (blank text is none)?"""
    return phone is not None and bool(phone.strip())


def region_for(default: str, overrides: Mapping[str, str], chain_id: str, location_id: str | None = None) -> str:
    """The region a national form is read in at this chain (and location)."""
    if location_id is not None and (found := overrides.get(f"{chain_id}/{location_id}")):
        return found
    return overrides.get(chain_id, default)


def region(chain_id: str, location_id: str | None = None) -> str:
    """`region_for` with this process's settings."""
    s = get_settings()
    return region_for(s.phone_region, s.phone_regions, chain_id, location_id)


def e164_at(phone: str | None, chain_id: str, location_id: str | None = None) -> str | None:
    """`e164`, read in the region of this chain (and location)."""
    return e164(phone, region(chain_id, location_id)) if given(phone) else None


def normalize_at(phone: str | None, chain_id: str, location_id: str | None = None) -> str | None:
    """`normalize`, read in the region of this chain (and location)."""
    return normalize(phone, region(chain_id, location_id)) if given(phone) else None
