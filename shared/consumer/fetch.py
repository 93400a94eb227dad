"""Records reach the consumer whatever bytes they hold: nothing in aiokafka or FastStream may fail a fetch.

Kafka stores a record's key, value and header values as bytes, and a header name as "a string", which
the broker never checks. Two places decode more than that, and each turned one hostile record into lost
or stuck ones:

1. aiokafka decodes every header name as strict UTF-8 while it iterates a fetched record batch
   (`DefaultRecordBatch`, C and Python alike). A name that is not UTF-8 makes `getmany` raise: the
   records it already drained from other partitions in that fetch are dropped while their positions
   advance (the next commit skips them), and the partition itself is stuck on that record for good.
   `install()` routes the fetcher's record batches through `_LenientBatch`: the fast C batch as before,
   and only when it fails to decode a header name, the same batch bytes read again by `_read_record`,
   which gives such a name as `surrogateescape` text (every byte kept, `utf8_name_bytes` gets them back).
   The consumer then dead-letters that record as `undecodable` (records.py); nothing else changes.
   This replaces the module global `aiokafka.consumer.fetcher.MemoryRecords` (one name, checked at
   install; tests/unit/test_consumer_fetch.py runs aiokafka's own fetcher code over such a batch).
2. FastStream's batch parser decodes every header *value* as UTF-8 (to fill `message.headers`, which we
   never read): a value that is not text, or null, failed the whole batch, which AckPolicy.MANUAL then
   dropped silently. `keep_headers_raw` is the subscriber's parser instead: FastStream's own, given the
   records without their headers, and the message keeps the records untouched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiokafka.consumer.fetcher as aiokafka_fetcher
from aiokafka import ConsumerRecord
from aiokafka.errors import CorruptRecordException
from aiokafka.record.default_records import _DefaultRecordBatchPy, _DefaultRecordPy
from aiokafka.record.memory_records import MemoryRecords, _MemoryRecordsPy
from aiokafka.record.util import decode_varint
from faststream.kafka.annotations import KafkaMessage

_ORIGINAL = MemoryRecords


def install() -> None:
    """Makes aiokafka's fetcher read header names leniently (idempotent)."""
    current = aiokafka_fetcher.MemoryRecords
    if current is LenientMemoryRecords:
        return
    if current is not _ORIGINAL:  # pragma: no cover - an aiokafka that no longer works this way
        raise RuntimeError(
            "aiokafka.consumer.fetcher.MemoryRecords is not aiokafka's: cannot install "
            "lenient header decoding (see shared/consumer/fetch.py)"
        )
    aiokafka_fetcher.MemoryRecords = LenientMemoryRecords


def utf8_name_bytes(name: str) -> bytes:
    """A header name's bytes as they were on the wire (a lenient one's undecodable bytes included)."""
    return name.encode("utf-8", "surrogateescape")


class LenientMemoryRecords:
    """aiokafka's MemoryRecords (the batches of one partition's fetch response), each v2 batch wrapped."""

    def __init__(self, data: bytes) -> None:
        self._records = _MemoryRecordsPy(data)  # slices the buffer into batches; each one the C batch

    def size_in_bytes(self) -> int:
        return self._records.size_in_bytes()

    def has_next(self) -> bool:
        return self._records.has_next()

    def next_batch(self) -> Any:
        view = self._records._next_slice  # the batch's bytes, taken before next_batch moves on
        batch = self._records.next_batch()
        if batch is None or batch.magic < 2 or view is None:  # legacy formats have no headers
            return batch
        return _LenientBatch(batch, view)


class _LenientBatch:
    """A record batch as aiokafka iterates it, whose header names need not be UTF-8."""

    def __init__(self, fast: Any, view: memoryview) -> None:
        self._fast = fast
        self._view = view
        self._yielded = 0
        self._slow: Iterator[Any] | None = None

    def __getattr__(self, name: str) -> Any:  # base_offset, next_offset, validate_crc, is_control_batch...
        return getattr(self._fast, name)

    def __iter__(self) -> _LenientBatch:
        return self

    def __next__(self) -> Any:
        if self._slow is None:
            try:
                record = next(self._fast)
            except (UnicodeDecodeError, CorruptRecordException) as exc:
                # The Python batch wraps the same UnicodeDecodeError in CorruptRecordException.
                if not isinstance(exc, UnicodeDecodeError) and not isinstance(exc.__cause__, UnicodeDecodeError):
                    raise
                self._slow = self._reread()
            else:
                self._yielded += 1
                return record
        return next(self._slow)

    def _reread(self) -> Iterator[Any]:
        batch = _ReadLeniently(self._view)
        for i, record in enumerate(batch):
            if i >= self._yielded:
                yield record


class _ReadLeniently(_DefaultRecordBatchPy):
    """aiokafka's pure-Python batch (decompression, iteration, checks), one record read differently."""

    def _read_msg(self, decode_varint: Callable[[bytearray, int], tuple[int, int]] = decode_varint) -> Any:
        return _read_record(self, decode_varint)


def _read_record(batch: Any, varint: Callable[[bytearray, int], tuple[int, int]]) -> _DefaultRecordPy:
    """One record of a v2 batch (Kafka's record format: length, attributes, timestamp delta, offset delta,
    key, value, headers), as aiokafka reads it, but a header name that is not UTF-8 is kept as
    `surrogateescape` text instead of raising."""
    buffer, pos = batch._buffer, batch._pos

    def nullable_bytes(at: int) -> tuple[bytes | None, int]:
        size, at = varint(buffer, at)
        if size < 0:
            return None, at
        return bytes(buffer[at : at + size]), at + size

    length, pos = varint(buffer, pos)
    start = pos
    _, pos = varint(buffer, pos)  # attributes: unused
    ts_delta, pos = varint(buffer, pos)
    offset_delta, pos = varint(buffer, pos)
    key, pos = nullable_bytes(pos)
    value, pos = nullable_bytes(pos)
    count, pos = varint(buffer, pos)
    if count < 0:
        raise CorruptRecordException(f"Found invalid number of record headers {count}")
    headers: list[tuple[str, bytes | None]] = []
    for _ in range(count):
        name, pos = nullable_bytes(pos)
        if name is None:
            raise CorruptRecordException("Invalid negative header key size")
        header_value, pos = nullable_bytes(pos)
        headers.append((name.decode("utf-8", "surrogateescape"), header_value))
    if pos - start != length:
        raise CorruptRecordException(f"Invalid record size: expected {length} bytes, read {pos - start}")
    batch._pos = pos
    appended = batch.timestamp_type == batch.LOG_APPEND_TIME
    timestamp = batch.max_timestamp if appended else batch.first_timestamp + ts_delta
    return _DefaultRecordPy(batch.base_offset + offset_delta, timestamp, batch.timestamp_type, key, value, headers)


async def keep_headers_raw(
    records: tuple[ConsumerRecord, ...], original: Callable[[tuple[ConsumerRecord, ...]], Awaitable[KafkaMessage]]
) -> KafkaMessage:
    """FastStream's batch parser, minus its decoding of header values (see the module's docstring)."""
    message = await original(tuple(dataclasses.replace(r, headers=()) for r in records))
    message.raw_message = records
    return message
