"""The gateway's rule: new, duplicate (answered as the first time), or an event id reused (refused)."""

from datetime import UTC, datetime

from services.gateway.domain import Incoming, Reused, Sorted, Taken, sort_out

AT = datetime(2026, 3, 1, tzinfo=UTC)


def ev(event_id: str, digest: bytes = b"a", topic: str = "visit.paid") -> Incoming:
    return Incoming(topic, event_id, digest)


def test_new_events_are_accepted_in_order() -> None:
    assert sort_out([ev("e1"), ev("e2")], {}) == Sorted(["accepted", "accepted"], [0, 1])


def test_an_event_taken_before_with_the_same_digest_is_a_duplicate() -> None:
    assert sort_out([ev("e1"), ev("e2")], {"e1": Taken(b"a", AT)}) == Sorted(["duplicate", "accepted"], [1])


def test_an_event_id_taken_before_with_another_digest_is_refused() -> None:
    assert sort_out([ev("e2"), ev("e1", b"b")], {"e1": Taken(b"a", AT)}) == Reused(1, "before")


def test_within_a_request_the_second_sending_is_a_duplicate_of_the_first() -> None:
    assert sort_out([ev("e1"), ev("e1")], {}) == Sorted(["accepted", "duplicate"], [0])


def test_within_a_request_an_id_with_two_payloads_is_refused() -> None:
    assert sort_out([ev("e1"), ev("e1", b"b")], {}) == Reused(1, "in_request")
