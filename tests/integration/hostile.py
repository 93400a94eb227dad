"""Hostile inbound messages, generated: valid messages of an inbound topic, mutated the ways a broken or
malicious producer would (wrong JSON types, huge numbers, 1 MiB strings, bad UTF-8, not JSON, JSON that
is not an object, missing fields, negative amounts, naive times, NUL characters, deep nesting, huge
arrays), and, from the topic's bounds (hostile_bounds.py), every bounded field one past its bound. Then
what only the consumer can refuse in a message the model accepts: a key or header name that is not
UTF-8, an `occurred_at` hours ahead of the clock, an `event_id` reused with another payload, a record
that overruns its deadline, a visit selling more memberships than one may (amplification), and a
message larger than a topic takes (Kafka refuses it to the producer). And valid messages at every bound
(`at_bounds`), which must be applied or refused with a reason, never crash or hang a consumer. A seeded
`random.Random` drives every choice, so a failing run replays the same messages.

Each message comes with the reason its dead letter must give (`x-error`, and its code in
`x-error-reason`), or None where it is to be applied, per consumer group where they differ; the
generator checks it against the topic's own model before anyone publishes it: a mutation the model
would accept is a bug here, not a finding about the services, and so is a "valid" one it refuses.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from shared.consumer import describe
from shared.consumer.records import Reason
from shared.events.inbound import MAX_MEMBERSHIP_UNITS
from shared.topics import MAX_MESSAGE_BYTES
from tests.integration import hostile_bounds
from tests.integration.hostile_bounds import MAX_SKEW_SECONDS, get, put, remove
from tests.raw_records import RawName

MiB = 1024 * 1024
HUGE_TEXT = MiB  # characters: a 1 MiB name, phone, id or code
# The heavy kinds, at most this many per topic: each is dead-lettered once per consumer group, through
# PostgreSQL and Kafka, and the megabytes are to stay bounded.
HEAVY_PER_TOPIC = {"huge_string": 3, "huge_array": 4}
MARKER = "hostile-case"  # the header each one carries (a dead letter keeps the original headers)

# What a field holds, for the mutations that fit it.
TEXT, INT, MONEY, TIME, UUID, OBJECT, LIST, CHOICE = "text", "int", "money", "time", "uuid", "object", "list", "choice"

WRONG_TYPES: dict[str, list[Any]] = {
    TEXT: [36201234567, 1.5, True, [], {}, ["a"], {"a": 1}],
    INT: ["1", True, 1.0, 2.5, [], {}, "one", None],
    MONEY: [True, 12.5, [], {}, "twelve", "1e2", "1,00", "10.005"],
    TIME: [1_700_000_000, 1.7e9, True, "yesterday", "2026-13-01T00:00:00+00:00", [], {}],
    UUID: [12345, "not-a-uuid", [], True],
    OBJECT: ["x", 5, [], True],
    LIST: ["x", 5, {}, True],
    CHOICE: [5, "SERVICE", "", [], "unknown"],
}
HUGE_NUMBERS: dict[str, list[Any]] = {
    INT: [10**12, 10**40, 1e308, -(10**40), float("inf")],
    MONEY: ["99999999999999999.99", 10**40, 1e308, "1" * 40, -(10**40)],
}
NEGATIVES: dict[str, list[Any]] = {INT: [-1, 0, -10_000], MONEY: ["-0.01", "-5", -5]}
NAIVE_TIMES = ["2026-03-01T10:00:00", "2026-03-01 10:00:00", "2026-03-01T10:00"]
# Not UTF-8 (a lone continuation byte, a truncated sequence, an overlong "/", a 5-byte form, Latin-1 "é").
# Python's json reads an encoded surrogate (ED A0 80) with surrogatepass: that one reaches the model.
BAD_UTF8 = [b"\xff", b"\xc3\x28", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80", b"caf\xe9", b"\xed\xa0\x80"]
STORABLE_ONLY = b"\xed\xa0\x80"
NOT_JSON = [
    b"",
    b"{not json",
    b"{'single': 'quotes'}",
    b"\x00" * 16,
    b"\x89PNG\r\n\x1a\n",
    b"null null",
    b'{"event_id": "e-1",}',
]


@dataclass(frozen=True)
class Field:
    path: str  # dotted, list indexes as numbers: "lines.0.quantity"
    kind: str
    required: bool = True
    # Where a missing field is named, if not at its own path (a membership with neither code nor id).
    missing_at: str | None = None


@dataclass
class Shape:
    """An inbound topic as the generator sees it: its model, a valid message, its fields."""

    topic: str
    model: type[BaseModel]
    template: Callable[[], dict[str, Any]]
    fields: list[Field]

    def fresh(self) -> dict[str, Any]:
        return copy.deepcopy(self.template())  # a template may share dicts (a client) with others

    def of(self, kind: str | tuple[str, ...]) -> list[Field]:
        kinds = (kind,) if isinstance(kind, str) else kind
        return [f for f in self.fields if f.kind in kinds]


# How x-error starts, for each x-error-reason (docs/contract.md, the dead-letter reasons).
PREFIXES = [
    ("not JSON", Reason.NOT_JSON),
    ("not a JSON object", Reason.NOT_JSON),
    ("invalid ", Reason.INVALID),
    ("processing failed: ", Reason.PROCESSING_FAILED),
    *((f"{r.value}: ", r) for r in (Reason.UNDECODABLE, Reason.CLOCK_SKEW, Reason.EVENT_ID_REUSED, Reason.TIMEOUT)),
]
# Refused by the consumer although the model accepts the value.
VALID_BUT_REFUSED = {Reason.UNDECODABLE, Reason.CLOCK_SKEW, Reason.EVENT_ID_REUSED, Reason.TIMEOUT}


@dataclass(frozen=True)
class Expected:
    """What a dead letter's x-error must say: it starts with `reason` and names the field at `path`
    ("<path>: ...", or a field within it: an object where a text was due is missing that object's fields);
    its x-error-reason is `code`."""

    reason: str
    path: str | None = None

    @property
    def code(self) -> Reason:
        return next(r for prefix, r in PREFIXES if self.reason.startswith(prefix))

    def explains(self, error: str) -> bool:
        return error.startswith(self.reason) and (
            self.path is None or f"{self.path}: " in error or f"{self.path}." in error
        )


NOT_JSON_REASON = Expected("not JSON")
Mutated = tuple[bytes, Expected]


@dataclass
class Hostile:
    n: int
    topic: str
    kind: str  # "family" or "family:variant"
    value: bytes
    expected: Expected | None  # None: valid, to be applied
    key: bytes
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)  # a RawName: a name not UTF-8
    by_group: dict[str, Expected | None] = field(default_factory=dict)  # where a group is to do otherwise
    event_id: str | None = None  # a valid one's, as the model reads it
    too_large: bool = False  # Kafka refuses it to the producer

    def expect(self, group: str) -> Expected | None:
        return self.by_group.get(group, self.expected)

    @property
    def family(self) -> str:
        return self.kind.partition(":")[0]

    @property
    def raw(self) -> bool:
        """Bytes aiokafka's producer will not write (tests/raw_records.py): a name not UTF-8, a null value."""
        return any(isinstance(k, RawName) or v is None for k, v in self.headers)


ENVELOPE = [Field("event_id", TEXT), Field("occurred_at", TIME), Field("chain_id", TEXT), Field("location_id", TEXT)]
CLIENT = [
    Field("client", OBJECT),
    Field("client.id", TEXT),
    Field("client.phone", TEXT, False),
    Field("client.name", TEXT, False),
]
VISIT = [*ENVELOPE, Field("visit_id", TEXT), *CLIENT]
VISIT_PAID = [
    *VISIT,
    Field("loyalty_card_id", TEXT, False),
    Field("bonus_spent", MONEY, False),
    Field("lines", LIST, False),
    Field("lines.0", OBJECT, False),
    Field("lines.0.kind", CHOICE),
    Field("lines.0.item_id", TEXT),
    Field("lines.0.category_id", TEXT, False),
    Field("lines.0.quantity", INT),
    Field("lines.0.sold", MONEY),
    Field("lines.0.paid", MONEY),
    Field("lines.0.membership", OBJECT, False),
    Field("lines.0.membership.code", TEXT, missing_at="lines.0.membership"),
    Field("lines.1.storage_id", TEXT, False),
]
VISIT_STATUS = [
    *VISIT,
    Field("scheduled_at", TIME),
    Field("services", LIST, False),
    Field("services.0", OBJECT, False),
    Field("services.0.service_id", TEXT),
    Field("services.0.membership.code", TEXT, missing_at="services.0.membership"),
]
VISIT_CANCELLED = [*VISIT_STATUS, Field("cancelled_at", TIME)]
MEMBERSHIP_SOLD = [
    *ENVELOPE,
    Field("sale_id", TEXT),
    Field("membership_type_id", UUID),
    Field("code", TEXT, False),
    *CLIENT,
    Field("price", MONEY),
]
DELIVERY = [
    Field("notification_id", UUID),
    Field("status", CHOICE),
    Field("provider_message_id", TEXT, False),
    Field("at", TIME),
    Field("chain_id", TEXT, False),
    Field("error", TEXT, False),
]


class Generator:
    def __init__(self, seed: int, chain_id: str, key: bytes) -> None:
        self.rng = random.Random(seed)
        self.chain_id = chain_id
        self.key = key  # every message's Kafka key (one partition: consumed, and dead-lettered, in order)
        self.made = 0
        self.heavy: dict[tuple[str, str], int] = {}

    def many(self, shape: Shape, count: int) -> list[Hostile]:
        return [self.one(shape) for _ in range(count)]

    def one(self, shape: Shape) -> Hostile:
        mutations = self._mutations(shape)
        while True:
            kind = self.rng.choice(sorted(mutations))
            made = self.heavy.get((shape.topic, kind), 0)
            cap = HEAVY_PER_TOPIC.get(kind)
            if cap is None or made < cap:
                break
        self.heavy[shape.topic, kind] = made + 1
        value, expected = mutations[kind]()
        # Now and then a header name PostgreSQL text cannot hold travels with it too.
        odd = [("bad\x00header", b"x")] if self.rng.random() < 0.05 else []
        return self._made(shape, kind, value, expected, odd)

    def near_the_limit(self, shape: Shape, path: str) -> Hostile:
        """The largest message the topic takes: a text that fills it (invalid, so dead-lettered whole)."""
        message = shape.fresh()
        overhead = len(json.dumps(message).encode()) + 1024  # the record's own bytes, headers and key
        put(message, path, "A" * (MAX_MESSAGE_BYTES - overhead))
        return self._made(shape, "near_the_limit", *self._invalid(shape, message, path))

    # --- what only the consumer (or Kafka) can refuse, and what is past a bound -------------------------

    def poisons(self, shape: Shape) -> list[Hostile]:
        """A valid message under a key, or with a header name, that is not UTF-8; one from hours ahead;
        every bounded field one past its bound; a visit selling too many memberships; one too large."""
        valid = json.dumps(shape.fresh()).encode()
        found = [
            self._made(
                shape,
                "undecodable:key",
                valid,
                Expected("undecodable: key "),
                key=self.rng.choice([b"\xc3\x28", b"\xff", b"\xed\xa0\x80"]) + self.key,
            ),
            self._made(
                shape,
                "undecodable:header_name",
                json.dumps(shape.fresh()).encode(),
                Expected("undecodable: header name "),
                headers=[
                    (RawName(self.rng.choice([b"\xff\xfevendor", b"caf\xe9", b"\xc0\xaf"])), b"x"),
                    ("vendor-null", None),
                ],
            ),
        ]
        if "occurred_at" in shape.fresh():
            message = shape.fresh()
            ahead = self.rng.choice([3_600, 86_400, 3_650 * 86_400])  # far past what a clock drifts
            message["occurred_at"] = (datetime.now(UTC) + timedelta(seconds=ahead)).isoformat()
            found.append(self._made(shape, "clock_skew", json.dumps(message).encode(), Expected("clock_skew: ")))
        for path, message in hostile_bounds.past_bounds(shape.model, shape.fresh(), self.rng):
            found.append(self._made(shape, "over_bound", *self._invalid(shape, message, path)))
        if "lines" in shape.fresh():
            found += self._amplification(shape)
        padded = shape.fresh()
        padded["padding"] = "P" * MAX_MESSAGE_BYTES  # an unknown field: valid, but more than the topic takes
        found.append(self._made(shape, "too_large", json.dumps(padded).encode(), None, too_large=True))
        return found

    def _amplification(self, shape: Shape) -> list[Hostile]:
        """Membership lines selling one more membership than a visit may: in one line, or in two."""
        unit = {
            "kind": "membership",
            "item_id": str(uuid.UUID(int=self.rng.getrandbits(128))),
            "sold": "1",
            "paid": "1",
            "code": "auto",
        }
        one, two = shape.fresh(), shape.fresh()
        one["lines"] = [*one["lines"], {**unit, "quantity": MAX_MEMBERSHIP_UNITS + 1}]
        half = MAX_MEMBERSHIP_UNITS // 2
        two["lines"] = [
            *two["lines"],
            {**unit, "quantity": half + 1},
            {**unit, "quantity": MAX_MEMBERSHIP_UNITS - half},
        ]
        return [
            self._made(shape, "amplification", *self._invalid(shape, one, f"lines.{len(one['lines']) - 1}")),
            self._made(shape, "amplification", *self._invalid(shape, two, "lines")),
        ]

    def reused(self, shape: Shape, original: dict[str, Any], change: dict[str, Any]) -> Hostile:
        """`original`'s event_id on another payload (after the original, on the same partition)."""
        return self._made(
            shape,
            "event_id_reused",
            json.dumps({**original, **change}).encode(),
            Expected(f"event_id_reused: event_id {original['event_id']} "),
        )

    def slow(self, shape: Shape, message: dict[str, Any], by_group: dict[str, Expected | None]) -> Hostile:
        """A valid message that some group cannot apply in time (the test makes it wait)."""
        return self._made(shape, "timeout", json.dumps(message).encode(), None, by_group=by_group)

    def at_bounds(self, shape: Shape, template: Callable[[], dict[str, Any]], fixed: set[str]) -> list[Hostile]:
        """Valid messages at every bound (hostile_bounds.at_bounds), to be applied, and one with header
        values that are not text (opaque bytes, null): applied too. `template` makes a valid message with
        an identity of its own (event and visit ids) each time."""
        found = []
        variants = hostile_bounds.at_bounds(
            shape.model, template, self.rng, datetime.now(UTC), fixed, MAX_MESSAGE_BYTES
        )
        for name, message in variants:
            value = json.dumps(message, ensure_ascii=name != "longest_texts").encode()  # raw UTF-8, or escapes
            found.append(self._made(shape, f"at_bounds:{name}", value, None))
        found.append(
            self._made(
                shape,
                "at_bounds:header_values",
                json.dumps(template()).encode(),
                None,
                headers=[("vendor-blob", b"\xff\xfe\x00"), ("vendor-null", None)],
            )
        )
        return found

    def _made(
        self,
        shape: Shape,
        kind: str,
        value: bytes,
        expected: Expected | None,
        headers: Sequence[tuple[str, bytes | None]] = (),
        *,
        key: bytes | None = None,
        by_group: dict[str, Expected | None] | None = None,
        too_large: bool = False,
    ) -> Hostile:
        marker = (MARKER, f"{self.chain_id}:{self.made}".encode())
        hostile = Hostile(
            self.made,
            shape.topic,
            kind,
            value,
            expected,
            key or self.key,
            [*headers, marker],
            by_group or {},
            too_large=too_large,
        )
        self.made += 1
        self._check(shape, hostile)
        return hostile

    # --- the mutations ----------------------------------------------------------------------------

    def _mutations(self, shape: Shape) -> dict[str, Callable[[], Mutated]]:
        found: dict[str, Callable[[], Mutated]] = {
            "wrong_type": lambda: self._set(shape, self.rng.choice(shape.fields), WRONG_TYPES),
            "missing": lambda: self._missing(shape),
            "huge_string": lambda: self._set_text(shape, "H" * HUGE_TEXT),
            "nul": lambda: self._set_text(shape, self.rng.choice(["An\x00na", "\x00", "cl-\ud800", "\udfff x"])),
            "naive_time": lambda: self._set(shape, self.rng.choice(shape.of(TIME)), {TIME: NAIVE_TIMES}),
            "bad_utf8": lambda: self._bad_utf8(shape),
            "not_json": lambda: self._not_json(shape),
            "not_an_object": lambda: self._not_an_object(shape),
            "deep_nesting": lambda: self._deep(shape),
        }
        if shape.of((INT, MONEY)):
            found["huge_number"] = lambda: self._set(shape, self.rng.choice(shape.of((INT, MONEY))), HUGE_NUMBERS)
            found["negative"] = lambda: self._set(shape, self.rng.choice(shape.of((INT, MONEY))), NEGATIVES)
        if shape.of(LIST):
            found["huge_array"] = lambda: self._huge_array(shape)
        return found

    def _set(self, shape: Shape, f: Field, values: dict[str, list[Any]]) -> Mutated:
        message = shape.fresh()
        put(message, f.path, copy.deepcopy(self.rng.choice(values.get(f.kind) or WRONG_TYPES[f.kind])))
        return self._invalid(shape, message, f.path)

    def _set_text(self, shape: Shape, text: str) -> Mutated:
        return self._set(shape, self.rng.choice(shape.of(TEXT)), {TEXT: [text]})

    def _missing(self, shape: Shape) -> Mutated:
        f = self.rng.choice([f for f in shape.fields if f.required])
        message = shape.fresh()
        remove(message, f.path)
        return self._invalid(shape, message, f.missing_at or f.path)

    def _huge_array(self, shape: Shape) -> Mutated:
        f = self.rng.choice(shape.of(LIST))
        message = shape.fresh()
        items = get(message, f.path)
        put(message, f.path, items[:1] * self.rng.choice([201, 1_000, 5_000]))
        return self._invalid(shape, message, f.path)

    def _bad_utf8(self, shape: Shape) -> Mutated:
        f = self.rng.choice(shape.of(TEXT))
        bad = self.rng.choice(BAD_UTF8)
        value = self._spliced(shape, f.path, b'"x' + bad + b'y"')
        if bad == STORABLE_ONLY:
            return value, Expected(f"invalid {shape.topic}: ", f.path)
        return value, NOT_JSON_REASON

    def _not_json(self, shape: Shape) -> Mutated:
        valid = json.dumps(shape.fresh()).encode()
        value = self.rng.choice(
            [
                *NOT_JSON,
                # Cut short (where, as a fraction: the draws must not depend on the message's length).
                valid[: 1 + int(self.rng.random() * (len(valid) - 2))],
                valid + b" trailing",
                self.rng.randbytes(self.rng.randrange(1, 200)),
                b"1" * 5_000,  # an integer of 5,000 digits: more than Python converts
            ]
        )
        try:
            json.loads(value)
        except (ValueError, RecursionError):
            return value, NOT_JSON_REASON
        return self._not_json(shape)  # random bytes that happen to be JSON: draw again

    def _not_an_object(self, shape: Shape) -> Mutated:
        valid = shape.fresh()
        value = self.rng.choice([[valid], json.dumps(valid), 42, None, True, "visit", []])
        return json.dumps(value).encode(), Expected("not a JSON object")

    def _deep(self, shape: Shape) -> Mutated:
        f = self.rng.choice(shape.fields)
        depth = self.rng.choice([50, 200, 5_000, 20_000])  # within what Python parses, then far beyond
        opening, closing = self.rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
        value = self._spliced(shape, f.path, opening * depth + b"1" + closing * depth)
        if depth > 1_000:
            return value, NOT_JSON_REASON
        return value, Expected(f"invalid {shape.topic}: ", f.path)

    def _spliced(self, shape: Shape, path: str, raw: bytes) -> bytes:
        """The template's JSON with the value at `path` replaced by `raw` bytes (which json.dumps could not
        write: invalid UTF-8, nesting deeper than it recurses)."""
        message = shape.fresh()
        put(message, path, "@@SPLICE@@")
        return json.dumps(message).encode().replace(b'"@@SPLICE@@"', raw)

    def _invalid(self, shape: Shape, message: dict[str, Any], path: str) -> Mutated:
        return json.dumps(message).encode(), Expected(f"invalid {shape.topic}: ", path)

    def _check(self, shape: Shape, hostile: Hostile) -> None:
        """The reason the consumer must give, found here from the same model and the same description; a
        message meant to be valid, valid (and what makes the consumer refuse it, there)."""
        event: BaseModel | None = None
        try:
            payload = json.loads(hostile.value)
        except (ValueError, RecursionError) as exc:
            error = f"not JSON: {exc}"
        else:
            if not isinstance(payload, dict):
                error = "not a JSON object"
            else:
                try:
                    event = shape.model.model_validate(payload)
                    error = ""
                except ValidationError as exc:
                    error = f"invalid {shape.topic}: {describe(exc)}"
        what = f"{hostile.kind} #{hostile.n}"
        if hostile.expected is not None and hostile.expected.code not in VALID_BUT_REFUSED:
            assert event is None, f"{what} is valid: {hostile.value[:300]!r}"
            assert hostile.expected.explains(error), (
                f"{what}: expected {hostile.expected}, the model says {error[:500]}"
            )
            return
        assert event is not None, f"{what} is meant to be valid; the model says {error[:500]}"
        hostile.event_id = event.event_id  # type: ignore[attr-defined]
        code = hostile.expected.code if hostile.expected else None
        if code is Reason.UNDECODABLE:
            assert not utf8(hostile.key) or not all(utf8(k.encode()) for k, _ in hostile.headers), what
        if code is Reason.CLOCK_SKEW:
            ahead = (event.occurred_at - datetime.now(UTC)).total_seconds()  # type: ignore[attr-defined]
            assert ahead > 10 * MAX_SKEW_SECONDS, f"{what}: only {ahead:.0f} s ahead"
        if hostile.too_large:
            assert len(hostile.value) > MAX_MESSAGE_BYTES, what
        elif code is None:
            assert len(hostile.value) + 1024 <= MAX_MESSAGE_BYTES, f"{what}: {len(hostile.value)} bytes"


def utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
