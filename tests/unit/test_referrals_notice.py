"""`loyalty.referral_rewarded` becomes a notice to the referrer (services/notifications/usecases/
notify_loyalty.py): the shipped text names the points, the card and the balance, not the invitee."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from services.notifications import domain
from services.notifications.domain import LocationSettings, decide
from services.notifications.usecases.notify_loyalty import referral_rewarded_draft
from shared.events import Client, ReferralRewarded

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_the_referrer_is_told_the_points_their_friends_first_visit_earned() -> None:
    e = ReferralRewarded(
        chain_id="ch-1",
        location_id="loc-1",
        referrer=Client(id="cl-5", phone="+36201234567", name="Anna"),
        invitee=Client(id="cl-9", phone="+36209876543", name="Bea"),
        amount=Decimal("500"),
        card_id=uuid.uuid4(),
        card_number="C-1",
        card_type_id=uuid.uuid4(),
        balance=Decimal("530"),
        visit_id="v-90",
    )
    draft = referral_rewarded_draft(e)
    assert draft.type == "loyalty.referral_rewarded" and domain.KINDS[draft.type].audience == "client"
    assert set(draft.values) <= domain.KINDS[draft.type].placeholders
    assert draft.source_event_id == e.event_id
    [notice] = decide(draft, LocationSettings(location_name="Centrum"), {}, {}, NOW)
    assert (draft.client.client_id, notice.recipient) == ("cl-5", "+36201234567")
    assert notice.text == (
        "Anna, a friend you referred has made their first visit: 500 bonus points added to card C-1; balance 530."
    )
    assert "Bea" not in notice.text and "cl-9" not in notice.text


def test_a_referrer_without_a_name_is_the_dear_client() -> None:
    e = ReferralRewarded(
        chain_id="ch-1",
        referrer=Client(id="cl-5", phone="+36201234567"),
        invitee=Client(id="cl-9"),
        amount=Decimal("1"),
        card_id=uuid.uuid4(),
        card_number="C-1",
        card_type_id=uuid.uuid4(),
        balance=Decimal("1"),
        visit_id="v-1",
    )
    [notice] = decide(referral_rewarded_draft(e), LocationSettings(location_name="Centrum"), {}, {}, NOW)
    assert notice.text.startswith(domain.DEAR_CLIENT + ", a friend you referred")
