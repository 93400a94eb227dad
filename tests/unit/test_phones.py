"""Phones as numbers (shared/phones.py): one number whatever form it comes in, read in the region of where
it came from; text that is no number never equals one."""

from __future__ import annotations

import pytest

from shared import phones
from shared.settings import Settings

E164 = "+36201234567"


@pytest.mark.parametrize(
    "text",
    [
        "+36201234567",
        "36201234567",
        "06201234567",
        "+36 20 123 4567",
        "06 (20) 123-4567",
        "0036201234567",
        "201234567",
        " +36-20-123-45-67 ",
    ],
)
def test_every_form_of_one_hungarian_number_is_one_e164(text: str) -> None:
    assert phones.e164(text, "HU") == E164


@pytest.mark.parametrize("text", [None, "", "   ", "12-34", "+3620000001", "phone", "+0036201234567x" * 10])
def test_text_that_is_no_number_has_no_e164(text: str | None) -> None:
    assert phones.e164(text, "HU") is None


def test_a_national_form_is_read_in_its_region() -> None:
    assert phones.e164("0664 1234567", "AT") == "+436641234567"
    assert phones.e164("+36201234567", "AT") == E164  # an international form is the same anywhere


def test_what_is_stored_is_the_e164_or_the_text_as_given() -> None:
    assert phones.normalize("06 20 123 4567", "HU") == E164
    assert phones.normalize(" 12-34 ", "HU") == "12-34"
    assert phones.normalize("  ", "HU") is None and phones.normalize(None, "HU") is None


def test_given_means_some_text() -> None:
    assert phones.given("x") and not phones.given("  ") and not phones.given(None)


def test_a_locations_region_wins_over_its_chains_and_the_chains_over_the_default() -> None:
    overrides = {"ch-1": "AT", "ch-1/loc-2": "SK"}
    assert phones.region_for("HU", overrides, "ch-1", "loc-2") == "SK"
    assert phones.region_for("HU", overrides, "ch-1", "loc-1") == "AT"
    assert phones.region_for("HU", overrides, "ch-1") == "AT"
    assert phones.region_for("HU", overrides, "ch-2", "loc-2") == "HU"


def test_the_settings_refuse_a_region_phonenumbers_does_not_know() -> None:
    assert Settings(phone_region="AT", phone_regions={"ch-1/loc-1": "SK"}).phone_regions == {"ch-1/loc-1": "SK"}
    with pytest.raises(ValueError, match="phone_region"):
        Settings(phone_region="XX")
    with pytest.raises(ValueError, match="phone_regions"):
        Settings(phone_regions={"ch-1": "Hungary"})
    with pytest.raises(ValueError, match="phone_regions"):
        Settings(phone_regions={"a/b/c": "HU"})
