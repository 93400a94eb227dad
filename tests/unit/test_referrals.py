"""The referral program's rules (services/loyalty/domain/referrals.py): what refuses a referral, the
invitee's first-visit discount offer, and the referrer's reward card."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.loyalty.domain.cards import Card
from services.loyalty.domain.referrals import (
    CODE_ALPHABET,
    CODE_LENGTH,
    OFFER_CODES,
    OFFER_REASONS,
    Person,
    Referral,
    ReferralProgram,
    new_code,
    normalize_code,
    referral_discount_refusal,
    referral_offer,
    refusal,
    refused_offer,
    reward,
)

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
ON = ReferralProgram(True, Decimal("10"), Decimal("500"), "type-a")
OFF = ReferralProgram(False, Decimal("10"), Decimal("500"), "type-a")
ANNA = Person("cl-anna", "+36201111111")
BEN = Person("cl-ben", "+36202222222")
REFERRED = Referral("cl-ben", "cl-anna", "api", T0)


def card(n: int, card_type_id: str = "type-a", day: int = 1, balance: str = "0") -> Card:
    return Card(
        f"00000000-0000-0000-0000-00000000000{n}",
        card_type_id,
        "cl-anna",
        None,
        f"C-{n}",
        Decimal(balance),
        datetime(2026, 1, day, tzinfo=UTC),
    )


def test_a_new_client_brought_by_another_is_recorded() -> None:
    assert refusal(ON, BEN, ANNA, None, invitee_visited=False) is None


@pytest.mark.parametrize(
    ("program", "invitee", "referrer", "existing", "visited", "why"),
    [
        (None, BEN, ANNA, None, False, "program_disabled"),
        (OFF, BEN, ANNA, None, False, "program_disabled"),
        (ON, BEN, None, None, False, "unknown_code"),
        (ON, ANNA, ANNA, None, False, "self_referral"),
        (ON, Person("cl-anna-2", "+36201111111"), ANNA, None, False, "self_referral"),  # her phone, another id
        (ON, BEN, ANNA, REFERRED, False, "already_referred"),
        (ON, BEN, Person("cl-cleo"), REFERRED, False, "already_referred"),  # the first recorded referrer wins
        (ON, BEN, ANNA, None, True, "already_a_client"),
    ],
)
def test_what_refuses_a_referral(
    program: ReferralProgram | None,
    invitee: Person,
    referrer: Person | None,
    existing: Referral | None,
    visited: bool,
    why: str,
) -> None:
    assert refusal(program, invitee, referrer, existing, visited) == why


def test_no_phone_on_either_side_is_no_self_referral() -> None:
    assert refusal(ON, Person("cl-ben"), Person("cl-anna"), None, False) is None
    assert refusal(ON, Person("cl-ben", None), Person("cl-anna", None), None, False) is None


def test_the_discount_is_offered_on_the_first_paid_visit_only() -> None:
    first = referral_offer(ON, REFERRED, paid_before=False)
    assert (first.percent, first.code) == (Decimal("10"), "first_visit_referral")
    assert referral_offer(ON, REFERRED, paid_before=True).code == "not_first_visit"
    paid = Referral("cl-ben", "cl-anna", "api", T0, first_visit_id="v-1", reward_status="rewarded")
    assert referral_offer(ON, paid, paid_before=False).code == "not_first_visit"
    assert referral_offer(ON, None, paid_before=False).code == "no_referral"
    assert referral_offer(OFF, REFERRED, paid_before=False).code == "program_disabled"
    assert referral_offer(None, REFERRED, paid_before=False).code == "program_disabled"
    assert all(referral_offer(p, r, False).percent == 0 for p, r in ((ON, None), (OFF, REFERRED)))
    assert set(OFFER_REASONS) == set(OFFER_CODES)
    assert first.reason == OFFER_REASONS["first_visit_referral"]


def test_the_reward_goes_to_the_earliest_issued_card_of_the_type() -> None:
    cards = [card(1, "type-b", day=1), card(2, day=5), card(3, day=3)]
    got = reward(ON, cards)
    assert (got.status, got.amount, got.card) == ("rewarded", Decimal("500"), cards[2])


def test_no_card_of_the_type_no_points() -> None:
    got = reward(ON, [card(1, "type-b")])
    assert (got.status, got.amount, got.card) == ("no_card", Decimal("0"), None)
    assert reward(ON, []).status == "no_card"
    assert reward(OFF, [card(1)]).status == "program_disabled"


def test_a_card_that_cannot_hold_the_reward_gets_nothing() -> None:
    full = card(1, balance="999999999999.00")
    got = reward(ON, [full])
    assert (got.status, got.amount) == ("balance_full", Decimal("0"))


def test_codes_are_short_unambiguous_and_compared_in_upper_case() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("01OIL") & set(CODE_ALPHABET)
    assert normalize_code("  ab3k9xzq ") == "AB3K9XZQ"


def test_a_referral_discount_a_visit_applied_is_checked_against_the_offer() -> None:
    first = referral_offer(ON, REFERRED, paid_before=False)
    assert referral_discount_refusal(first, Decimal("10")) is None
    assert referral_discount_refusal(first, Decimal("5")) is None  # less than offered: fine
    assert referral_discount_refusal(first, Decimal("10.01")) == "percent_exceeds_offer"
    assert referral_discount_refusal(referral_offer(ON, REFERRED, paid_before=True), Decimal("10")) == "not_first_visit"
    assert referral_discount_refusal(referral_offer(ON, None, False), Decimal("10")) == "no_referral"
    assert referral_discount_refusal(referral_offer(OFF, REFERRED, False), Decimal("10")) == "program_disabled"


VISIT = {
    "event_id": "e-1",
    "occurred_at": "2026-03-01T10:00:00+00:00",
    "chain_id": "ch-1",
    "location_id": "loc-1",
    "visit_id": "v-1",
    "client": {"id": "cl-9"},
}


def test_a_visit_names_its_referral_by_code_or_referrer_id_and_leaves_it_out_when_unset() -> None:
    from pydantic import ValidationError

    from shared.events import VisitPaid

    assert "referral" not in VisitPaid.model_validate(VISIT).model_dump_json()  # an older message's digest holds
    named = VisitPaid.model_validate({**VISIT, "referral": {"code": "k7qm3xpa"}})
    assert named.referral is not None and named.referral.code == "k7qm3xpa"
    assert named.model_dump(mode="json")["referral"] == {"code": "k7qm3xpa", "referrer_client_id": None}
    for bad in ({}, {"code": "A", "referrer_client_id": "cl-5"}, {"code": "A" * 33}, {"referrer_client_id": ""}):
        with pytest.raises(ValidationError, match="referral"):
            VisitPaid.model_validate({**VISIT, "referral": bad})


def test_a_named_referral_a_rule_refuses_is_offered_nothing_with_that_rule_as_its_code() -> None:
    for why in ("unknown_code", "self_referral", "already_a_client", "program_disabled"):
        offer = refused_offer(why)
        assert (offer.percent, offer.code) == (Decimal("0"), why) and offer.reason
