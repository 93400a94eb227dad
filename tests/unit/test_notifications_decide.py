"""What one domain event's notices are (services/notifications/domain/notice.py `decide`) and which
settings a location uses (`settings_of`)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from services.notifications import domain
from services.notifications.domain import Draft, LocationSettings, Recipient, Window, decide, settings_of

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ANNA = Recipient("cl-5", "+36201234567")


def draft(
    notice_type: str = "membership.deducted",
    client: Recipient = ANNA,
    at: datetime = NOW,
    location_id: str | None = "loc-1",
) -> Draft:
    return Draft(
        type=notice_type,
        chain_id="ch-1",
        location_id=location_id,
        client=client,
        values={"client_name": "Anna", "deducted": "1 visit was", "membership_code": "4567", "balance": 9},
        source_event_id="e-1",
        occurred_at=at,
    )


def test_one_sms_now_with_the_shipped_text() -> None:
    [n] = decide(draft(), domain.DEFAULT_SETTINGS, {}, {}, NOW)
    assert (n.channel, n.recipient, n.status, n.reason, n.held, n.due_at) == (
        "sms",
        ANNA.phone,
        "queued",
        None,
        False,
        NOW,
    )
    assert n.text == "Anna, 1 visit was deducted from membership 4567; 9 left."
    assert (n.locale, n.encoding, n.segments, n.audience) == ("en", "gsm7", 1, "client")


def test_a_type_off_has_no_notice_and_chatbot_on_has_two() -> None:
    off = LocationSettings(channels={"membership.deducted": {"sms": False}})
    assert decide(draft(), off, {}, {}, NOW) == []
    both = LocationSettings(channels={"membership.deducted": {"chatbot": True}})
    sms, bot = decide(draft(), both, {}, {}, NOW)
    assert (sms.channel, bot.channel) == ("sms", "chatbot")
    assert bot.segments is None and bot.encoding is None and bot.text == sms.text


def test_the_chain_text_in_the_location_locale_and_its_name() -> None:
    hu = LocationSettings(locale="hu", location_name="Centrum")
    [n] = decide(draft(), hu, {"hu": "{client_name}, maradt {balance} ({location_name})."}, {}, NOW)
    assert (n.text, n.locale, n.encoding) == ("Anna, maradt 9 (Centrum).", "hu", "gsm7")
    [unnamed] = decide(draft(), domain.DEFAULT_SETTINGS, {"en": "{location_name}"}, {}, NOW)
    assert unnamed.text == "loc-1"  # the location's id where it has no name


def test_held_until_the_window_opens_checked_at_the_later_of_now_and_the_event() -> None:
    night = LocationSettings(window=Window(time(9), time(11)))
    [n] = decide(draft(), night, {}, {}, NOW)
    assert n.held and n.status == "queued" and n.due_at == datetime(2026, 3, 2, 9, tzinfo=UTC)
    morning = NOW.replace(hour=9) + timedelta(days=1)  # an event from the future: checked at its time
    [later] = decide(draft(at=morning), night, {}, {}, NOW)
    assert not later.held and later.due_at == morning


def test_skipped_opted_out_no_phone_no_administrator() -> None:
    [opted] = decide(draft(), domain.DEFAULT_SETTINGS, {}, {"sms": True}, NOW)
    assert (opted.status, opted.reason, opted.due_at) == ("skipped", "opted_out", None)
    [no_phone] = decide(draft(client=Recipient("cl-6", None)), domain.DEFAULT_SETTINGS, {}, {}, NOW)
    assert (no_phone.status, no_phone.reason, no_phone.recipient) == ("skipped", "no_phone", None)
    stock = draft("inventory.stock_low", client=Recipient(None, None))
    [desk] = decide(stock, domain.DEFAULT_SETTINGS, {}, {"sms": True}, NOW)
    assert (desk.status, desk.reason, desk.audience) == ("skipped", "no_administrator_contact", "administrator")


def test_a_location_uses_its_own_settings_else_the_chain_default_else_the_built_in() -> None:
    docs: dict[str, dict[str, object]] = {"": {"locale": "hu"}, "loc-1": {"locale": "de"}}
    assert settings_of(docs, "loc-1").locale == "de"
    assert settings_of(docs, "loc-2").locale == "hu"
    assert settings_of(docs, None).locale == "hu"
    assert settings_of({}, "loc-1") == domain.DEFAULT_SETTINGS


def test_a_receipt_moves_a_notice_forward_only_and_keeps_what_it_does_not_say() -> None:
    queued = domain.Delivery("queued")
    sent = domain.receive(queued, "sent", "pm-1", NOW, "ignored unless failed")
    assert sent == domain.Delivery("sent", "pm-1", NOW, None)
    failed = domain.receive(sent, "failed", None, NOW + timedelta(seconds=2), "absent subscriber")
    assert failed == domain.Delivery("failed", "pm-1", NOW + timedelta(seconds=2), "absent subscriber")
    assert domain.receive(failed, "delivered", "pm-2", NOW, None) is None  # final already
    assert domain.receive(sent, "sent", "pm-2", NOW, None) is None  # repeated
    assert domain.receive(domain.Delivery("skipped"), "delivered", None, NOW, None) is None
