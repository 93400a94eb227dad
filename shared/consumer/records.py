"""One consumed record: decoded, validated and given its inbox keys, or refused with a reason.

A refused record becomes a dead letter (`<topic>.dlq`): the original value, key and headers as far as the
outbox can carry them (text key and header names, byte values), plus `x-error` (the reason, starting with
its fixed prefix), `x-error-reason` (the reason's code alone), `x-consumer-group` and where it came from.
The codes are the `reason` label of `perkstream_messages_dlq_total` (docs/contract.md lists them).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from aiokafka import ConsumerRecord
from opentelemetry.trace import Span
from pydantic import BaseModel, ValidationError

from shared import tracing
from shared.consumer.fetch import utf8_name_bytes
from shared.topics import dlq
from shared.uow import TRACEPARENT, OutboxMessage

MAX_ERROR_BYTES = 4000


class Reason(StrEnum):
    """Why a record was dead-lettered; `x-error` starts with the prefix named in each comment."""

    UNDECODABLE = "undecodable"  # "undecodable: ": its key or a header name is not UTF-8
    NOT_JSON = "not_json"  # "not JSON: " / "not a JSON object"
    INVALID = "invalid"  # "invalid <topic>: ": fails the contract's model, each field named
    CLOCK_SKEW = "clock_skew"  # "clock_skew: ": occurred_at too far ahead of this service's clock
    EVENT_ID_REUSED = "event_id_reused"  # "event_id_reused: ": an event_id seen before with another payload
    TIMEOUT = "timeout"  # "timeout: ": over the per-record deadline, attempt after attempt
    PROCESSING_FAILED = "processing_failed"  # "processing failed: ": its handler failed for good


# On a dead letter put back by `redrive`: the consumer group it is meant for (the one that refused it).
REDRIVE_FOR = "x-redrive-for"


@dataclass(frozen=True)
class Refusal:
    reason: Reason
    error: str  # what x-error says


@dataclass
class Parsed:
    record: ConsumerRecord
    event: BaseModel | None = None
    refusal: Refusal | None = None
    keys: list[str] = field(default_factory=list)
    digest: bytes | None = None  # of the validated event: a reused event_id is told from a redelivery by it
    # Attempts that ran over the deadline (or lost a lock conflict), across every retry of its batch.
    overruns: int = 0
    # Its span while an attempt applies it, tracing on (shared/tracing.py); None otherwise.
    span: Span | None = None

    @property
    def traceparent(self) -> bytes | None:
        return dict(self.record.headers or ()).get(TRACEPARENT)

    @property
    def carried(self) -> bytes | None:
        """The `traceparent` the events it causes carry: its span's (tracing on), else the one it came with."""
        return (tracing.traceparent_of(self.span) if self.span is not None else None) or self.traceparent

    @property
    def chain_id(self) -> str:
        return self.event.chain_id  # type: ignore[union-attr]


def parse(
    record: ConsumerRecord, topic: str, model: type[BaseModel], keys: Any, max_ahead_seconds: float | None
) -> Parsed:
    """`max_ahead_seconds`: how far `occurred_at` may be ahead of the clock (None: not checked)."""
    parsed = Parsed(record)
    refusal = undecodable(record)
    if refusal is None:
        event, refusal = validate(record.value, topic, model)
        if event is not None:
            refusal = ahead_of_clock(event, max_ahead_seconds)
            parsed.event = event
    if refusal is not None:
        parsed.refusal, parsed.event = refusal, None
        return parsed
    assert event is not None
    parsed.keys = [f"event:{event.event_id}", *keys(event)]  # type: ignore[attr-defined]
    parsed.digest = digest(topic, event)
    return parsed


def undecodable(record: ConsumerRecord) -> Refusal | None:
    """The contract's keys and header names are text: bytes that are not UTF-8 cannot be one."""
    if record.key is not None:
        try:
            record.key.decode("utf-8")
        except UnicodeDecodeError:
            return Refusal(Reason.UNDECODABLE, f"undecodable: key {_shown(record.key)} is not UTF-8")
    for name, _ in record.headers or ():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:  # read leniently (fetch.py): its bytes are kept as surrogates
            return Refusal(Reason.UNDECODABLE, f"undecodable: header name {_shown(utf8_name_bytes(name))} is not UTF-8")
    return None


