"""structlog JSON logs, without a secret or a client's personal data in them.

Context (event_id, chain_id, visit_id, topic; a request's path) is bound with `structlog.contextvars` by the
consumer and the HTTP layer, so every line a handler writes carries it, and `trace_id` / `span_id`: the current
span's (shared/tracing.py), or, tracing off, those of the `traceparent` the record or request at hand came
with. The libraries' own lines (aiokafka, uvicorn, faststream: stdlib logging) are rendered by the same
processors.

What never reaches a log (`redact`, the last step before rendering, over every value, nested ones and
exception texts included):
- a field whose name says it holds a secret or a person (`SENSITIVE_KEYS`: phone, name, to, authorization,
  key, token, ...), whatever it holds;
- text that looks like an API key (`psk_...`: its first 6 characters stay, to tell keys apart) or a phone
  number (`+` and 7 to 15 digits, or 10 to 15 digits standing alone);
- the values `Secrets` bound for the work at hand (`bind_secrets`): the client's name and phone of the
  message a consumer handles, the bearer key and the personal fields of the request being served, wherever
  they appear, such as inside a database error's message;
- a traceback's local variables (tracebacks keep files, lines and functions only).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

import structlog
from opentelemetry import trace
from structlog.tracebacks import ExceptionDictTransformer

from shared import tracing

SENSITIVE_KEYS = frozenset(
    {
        "phone",
        "client_phone",
        "admin_phone",
        "name",
        "client_name",
        "to",
        "recipient",
        "text",
        "who",
        "x-user",
        "authorization",
        "api_key",
        "key",
        "token",
        "password",
        "secret",
        "credentials",
    }
)
REDACTED = "[redacted]"
SECRETS_KEY = "_secrets"  # the contextvar that carries the bound Secrets; never rendered
_PATTERNS = (
    (re.compile(r"(psk_[A-Za-z0-9_-]{0,6})[A-Za-z0-9_-]+"), rf"\1{REDACTED}"),
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',]+"), rf"\1{REDACTED}"),
    (re.compile(r"\+\d[\d ().-]{5,20}\d"), "[phone]"),
)
_MAX_SECRET = 256
_MIN_SECRET = 3  # shorter values (an initial, "Al") would blank ordinary words
_MIN_NAME_PART = 4  # "Ilona Kovacs": each part of a name alone, when it is this long


class Secrets:
    """Values to keep out of the log lines written while bound: taken from `sources` (text, bytes of JSON,
    dicts, lists, pydantic models, or callables answering one) only when a line is written, and only the
    values under a SENSITIVE_KEYS name (a text source is a secret as a whole)."""

    def __init__(self, *sources: Any) -> None:
        self._sources = sources
        self._pattern: re.Pattern[str] | None = None
        self._found = False

    @property
    def pattern(self) -> re.Pattern[str] | None:
        if not self._found:
            self._found = True
            words: set[str] = set()
            digits: set[str] = set()
            for source in self._sources:
                try:
                    _collect(source() if callable(source) else source, words, digits, top=True)
                except Exception:  # a source that cannot be read has nothing to hide from us
                    continue
            found = [rf"(?<!\w)(?:{_either(words)})(?!\w)" if words else "", _either(digits)]
            if any(found):  # a phone's digits wherever they stand (0036..., tel:36...); words as words
                self._pattern = re.compile("|".join(f for f in found if f), re.IGNORECASE)
        return self._pattern


def _either(values: set[str]) -> str:
    return "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))


def _collect(node: Any, out: set[str], digits: set[str], sensitive: bool = False, top: bool = False) -> None:
    if hasattr(node, "model_dump"):
        node = node.model_dump(mode="json")
    if isinstance(node, bytes | bytearray):
        try:
            node = json.loads(node)
        except (ValueError, RecursionError):
            return
    if isinstance(node, dict):
        for k, v in node.items():
            _collect(v, out, digits, sensitive or str(k).lower() in SENSITIVE_KEYS)
    elif isinstance(node, list | tuple):
        for v in node:
            _collect(v, out, digits, sensitive)
    elif isinstance(node, str) and (sensitive or top):
        _variants(node.strip(), out, digits)


def _variants(value: str, out: set[str], digits: set[str]) -> None:
    # Longer than any bounded field (a name 200, a phone 32, a key 47): refused at validation, and never
    # logged whole; hunting for it would cost every line a scan against megabytes.
    if not _MIN_SECRET <= len(value) <= _MAX_SECRET:
        return
    out.add(value)
    number = re.sub(r"\D", "", value)
    if len(number) >= 7 and len(number) >= len(value) - 6:  # a phone however written: +36 20 123-4567
        digits.update({number, number[-9:]})  # the national number alone too (06 70 ..., 70/...)
    for part in value.split():
        if len(part) >= _MIN_NAME_PART and part.isalpha():
            out.add(part)


def bind_secrets(*sources: Any) -> None:
    """Keep these out of every line the current context writes (until unbound: `unbind_secrets`)."""
    structlog.contextvars.bind_contextvars(**{SECRETS_KEY: Secrets(*sources)})


def unbind_secrets() -> None:
    structlog.contextvars.unbind_contextvars(SECRETS_KEY)


def scrub(text: str, secrets: Secrets | None = None) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    found = secrets.pattern if secrets is not None else None
    return found.sub(REDACTED, text) if found is not None else text


def _redact_value(value: Any, secrets: Secrets | None, by_key: bool) -> Any:
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {
            k: REDACTED
            if by_key and str(k).lower() in SENSITIVE_KEYS and v not in (None, "")
            else _redact_value(v, secrets, by_key)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact_value(v, secrets, by_key) for v in value]
    if isinstance(value, bytes | bytearray):
        return scrub(value.decode("utf-8", "replace"), secrets)
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value), secrets)  # anything else would be rendered by its str/repr: scrub that


def redact(_: Any, __: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
    """The processor: the line without secrets nor personal data (the module's docstring says what goes)."""
    secrets = event_dict.pop(SECRETS_KEY, None)
    secrets = secrets if isinstance(secrets, Secrets) else None
    out: dict[str, Any] = {}
    for key, value in event_dict.items():
        if key == "exception":  # frames name functions in a `name` field: values scrubbed, names kept
            out[key] = _redact_value(value, secrets, by_key=False)
        elif key.lower() in SENSITIVE_KEYS and value not in (None, ""):
            out[key] = REDACTED
        else:
            out[key] = _redact_value(value, secrets, by_key=True)
    return out


TRACEPARENT_KEY = "_traceparent"  # the contextvar a consumed record's `traceparent` is bound as (tracing off)


def add_trace_ids(_: Any, __: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
    """`trace_id` and `span_id`: the current span's (shared/tracing.py), else, tracing off, the ones the
    `traceparent` of the record or request at hand names (read only when a line is written)."""
    carried = event_dict.pop(TRACEPARENT_KEY, None)
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        event_dict["trace_id"], event_dict["span_id"] = f"{span.trace_id:032x}", f"{span.span_id:016x}"
    elif carried is not None and (found := tracing.ids(carried)) is not None:
        event_dict["trace_id"], event_dict["span_id"] = found
    return event_dict


def processors() -> list[structlog.types.Processor]:
    """What every line goes through after its own context: trace ids, tracebacks as data without locals,
    redaction."""
    return [
        add_trace_ids,
        structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
        redact,
        structlog.processors.JSONRenderer(),
    ]


def configure_logging(service: str, level: str = "INFO", stream: Any = None) -> None:
    stream = stream or sys.stdout
    context: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*context, *processors()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Libraries (aiokafka, uvicorn, faststream) log through stdlib logging: their warnings, in JSON, with
    # the context bound where they were written, through the same redaction.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *processors()],
            foreign_pre_chain=[*context, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
