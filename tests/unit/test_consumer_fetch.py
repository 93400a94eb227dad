"""A fetched batch whose header names are not UTF-8 goes through aiokafka's own fetcher code, record by
record, instead of failing the fetch (shared/consumer/fetch.py); FastStream's parser keeps headers raw."""

from __future__ import annotations

import asyncio

import aiokafka.consumer.fetcher as aiokafka_fetcher
import pytest
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.record.memory_records import MemoryRecords
from faststream.kafka.message import KafkaAckableMessage
from faststream.kafka.parser import AioKafkaBatchParser

from shared.consumer import fetch
from tests.raw_records import batch_bytes

TP = TopicPartition("visit.paid", 0)
RECORDS = [
    (b"cl-5", b'{"n": 0}', [(b"traceparent", b"00-1")]),
    (b"cl-5", b'{"n": 1}', [(b"\xff\xfevendor", b"x"), (b"ok", None)]),
    (b"cl-5", b'{"n": 2}', []),
]


def fetched(data: bytes, records_class: type = fetch.LenientMemoryRecords) -> list[ConsumerRecord]:
    """What aiokafka's fetcher makes of one partition's fetch response."""
    partition = aiokafka_fetcher.PartitionRecords(
        TP, records_class(data), [], 0, None, None, True, aiokafka_fetcher.READ_UNCOMMITTED
    )
    return list(partition)


def two_batches(compression_type: int = 0) -> bytes:
    return batch_bytes(RECORDS, compression_type=compression_type) + batch_bytes(
        [(b"cl-6", b'{"n": 3}', [])], base_offset=3
    )


def test_aiokafka_alone_fails_the_fetch_on_such_a_header_name() -> None:
    """The failure fetch.py exists for (should an aiokafka release fix it, this says so)."""
    with pytest.raises(UnicodeDecodeError):
        fetched(two_batches(), MemoryRecords)


@pytest.mark.parametrize("compression_type", [0, 1], ids=["plain", "gzip"])
def test_every_record_comes_through_in_order_the_odd_name_kept_as_its_bytes(compression_type: int) -> None:
    records = fetched(two_batches(compression_type))
    assert [(r.offset, r.value) for r in records] == [
        (0, b'{"n": 0}'),
        (1, b'{"n": 1}'),
        (2, b'{"n": 2}'),
        (3, b'{"n": 3}'),
    ]
    assert records[0].headers == (("traceparent", b"00-1"),)
    [(name, value), ok] = records[1].headers
    assert fetch.utf8_name_bytes(name) == b"\xff\xfevendor" and value == b"x"
    assert ok == ("ok", None)
    assert records[2].headers == () and records[3].key == b"cl-6"


def test_batches_of_text_names_read_as_aiokafka_reads_them() -> None:
    data = batch_bytes([(b"k", b"v", [(b"a", b"1")])]) + batch_bytes([(None, b"w", [])], base_offset=1)
    assert [(r.offset, r.key, r.value, r.headers) for r in fetched(data)] == [
        (r.offset, r.key, r.value, r.headers) for r in fetched(data, MemoryRecords)
    ]


def test_install_replaces_the_fetchers_records_once() -> None:
    fetch.install()
    fetch.install()
    assert aiokafka_fetcher.MemoryRecords is fetch.LenientMemoryRecords


def test_the_batch_parser_keeps_header_values_that_are_not_text() -> None:
    records = tuple(fetched(batch_bytes([(b"k", b"v", [(b"blob", b"\xff\xfe"), (b"none", None)])])))
    default = AioKafkaBatchParser(msg_class=KafkaAckableMessage, regex=None).parse_batch
    with pytest.raises((UnicodeDecodeError, AttributeError)):  # FastStream's own parser, alone
        asyncio.run(default(records))
    message = asyncio.run(fetch.keep_headers_raw(records, default))
    assert message.raw_message is records
    assert message.raw_message[0].headers == (("blob", b"\xff\xfe"), ("none", None))
