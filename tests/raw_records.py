"""Kafka record batches with bytes aiokafka's producer will not write: header names that are not UTF-8.

aiokafka's producer writes header names as UTF-8 (its C batch builder takes nothing else); its
pure-Python builder writes whatever a name's `encode()` answers. `RawName` answers raw bytes, so a test can
play a producer that writes them there, as the record format's bytes allow and the broker stores.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.record.default_records import _DefaultRecordBatchBuilderPy

Header = tuple[bytes, bytes | None]


class RawName(str):
    raw: bytes

    def __new__(cls, raw: bytes) -> RawName:
        name = super().__new__(cls, raw.decode("latin-1"))
        name.raw = raw
        return name

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return self.raw


def builder(batch_size: int, compression_type: int = 0) -> _DefaultRecordBatchBuilderPy:
    """A v2 record batch builder that writes RawName header names as their bytes."""
    return _DefaultRecordBatchBuilderPy(2, compression_type, 0, -1, -1, 0, batch_size)


def raw_headers(headers: list[Header]) -> list[tuple[str, bytes | None]]:
    return [(RawName(name), value) for name, value in headers]


def batch_bytes(
    records: list[tuple[bytes | None, bytes | None, list[Header]]], *, base_offset: int = 0, compression_type: int = 0
) -> bytes:
    """One record batch (key, value, headers per record), as a fetch response carries it."""
    b = builder(1 << 20, compression_type)
    for i, (key, value, headers) in enumerate(records):
        b.append(i, timestamp=None, key=key, value=value, headers=raw_headers(headers))
    data = bytearray(b.build())
    data[0:8] = base_offset.to_bytes(8, "big", signed=True)  # the broker assigns it (not in the CRC)
    return bytes(data)


async def partition_of(producer: AIOKafkaProducer, topic: str, key: bytes) -> int:
    """The partition the producer's default partitioner gives `key` on `topic`."""
    partitions = sorted(await producer.partitions_for(topic))
    return DefaultPartitioner()(key, partitions, partitions)  # type: ignore[no-any-return]


async def send_raw(
    producer: AIOKafkaProducer,
    topic: str,
    partition: int,
    key: bytes | None,
    value: bytes,
    headers: list[Any],
    batch_size: int,
) -> None:
    """One record with these exact bytes (header names too: RawName, see raw_headers) on `partition`."""
    batch = producer.create_batch()
    batch._builder = builder(batch_size)
    batch.append(timestamp=None, key=key, value=value, headers=headers)
    await (await producer.send_batch(batch, topic, partition=partition))