def validate(value: bytes | None, topic: str, model: type[BaseModel]) -> tuple[BaseModel | None, Refusal | None]:
    """The bytes parsed and validated in one pass (pydantic's own JSON parser: no Python objects in
    between, half the work of json.loads + model_validate). A record it refuses (rare) is parsed again by
    Python's json and validated from that, which tells not JSON from invalid (naming the field) as the
    contract says: pydantic's parser refuses some JSON that Python's takes (a lone surrogate escape, deep
    nesting), whose fields then fail validation by name, or pass it."""
    try:
        return model.model_validate_json(value), None  # type: ignore[arg-type]
    except (ValidationError, TypeError):
        pass  # told apart below, the slow way, as the contract words each reason
    try:
        payload = json.loads(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, RecursionError) as exc:  # RecursionError: [[[[... nested too deep
        return None, Refusal(Reason.NOT_JSON, f"not JSON: {exc}")
    if not isinstance(payload, dict):
        return None, Refusal(Reason.NOT_JSON, "not a JSON object")
    try:
        return model.model_validate(payload), None  # what pydantic's parser refuses and Python's takes
    except ValidationError as exc:
        return None, Refusal(Reason.INVALID, f"invalid {topic}: {describe(exc)}")


def ahead_of_clock(event: BaseModel, max_ahead_seconds: float | None) -> Refusal | None:
    occurred_at = getattr(event, "occurred_at", None)
    if max_ahead_seconds is None or not isinstance(occurred_at, datetime):
        return None
    ahead = (occurred_at - datetime.now(UTC)).total_seconds()
    if ahead <= max_ahead_seconds:
        return None
    return Refusal(
        Reason.CLOCK_SKEW,
        f"clock_skew: occurred_at {occurred_at.isoformat()} is {ahead:.0f} s ahead "
        f"of this service's clock (at most {max_ahead_seconds:.0f} s allowed)",
    )


DIGEST_V2 = b"\x02"


def digest(topic: str, event: BaseModel) -> bytes:
    """SHA-256 of the topic and the validated event serialized by its model (fields in the model's order,
    unknown fields gone, values normalised: "8000" and "8000.00" alike), so the same message whatever its
    formatting or field order; tagged with its version byte. The inbound models hold no free-form maps
    whose key order could differ between two sendings of one event."""
    return DIGEST_V2 + hashlib.sha256(topic.encode() + b"\n" + event.model_dump_json().encode()).digest()


def legacy_digest(topic: str, event: BaseModel) -> bytes:
    """The digest inbox rows written before version 2 hold (32 bytes, no version byte): sorted-key
    canonical JSON. Computed only to compare a redelivery with such a row, for as long as the replay
    window keeps them."""
    canonical = json.dumps(event.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{topic}\n{canonical}".encode()).digest()


def same_payload(p: Parsed, stored: bytes) -> bool:
    """Whether `stored` (an inbox row's digest, either version) is the digest of `p`'s payload."""
    if len(stored) == 32:
        assert p.event is not None
        return stored == legacy_digest(p.record.topic, p.event)
    return stored == p.digest


def describe(error: ValidationError) -> str:
    """`field.path: message` for each problem: the reason a dead letter carries."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<message>'}: {e['msg']}" for e in error.errors())


def dead_letter(record: ConsumerRecord, refusal: Refusal, group_id: str) -> OutboxMessage:
    """The original bytes and headers, plus why and who: several services consume one topic, and each
    dead-letters on its own (`x-consumer-group` tells them apart in `<topic>.dlq`). Key and header names
    are text in the outbox: bytes that are not UTF-8 are written as `\\xNN` escapes (and a key's exact
    bytes travel in `x-original-key`), a NUL (which PostgreSQL text refuses) as U+FFFD; a null header
    value as empty bytes."""
    headers = [(_text(utf8_name_bytes(k)), v or b"") for k, v in (record.headers or ()) if not k.startswith("x-")]
    key = _text(record.key) if record.key is not None else None
    if record.key is not None and key != record.key.decode("utf-8", "replace"):
        headers.append(("x-original-key", record.key))
    headers += [
        ("x-error", refusal.error.encode()[:MAX_ERROR_BYTES]),
        ("x-error-reason", refusal.reason.value.encode()),
        ("x-consumer-group", group_id.encode()),
        ("x-original-topic", record.topic.encode()),
        ("x-original-partition", str(record.partition).encode()),
        ("x-original-offset", str(record.offset).encode()),
    ]
    return OutboxMessage(dlq(record.topic), key, record.value or b"", headers)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace").replace("\x00", "\ufffd")


def _shown(raw: bytes) -> str:
    return repr(raw[:200]) + ("..." if len(raw) > 200 else "")
