"""Notice rules (services/notifications/domain/): templates, rendering, SMS segments."""

from __future__ import annotations

import pytest

from services.notifications.domain import (
    DEFAULT_TEMPLATES,
    GSM7_BASIC,
    GSM7_EXTENDED,
    Segments,
    count_segments,
    placeholders,
    render,
    visits_phrase,
)

DEDUCTED = DEFAULT_TEMPLATES["membership.deducted"]


# --- rendering ----------------------------------------------------------------------------------


def test_default_deducted_template_renders_the_contract_text() -> None:
    text = render(
        DEDUCTED, {"client_name": "Anna", "deducted": visits_phrase(1), "membership_code": "4567", "balance": 9}
    )
    assert text == "Anna, 1 visit was deducted from membership 4567; 9 left."


def test_default_deducted_template_with_several_visits() -> None:
    text = render(
        DEDUCTED, {"client_name": "Anna", "deducted": visits_phrase(2), "membership_code": "4567", "balance": 8}
    )
    assert text == "Anna, 2 visits were deducted from membership 4567; 8 left."


@pytest.mark.parametrize(
    ("units", "phrase"), [(1, "1 visit was"), (2, "2 visits were"), (3, "3 visits were"), (10, "10 visits were")]
)
def test_visits_phrase_agrees_in_number(units: int, phrase: str) -> None:
    assert visits_phrase(units) == phrase


def test_visits_phrase_two() -> None:
    assert visits_phrase(2) == "2 visits were"


def test_render_writes_none_as_empty() -> None:
    assert render("Valid until {valid_until}.", {"valid_until": None}) == "Valid until ."


def test_render_ignores_extra_values() -> None:
    assert render("Hi {client_name}", {"client_name": "Anna", "unused": 1}) == "Hi Anna"


def test_render_keeps_escaped_braces() -> None:
    assert render("{{not}} {x}", {"x": 1}) == "{not} 1"


def test_render_with_a_missing_value_raises() -> None:
    with pytest.raises(KeyError):
        render("Hi {client_name}", {})


# --- placeholders -------------------------------------------------------------------------------


def test_placeholders_of_the_default_deducted_template() -> None:
    assert placeholders(DEDUCTED) == {"client_name", "deducted", "membership_code", "balance"}


def test_placeholders_are_distinct_names_without_escaped_braces() -> None:
    assert placeholders("{a} {b} {a} {{literal}}") == {"a", "b"}


def test_placeholders_of_plain_text_are_empty() -> None:
    assert placeholders("No placeholders here.") == set()
    assert placeholders("") == set()


# --- SMS segments -------------------------------------------------------------------------------


def test_empty_text_has_no_segments() -> None:
    assert count_segments("") == Segments("gsm7", 0, 0)


def test_short_gsm7_text_is_one_segment() -> None:
    assert count_segments("Hello") == Segments("gsm7", 1, 5)


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_fits_160_in_one_segment_then_153_per_part(length: int, segments: int) -> None:
    assert count_segments("a" * length) == Segments("gsm7", segments, length)


def test_default_rendered_notice_is_a_single_gsm7_segment() -> None:
    text = render(
        DEDUCTED, {"client_name": "Anna", "deducted": visits_phrase(1), "membership_code": "4567", "balance": 9}
    )
    assert count_segments(text) == Segments("gsm7", 1, len(text))


@pytest.mark.parametrize("char", sorted(GSM7_EXTENDED))
def test_extended_gsm7_characters_count_double(char: str) -> None:
    assert count_segments(char) == Segments("gsm7", 1, 2)


def test_euro_signs_count_double_toward_the_segment_limit() -> None:
    assert count_segments("€" * 80) == Segments("gsm7", 1, 160)
    assert count_segments("€" * 81) == Segments("gsm7", 2, 162)


def test_one_extended_character_pushes_159_chars_over_one_segment() -> None:
    assert count_segments("a" * 159 + "€") == Segments("gsm7", 2, 161)


def test_gsm7_national_characters_stay_gsm7() -> None:
    text = "Ünnepi: àéèùìò ÄÖÑÜ äöñü ÆæßÉ £$¥ @ § ¿¡"
    assert count_segments(text) == Segments("gsm7", 1, len(text))


def test_accented_letters_missing_from_gsm7_switch_to_ucs2() -> None:
    assert count_segments("ajánlat").encoding == "ucs2"  # á is not in the GSM 03.38 table


def test_gsm7_basic_set_has_127_printable_positions() -> None:
    # The GSM 03.38 basic table has 128 positions, one of them the escape to the extension table.
    assert len(GSM7_BASIC) == 127
    assert not GSM7_BASIC & GSM7_EXTENDED


@pytest.mark.parametrize("text", ["Привет", "Anna, 1 visit 😀", "ő", "日本"])
def test_a_character_outside_gsm7_switches_to_ucs2(text: str) -> None:
    assert count_segments(text).encoding == "ucs2"


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3)],
)
def test_ucs2_fits_70_in_one_segment_then_67_per_part(length: int, segments: int) -> None:
    assert count_segments("Ж" * length) == Segments("ucs2", segments, length)


def test_a_single_cyrillic_letter_makes_the_whole_text_ucs2() -> None:
    assert count_segments("a" * 69 + "Ж") == Segments("ucs2", 1, 70)
    assert count_segments("a" * 70 + "Ж") == Segments("ucs2", 2, 71)


def test_an_emoji_counts_as_two_utf16_units() -> None:
    assert count_segments("😀") == Segments("ucs2", 1, 2)
    assert count_segments("😀" * 35) == Segments("ucs2", 1, 70)
    assert count_segments("😀" * 36) == Segments("ucs2", 2, 72)
    assert count_segments("a" * 69 + "😀") == Segments("ucs2", 2, 71)


def test_extended_characters_count_once_in_ucs2() -> None:
    assert count_segments("€Ж") == Segments("ucs2", 1, 2)
