"""Re-drive dead letters: after the cause is fixed (a card created, a bug deployed), publish what
`<topic>.dlq` holds back onto `<topic>`, so the consumer that refused it tries again.

Safe to run, at any time: a re-driven message carries `x-redrive-for: <the group that dead-lettered it>`,
and every other service's consumer passes it over (shared/consumer/batch.py), so a service that had
applied the original never applies it again, even once its inbox has forgotten the event (past
INBOX_RETENTION_DAYS); it keeps its `event_id` too, so the one that refused it (which has no inbox row for
it: its savepoint was rolled back) applies it once, however often it is re-driven. Filter by `--group` to
re-drive only what one service refused, and by `--chain` for one chain's. Progress is kept in a consumer
group of its own per filter (`perkstream.redrive.<group or all>.<chain or all>`), so a second run
re-drives only what arrived since; `--dry-run` only counts and commits nothing.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.consumer.records import REDRIVE_FOR
from shared.kafka import check_access, client_kwargs
from shared.settings import Settings
from shared.topics import MAX_MESSAGE_BYTES, dlq


@dataclass
class Redriven:
    redriven: int = 0
    skipped: int = 0  # another consumer group's or another chain's than the ones asked for


def chain_of(value: bytes | None) -> str | None:
    try:
        payload = json.loads(value or b"")
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses
        return None
    return payload.get("chain_id") if isinstance(payload, dict) else None


async def redrive(
    settings: Settings,
    topic: str,
    group: str | None = None,
    chain: str | None = None,
    *,
    dry_run: bool = False,
    idle_seconds: float = 2.0,
) -> Redriven:
    await check_access(settings, "perkstream-redrive")
    consumer = AIOKafkaConsumer(
        dlq(topic),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=f"perkstream.redrive.{group or 'all'}.{chain or 'all'}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **client_kwargs(settings),
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        max_request_size=MAX_MESSAGE_BYTES,
        **client_kwargs(settings),
    )
    await consumer.start()
    await producer.start()
    done = Redriven()
    try:
        idle = 0.0
        while idle < idle_seconds:
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            records = [r for rs in batch.values() for r in rs]
            if not records:
                idle += 0.5
                continue
            idle = 0.0
            sends = []
            for r in records:
                headers = dict(r.headers or ())
                by = headers.get("x-consumer-group", b"").decode()
                if (
                    (group and by != group)
                    or (chain and chain_of(r.value) != chain)
                    or headers.get("x-original-topic", topic.encode()).decode() != topic
                ):
                    done.skipped += 1
                    continue
                done.redriven += 1
                if not dry_run:  # the original message: its key, value and headers, without our x- ones,
                    # addressed to the group that refused it (the others pass it over)
                    original = [(k, v) for k, v in (r.headers or ()) if not k.startswith("x-")]
                    if by:
                        original.append((REDRIVE_FOR, by.encode()))
                    sends.append(await producer.send(topic, r.value, key=r.key, headers=original))
            await asyncio.gather(*sends)
            if not dry_run:
                await consumer.commit()  # only once Kafka holds every re-driven message
    finally:
        await producer.stop()
        await consumer.stop()
    return done
