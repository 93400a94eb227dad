"""Notice rules (services/notifications/domain/): notice types, template checks, locale choice,
settings, recipients, receipts, values as written, segment packing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from services.notifications import domain
from services.notifications.domain import (
    ADMINISTRATOR,
    CLIENT,
    KINDS,
    Administrator,
    LocationSettings,
    Recipient,
    Segments,
    count_segments,
)


@pytest.mark.parametrize("notice_type", sorted(KINDS))
def test_every_default_template_uses_only_its_placeholders_and_renders(notice_type: str) -> None:
    kind = KINDS[notice_type]
    assert domain.template_problems(notice_type, kind.template) == []
    text = domain.preview(notice_type, kind.template)
    assert "{" not in text and count_segments(text).count == 1


def test_unknown_placeholder_is_refused_and_the_known_ones_listed() -> None:
    problems = domain.template_problems("membership.deducted", "Hi {nickname}")
    assert problems[0] == "unknown placeholder {nickname}"
    assert "{balance}" in problems[-1] and "{client_name}" in problems[-1]


@pytest.mark.parametrize("text", ["Hi {client_name.__class__}", "Hi {client_name[0]}"])
def test_attribute_and_index_access_are_refused(text: str) -> None:
    assert domain.template_problems("membership.deducted", text)


@pytest.mark.parametrize("text", ["{balance:>10}", "{client_name!r}"])
def test_formats_and_conversions_are_refused(text: str) -> None:
    assert "takes no format or conversion" in domain.template_problems("membership.deducted", text)[0]


def test_a_lone_brace_is_refused_and_doubled_braces_are_literal() -> None:
    assert domain.template_problems("membership.deducted", "Hi {client_name")[0].startswith("malformed template")
    assert domain.template_problems("membership.deducted", "{{literal}} {client_name}") == []
    assert domain.template_problems("membership.deducted", "Hi {}")[0] == "empty placeholder {}"


def test_unknown_type() -> None:
    assert domain.template_problems("membership.nope", "x") == ["unknown notice type 'membership.nope'"]


def test_template_choice_locale_then_english_then_shipped() -> None:
    kind = KINDS["membership.expired"]
    assert domain.choose_template(kind, {"hu": "HU", "en": "EN"}, "hu") == ("hu", "HU")
    assert domain.choose_template(kind, {"en": "EN"}, "hu") == ("en", "EN")
    assert domain.choose_template(kind, {"de": "DE"}, "hu") == ("en", kind.template)


@pytest.mark.parametrize(
    ("reason", "notice_type"),
    [
        ("expired", "membership.deduction_rejected"),
        ("frozen", "membership.deduction_rejected"),
        ("exhausted", "membership.deduction_rejected"),
        ("unknown_code", "membership.deduction_rejected.desk"),
        ("service_not_included", "membership.deduction_rejected.desk"),
        ("location_not_allowed", "membership.deduction_rejected.desk"),
        ("phone_mismatch", "membership.deduction_rejected.desk"),
        ("something_new", "membership.deduction_rejected.desk"),
    ],
)
def test_a_refused_deduction_goes_to_the_client_or_the_desk(reason: str, notice_type: str) -> None:
    assert domain.rejection(reason)[0] == notice_type
    assert KINDS[notice_type].audience == (CLIENT if notice_type.endswith("rejected") else ADMINISTRATOR)


def test_default_channels_sms_only_and_issued_off() -> None:
    s = domain.DEFAULT_SETTINGS
    assert s.enabled("membership.deducted") == ["sms"]
    assert s.enabled("membership.issued") == []


def test_channels_named_by_the_location_win_and_the_rest_keep_defaults() -> None:
    s = LocationSettings(
        channels={
            "membership.deducted": {"chatbot": True},
            "membership.expired": {"sms": False},
            "membership.issued": {"sms": True},
        }
    )
    assert s.enabled("membership.deducted") == ["sms", "chatbot"]
    assert s.enabled("membership.expired") == []
    assert s.enabled("membership.issued") == ["sms"]
    assert s.enabled("loyalty.bonus_spent") == ["sms"]
    assert set(s.effective_channels()) == set(KINDS)


def test_settings_document_round_trip() -> None:
    s = domain.settings_from_doc(
        {
            "time_zone": "Europe/Budapest",
            "send_window": {"from": "09:00", "to": "21:00"},
            "locale": "hu",
            "location_name": "Centrum",
            "administrator": {"name": "Eva", "phone": "+3630"},
            "types": {"membership.deducted": {"sms": False}},
        }
    )
    assert s.window == domain.Window(datetime(1, 1, 1, 9).time(), datetime(1, 1, 1, 21).time())
    assert (s.tz, s.locale, s.location_name, s.administrator) == (
        ZoneInfo("Europe/Budapest"),
        "hu",
        "Centrum",
        Administrator("Eva", "+3630"),
    )
    assert s.enabled("membership.deducted") == []
    assert domain.settings_from_doc(None) == domain.DEFAULT_SETTINGS


def test_addresses_and_skip_reasons() -> None:
    anna = Recipient("cl-5", "+3620")
    nophone = Recipient("cl-6", None)
    admin = Administrator("Eva", "+3630")
    assert domain.address("sms", CLIENT, anna, admin) == "+3620"
    assert domain.address("sms", CLIENT, nophone, admin) is None
    assert domain.address("chatbot", CLIENT, nophone, admin) == "cl-6"
    assert domain.address("sms", ADMINISTRATOR, anna, admin) == "+3630"
    assert domain.address("sms", ADMINISTRATOR, anna, Administrator()) is None
    assert domain.skip_reason("sms", CLIENT, None, False) == "no_phone"
    assert domain.skip_reason("sms", ADMINISTRATOR, None, False) == "no_administrator_contact"
    assert domain.skip_reason("sms", CLIENT, "+3620", True) == "opted_out"
    assert domain.skip_reason("sms", ADMINISTRATOR, "+3630", True) is None  # opt-out is the client's
    assert domain.skip_reason("sms", CLIENT, "+3620", False) is None


@pytest.mark.parametrize(
    ("current", "received", "applies"),
    [
        ("queued", "sent", True),
        ("queued", "delivered", True),
        ("queued", "failed", True),
        ("sent", "delivered", True),
        ("sent", "sent", False),
        ("delivered", "sent", False),
        ("delivered", "failed", False),
        ("failed", "delivered", False),
        ("skipped", "delivered", False),
    ],
)
def test_receipts_only_move_a_notice_forward(current: str, received: str, applies: bool) -> None:
    assert domain.receipt_applies(current, received) is applies


def test_values_are_written_as_local_dates_and_plain_numbers() -> None:
    tz = ZoneInfo("Europe/Budapest")
    out = domain.prepare(
        {
            "valid_until": datetime(2026, 5, 31, 22, 30, tzinfo=UTC),
            "points": Decimal("120.00"),
            "discount": Decimal("7.50"),
            "frozen_until": date(2026, 3, 15),
            "balance": 9,
            "none": None,
        },
        tz,
    )
    assert out == {
        "valid_until": "2026-06-01",
        "points": "120",
        "discount": "7.5",
        "frozen_until": "2026-03-15",
        "balance": 9,
        "none": None,
    }
    assert domain.number(Decimal("0.00")) == "0" and domain.number(Decimal("1000")) == "1000"


def test_a_part_never_splits_an_escaped_gsm7_character() -> None:
    # 306 septets would fit 2 parts of 153, but the € (escape + char) cannot straddle parts.
    assert count_segments("a" * 152 + "€" + "a" * 152) == Segments("gsm7", 3, 306)
    assert count_segments("a" * 151 + "€" + "a" * 153) == Segments("gsm7", 2, 306)


def test_a_part_never_splits_a_surrogate_pair() -> None:
    assert count_segments("Ж" * 66 + "😀" + "Ж" * 66) == Segments("ucs2", 3, 134)
    assert count_segments("Ж" * 65 + "😀" + "Ж" * 67) == Segments("ucs2", 2, 134)


def test_quantities_carry_their_unit() -> None:
    assert domain.quantity(Decimal("2.000"), "pcs") == "2 pcs"
    assert domain.quantity(Decimal("-0.5"), "l") == "-0.5 l"
    assert domain.quantity(Decimal("3"), "") == "3"
