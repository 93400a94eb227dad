"""A topic's bounds, read from its model's JSON schema (the contract's own source), and values at them and
just past them: the longest text, the longest list, the largest quantity and amount each field takes,
then one character, item or unit more. Nothing here is hard-coded that the model states.

`bounds(model)` maps each field's path ("lines.0.quantity", list items at index 0) to what its schema
says: `maxLength`, `maxItems`, `maximum`, `max_digits`/`decimal_places`, `format`. The texts at a bound
are made of characters PostgreSQL stores but code may trip on: astral emoji (4 bytes of UTF-8, 12 of
escaped JSON), combining marks, zero-width joiners, a right-to-left override, a byte order mark, the
noncharacters U+FFFF and U+10FFFF, control characters, line and paragraph separators, quotes,
backslashes and SQL's LIKE wildcards.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from shared.settings import Settings

# Storable (no NUL, no lone surrogate), none of them whitespace that an id's stripping would remove.
ODD = [
    "\U0001f600",
    "e\u0301",
    "\u200d",
    "\u202e",
    "\ufeff",
    "\uffff",
    "\U0010ffff",
    "\x01",
    "\x7f",
    "\u2028",
    "\u5b57",
    '"',
    "\\",
    "'",
    "%",
    "_",
    "{}",
    "<b>",
    "\u00e9",
    "\u0416",
]
DEFAULTS = {name: f.default for name, f in Settings.model_fields.items()}
MAX_SKEW_SECONDS: float = DEFAULTS["consumer_max_clock_skew_seconds"]
RECORD_SECONDS: float = DEFAULTS["consumer_record_seconds"]
RECORD_ATTEMPTS: int = DEFAULTS["consumer_record_attempts"]


def bounds(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """Every field's schema, by path ("" the message's own); nullable fields by their non-null form; list
    items at index 0."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    found: dict[str, dict[str, Any]] = {}

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in node:
            node = {**defs[node["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
        options = [o for o in node.get("anyOf", ()) if o.get("type") != "null"]
        if len(options) == 1:  # nullable: the value's own schema
            node = {**{k: v for k, v in node.items() if k != "anyOf"}, **resolve(options[0])}
        return node

    def walk(node: dict[str, Any], path: str) -> None:
        node = resolve(node)
        found[path] = node  # "": the message itself
        for name, sub in node.get("properties", {}).items():
            walk(sub, f"{path}.{name}".lstrip("."))
        if "items" in node:
            walk(node["items"], f"{path}.0")

    walk(schema, "")
    return found


def text(n: int, rng: random.Random) -> str:
    """`n` characters (code points), from odd ones, starting and ending with a letter (an id is stripped
    of surrounding whitespace before its length is counted: none here)."""
    if n <= 2:
        return "AZ"[:n]
    start = rng.randrange(len(ODD))
    body: list[str] = []
    while len(body) < n - 2:
        body.extend(ODD[(start + len(body)) % len(ODD)])  # one code point at a time ("e\u0301" is two)
    return "A" + "".join(body[: n - 2]) + "Z"


def largest_money(schema: dict[str, Any]) -> str:
    """The largest amount a money field takes: its own maximum (`le`, a visit line's), else every digit
    before the point a 9, and the cents."""
    if "le" in schema:
        return str(schema["le"])
    whole, cents = schema["max_digits"] - schema["decimal_places"], schema["decimal_places"]
    return "9" * whole + "." + "9" * cents


def beyond_money(schema: dict[str, Any]) -> str:
    """One digit more before the point than a money field takes."""
    return "1" + "0" * (schema["max_digits"] - schema["decimal_places"])


def bounded(schema: dict[str, Any]) -> bool:
    return any(k in schema for k in ("maxLength", "maxItems", "maximum", "max_digits"))


def beyond(schema: dict[str, Any], current: Any, rng: random.Random) -> Any:
    """A value one past the field's bound: a character, an item, a unit, a digit more."""
    if "maxLength" in schema:
        return text(schema["maxLength"] + 1, rng)
    if "maxItems" in schema:
        return (current or [{}])[:1] * (schema["maxItems"] + 1)
    if "maximum" in schema:
        return schema["maximum"] + 1
    return beyond_money(schema)


def at_bound(schema: dict[str, Any], current: Any, rng: random.Random) -> Any:
    """The field's largest valid value: as many characters as it takes, or the largest amount or number."""
    if "maxLength" in schema:
        return text(schema["maxLength"], rng)
    if "maximum" in schema:
        return schema["maximum"]
    if "max_digits" in schema:
        return largest_money(schema)
    return current


# --- values past the bounds, and at them -----------------------------------------------------------------


def past_bounds(
    model: type[BaseModel], template: dict[str, Any], rng: random.Random
) -> list[tuple[str, dict[str, Any]]]:
    """For each bounded field the template has (or could have: its parent is there), the template with
    that field one past its bound: (the field's path, the message)."""
    found = []
    for path, schema in bounds(model).items():
        if path and bounded(schema) and has_parent(template, path):
            message = copy.deepcopy(template)
            put(message, path, beyond(schema, find(message, path), rng))
            found.append((path, message))
    return found


FAR_PAST, FAR_FUTURE = "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999+00:00"


def at_bounds(
    model: type[BaseModel],
    template: Callable[[], dict[str, Any]],
    rng: random.Random,
    now: datetime,
    fixed: set[str],
    limit_bytes: int,
) -> list[tuple[str, dict[str, Any]]]:
    """Valid messages at the bounds, derived from `template()` (a valid message with an identity of its own
    each time): (what is extreme, the message). `fixed`:
    paths kept as the template has them (the chain). Texts come first as they are, then every one at
    its longest; lists at their longest (item 0 repeated); every number and amount at its largest (a
    membership line's units as many as a visit may sell); times at the edges (occurred_at as far ahead
    as the consumers take, within a minute; the others at year 1 and year 9999); the least a message
    may be (required fields only, each at its shortest, empty lists, zero amounts; plus an unknown
    field, which is ignored); and padding (an unknown field) up to the largest message the topic takes."""
    schemas = {p: s for p, s in bounds(model).items() if p and p not in fixed}
    variants: list[tuple[str, dict[str, Any]]] = []

    def variant(name: str, change: Any) -> None:
        message = template()
        change(message)
        variants.append((name, message))

    def each(message: dict[str, Any], test: Any, value: Any) -> None:
        for path, schema in schemas.items():
            if test(schema):
                for concrete in expand(message, path):
                    put(message, concrete, value(schema, concrete, message))

    variant("longest_texts", lambda m: each(m, lambda s: "maxLength" in s, lambda s, p, m: text(s["maxLength"], rng)))
    for path, schema in schemas.items():
        if "maxItems" in schema and find(template(), path):
            variant(f"longest_{path}", lambda m, p=path, s=schema: put(m, p, find(m, p)[:1] * s["maxItems"]))

    def largest(message: dict[str, Any]) -> None:
        each(message, lambda s: "maximum" in s or "max_digits" in s, lambda s, p, m: at_bound(s, find(m, p), rng))
        _fewest_units(message)

    if any("maximum" in s or "max_digits" in s for s in schemas.values()):
        variant("largest_numbers", largest)
    times = [p for p, s in schemas.items() if s.get("format") == "date-time"]
    ahead = (now + timedelta(seconds=MAX_SKEW_SECONDS - 60)).isoformat()
    # (An instant before year 1 in UTC, "0001-01-01T00:00:00+14:00", once valid here, is refused by the
    # model now: tests/unit/test_inbound_bounds.py.)
    for name, edge in (("times_far_past", FAR_PAST), ("times_far_future", FAR_FUTURE)):

        def set_times(m: dict[str, Any], edge: str = edge) -> None:
            for p in times:
                if has_parent(m, p):
                    put(m, p, ahead if p == "occurred_at" and edge != FAR_PAST else edge)

        variant(name, set_times)
    variant("least", lambda m: _least(m, "", bounds(model), fixed | {"event_id"}))  # ids of their own
    variant("padded_to_the_limit", lambda m: _pad(m, limit_bytes))
    return variants


def _fewest_units(message: dict[str, Any]) -> None:
    """A visit sells at most MAX_MEMBERSHIP_UNITS memberships (its lines together): share them out."""
    from shared.events.inbound import MAX_MEMBERSHIP_UNITS

    lines = [x for x in message.get("lines", ()) if x.get("kind") == "membership"]
    for x in lines:
        x["quantity"] = MAX_MEMBERSHIP_UNITS // len(lines)


def _least(message: Any, path: str, schemas: dict[str, dict[str, Any]], fixed: set[str]) -> None:
    if isinstance(message, list):
        message.clear()
        return
    schema = schemas[path]
    for name in list(message):
        sub = f"{path}.{name}".lstrip(".")
        if sub in fixed:
            continue
        if name not in schema.get("required", ()):
            del message[name]
        elif isinstance(message[name], dict | list):
            _least(message[name], sub, schemas, fixed)
        elif "minLength" in schemas[sub] or (
            schemas[sub].get("type") == "string" and "format" not in schemas[sub] and "enum" not in schemas[sub]
        ):
            message[name] = "x" * schemas[sub].get("minLength", 0)
        elif "max_digits" in schemas[sub]:
            message[name] = "0"
        elif "exclusiveMinimum" in schemas[sub]:
            message[name] = schemas[sub]["exclusiveMinimum"] + 1
    if not path:
        message["an_unknown_field"] = {"ignored": [1, 2.5, None, {"deep": True}]}


def _pad(message: dict[str, Any], limit_bytes: int) -> None:
    import json

    overhead = len(json.dumps({**message, "padding": ""}).encode()) + 1024  # the key, headers, framing
    message["padding"] = "P" * (limit_bytes - overhead)


# --- paths into a message -----------------------------------------------------------------------------


def _step(key: str) -> str | int:
    return int(key) if key.isdigit() else key


def get(message: Any, path: str) -> Any:
    node = message
    for key in path.split("."):
        node = node[_step(key)]
    return node


def find(message: Any, path: str) -> Any:
    """What is at `path`, or None where nothing is."""
    try:
        return get(message, path)
    except (KeyError, IndexError, TypeError):
        return None


def has_parent(message: Any, path: str) -> bool:
    parents, _, _ = path.rpartition(".")
    return not parents or isinstance(find(message, parents), dict | list)


def expand(message: Any, path: str) -> list[str]:
    """The concrete paths a schema path ("lines.0.quantity") names in `message`: one per list item; a
    last key the message lacks is named too (an optional field absent)."""
    keys = path.split(".")
    paths = [""]
    for depth, key in enumerate(keys):
        grown = []
        for p in paths:
            parent = find(message, p) if p else message
            if key == "0" and isinstance(parent, list):
                grown += [f"{p}.{i}".lstrip(".") for i in range(len(parent))]
            elif isinstance(parent, dict) and (key in parent or depth == len(keys) - 1):
                grown.append(f"{p}.{key}".lstrip("."))
        paths = grown
    return paths


def _parent(message: dict[str, Any], path: str) -> tuple[Any, str | int]:
    parents, _, last = path.rpartition(".")
    return (get(message, parents) if parents else message), _step(last)


def put(message: dict[str, Any], path: str, value: Any) -> None:
    node, key = _parent(message, path)
    node[key] = value


def remove(message: dict[str, Any], path: str) -> None:
    node, key = _parent(message, path)
    del node[key]
