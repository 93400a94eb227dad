"""Hostile inbound messages, generated: valid messages of an inbound topic, mutated the ways a broken or
malicious producer would (wrong JSON types, huge numbers, 1 MiB strings, bad UTF-8, not JSON, JSON that
is not an object, missing fields, negative amounts, naive times, NUL characters, deep nesting, huge
arrays). A seeded `random.Random` drives every choice, so a failing run replays the same messages.

Each message comes with the reason its dead letter must give, and the generator checks it against the
topic's own model before anyone publishes it: a mutation the model would accept is a bug here, not a
finding about the services.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from shared.consumer import describe
from shared.topics import MAX_MESSAGE_BYTES

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
NOT_JSON = [b"", b"{not json", b"{'single': 'quotes'}", b"\x00" * 16, b"\x89PNG\r\n\x1a\n", b"null null",
            b'{"event_id": "e-1",}']


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


@dataclass(frozen=True)
class Expected:
    """What a dead letter's x-error must say: it starts with `reason` and names the field at `path`
    ("<path>: ...", or a field within it: an object where a text was due is missing that object's fields)."""

    reason: str
    path: str | None = None

    def explains(self, error: str) -> bool:
        return error.startswith(self.reason) and (
            self.path is None or f"{self.path}: " in error or f"{self.path}." in error)


NOT_JSON_REASON = Expected("not JSON")
Mutated = tuple[bytes, Expected]


@dataclass
class Hostile:
    n: int
    topic: str
    kind: str
    value: bytes
    expected: Expected
    headers: list[tuple[str, bytes]] = field(default_factory=list)


ENVELOPE = [Field("event_id", TEXT), Field("occurred_at", TIME), Field("chain_id", TEXT), Field("location_id", TEXT)]
CLIENT = [Field("client", OBJECT), Field("client.id", TEXT), Field("client.phone", TEXT, False),
          Field("client.name", TEXT, False)]
VISIT = [*ENVELOPE, Field("visit_id", TEXT), *CLIENT]
VISIT_PAID = [
    *VISIT, Field("loyalty_card_id", TEXT, False), Field("bonus_spent", MONEY, False), Field("lines", LIST, False),
    Field("lines.0", OBJECT, False), Field("lines.0.kind", CHOICE), Field("lines.0.item_id", TEXT),
    Field("lines.0.category_id", TEXT, False), Field("lines.0.quantity", INT), Field("lines.0.sold", MONEY),
    Field("lines.0.paid", MONEY), Field("lines.0.membership", OBJECT, False),
    Field("lines.0.membership.code", TEXT, missing_at="lines.0.membership"),
    Field("lines.1.storage_id", TEXT, False),
]
VISIT_STATUS = [
    *VISIT, Field("scheduled_at", TIME), Field("services", LIST, False), Field("services.0", OBJECT, False),
    Field("services.0.service_id", TEXT), Field("services.0.membership.code", TEXT, missing_at="services.0.membership"),
]
VISIT_CANCELLED = [*VISIT_STATUS, Field("cancelled_at", TIME)]
MEMBERSHIP_SOLD = [*ENVELOPE, Field("sale_id", TEXT), Field("membership_type_id", UUID), Field("code", TEXT, False),
                   *CLIENT, Field("price", MONEY)]
DELIVERY = [Field("notification_id", UUID), Field("status", CHOICE), Field("provider_message_id", TEXT, False),
            Field("at", TIME), Field("chain_id", TEXT, False), Field("error", TEXT, False)]


class Generator:
    def __init__(self, seed: int, chain_id: str) -> None:
        self.rng = random.Random(seed)
        self.chain_id = chain_id
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

    def _made(self, shape: Shape, kind: str, value: bytes, expected: Expected,
              headers: list[tuple[str, bytes]] | None = None) -> Mutated:
        marker = (MARKER, f"{self.chain_id}:{self.made}".encode())
        hostile = Hostile(self.made, shape.topic, kind, value, expected, [*(headers or []), marker])
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
        value = self.rng.choice([
            *NOT_JSON,
            # Cut short (where, as a fraction: the draws must not depend on the message's length).
            valid[: 1 + int(self.rng.random() * (len(valid) - 2))],
            valid + b" trailing",
            self.rng.randbytes(self.rng.randrange(1, 200)),
            b"1" * 5_000,  # an integer of 5,000 digits: more than Python converts
        ])
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
        """The reason the consumer must give, found here from the same model and the same description."""
        try:
            payload = json.loads(hostile.value)
        except (ValueError, RecursionError) as exc:
            error = f"not JSON: {exc}"
        else:
            if not isinstance(payload, dict):
                error = "not a JSON object"
            else:
                try:
                    shape.model.model_validate(payload)
                except ValidationError as exc:
                    error = f"invalid {shape.topic}: {describe(exc)}"
                else:
                    raise AssertionError(f"{hostile.kind} #{hostile.n} is valid: {hostile.value[:300]!r}")
        assert hostile.expected.explains(error), f"{hostile.kind} #{hostile.n}: expected {hostile.expected}, " \
                                                 f"the model says {error[:500]}"


# --- paths into a message -----------------------------------------------------------------------------


def _step(key: str) -> str | int:
    return int(key) if key.isdigit() else key


def get(message: Any, path: str) -> Any:
    node = message
    for key in path.split("."):
        node = node[_step(key)]
    return node


def _parent(message: dict[str, Any], path: str) -> tuple[Any, str | int]:
    parents, _, last = path.rpartition(".")
    return (get(message, parents) if parents else message), _step(last)


def put(message: dict[str, Any], path: str, value: Any) -> None:
    node, key = _parent(message, path)
    node[key] = value


def remove(message: dict[str, Any], path: str) -> None:
    node, key = _parent(message, path)
    del node[key]
