"""Outbox rows that Kafka or the producer refuses, and what an operator does with them.

A row is *refused* when it can never be published as it is: too large for its topic (`too_large`), a
topic name Kafka refuses (`invalid_topic`), headers that are not text names and byte values
(`invalid_headers`), or anything else the broker or the producer refuses for good (`refused: <error>`).
The relay moves such a row, with its reason, from `outbox` to `outbox_refused` and goes on with the rows
after it. A failure that says nothing about the row (the broker away, busy or electing a leader, a topic
not there yet) is never a refusal: the rows wait, in order.

`python -m shared.admin outbox-refused` lists them (never their payloads, unless asked),
`outbox-requeue` puts them back at the end of the outbox once the cause is fixed, `outbox-drop` drops them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import asyncpg
from aiokafka import errors

from shared.topics import max_message_bytes, record_size, topic_name_problem

REASON_CHARS = 2000

# Failures of the broker or the producer that say nothing about the row: wait and try again.
WAITS: tuple[type[BaseException], ...] = (
    errors.KafkaTimeoutError,
    errors.KafkaConnectionError,
    errors.NoBrokersAvailable,
    errors.ProducerClosed,
    errors.UnknownTopicOrPartitionError,  # a topic not created yet: `create-topics`, and the rows go
    # Permissions are the operator's to fix, for every row of the topic alike.
    errors.TopicAuthorizationFailedError,
    errors.ClusterAuthorizationFailedError,
    asyncio.TimeoutError,
)
TOO_LARGE = (errors.MessageSizeTooLargeError, errors.RecordListTooLargeError, errors.RecordTooLargeError)


def waits(exc: BaseException) -> bool:
    """True when `exc` is no fault of the row (the same row will go once the broker can take it)."""
    return isinstance(exc, WAITS) or (isinstance(exc, errors.KafkaError) and exc.retriable)


def refusal(exc: BaseException) -> str:
    """The reason a row refused with `exc` is set aside with (`code: detail`)."""
    if isinstance(exc, TOO_LARGE):
        code = "too_large"
    elif isinstance(exc, errors.InvalidTopicError):
        code = "invalid_topic"
    else:
        code = "refused"
    return f"{code}: {type(exc).__name__}: {exc}"[:REASON_CHARS]


def problem(row: Mapping[str, Any]) -> str | None:
    """Why Kafka would refuse this row whoever sent it, found before sending it (a refused send also costs
    the producer its sequence on that partition), or None."""
    topic = row["topic"]
    if bad := topic_name_problem(topic):
        return f"invalid_topic: {bad}"
    names, values = row["header_names"], row["header_values"]
    if len(names) != len(values) or any(n is None for n in names):
        return "invalid_headers: every header needs a name, and as many names as values"
    size = record_size(row["key"], row["value"], list(zip(names, values, strict=True)))
    if size > max_message_bytes(topic):
        return f"too_large: {size:,} bytes; topic {topic} takes at most {max_message_bytes(topic):,}"
    return None


async def set_aside(conn: asyncpg.Connection, refused: list[tuple[int, str]]) -> int:
    """Moves the rows `refused` names (id, reason) from the outbox to `outbox_refused`, in one statement."""
    if not refused:
        return 0
    ids, reasons = zip(*refused, strict=True)
    moved = await conn.fetch(
        """WITH moved AS (DELETE FROM outbox WHERE id = ANY($1::bigint[]) RETURNING *)
           INSERT INTO outbox_refused (id, topic, key, value, header_names, header_values, created_at, reason)
           SELECT m.id, m.topic, m.key, m.value, m.header_names, m.header_values, m.created_at, r.reason
           FROM moved m JOIN unnest($1::bigint[], $2::text[]) AS r(id, reason) ON r.id = m.id
           RETURNING id""",
        list(ids),
        list(reasons),
    )
    return len(moved)


# --- what the admin commands do, in one service schema ---------------------------------------------


async def listing(conn: asyncpg.Connection, schema: str, payload: bool = False) -> list[asyncpg.Record]:
    value = "value" if payload else "NULL::bytea AS value"
    return await conn.fetch(
        f"""SELECT id, topic, key, octet_length(value) AS bytes, refused_at, reason, {value}
            FROM "{schema}".outbox_refused ORDER BY id"""
    )


def _which(ids: list[int] | None) -> tuple[str, list[Any]]:
    return ("", []) if ids is None else ("WHERE id = ANY($1::bigint[])", [ids])


async def requeue(conn: asyncpg.Connection, schema: str, ids: list[int] | None) -> int:
    """Puts refused rows (`ids`, or all) back at the end of the outbox, in their order: published after
    whatever was written since they were refused."""
    where, args = _which(ids)
    return len(
        await conn.fetch(
            f"""WITH back AS (DELETE FROM "{schema}".outbox_refused {where} RETURNING *)
            INSERT INTO "{schema}".outbox (topic, key, value, header_names, header_values)
            SELECT topic, key, value, header_names, header_values FROM back ORDER BY id RETURNING id""",
            *args,
        )
    )


async def drop(conn: asyncpg.Connection, schema: str, ids: list[int] | None) -> int:
    where, args = _which(ids)
    return len(await conn.fetch(f'DELETE FROM "{schema}".outbox_refused {where} RETURNING id', *args))
