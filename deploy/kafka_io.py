"""Publishing events and reading topics from outside the services: the demo and the tests act as a
booking system and as an SMS aggregator through these."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


class Kafka:
    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")

    async def __aenter__(self) -> Kafka:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def publish(self, topic: str, payload: dict[str, Any] | bytes, key: str | None = None,
                      headers: list[tuple[str, bytes]] | None = None) -> None:
        value = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        await self.producer.send_and_wait(topic, value, key=key.encode() if key else None, headers=headers)

    async def read(self, topic: str, match: Callable[[dict[str, Any]], bool] | None = None, *,
                   count: int = 1, timeout: float = 30.0, settle: float = 0.0) -> list[dict[str, Any]]:
        """Reads `topic` from the start and answers the messages `match` accepts: at least `count`
        within `timeout`, then whatever else arrives within `settle` seconds (to prove "only one")."""
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=self.bootstrap_servers, group_id=None,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        found: list[dict[str, Any]] = []
        try:
            deadline = time.monotonic() + timeout
            settle_until: float | None = None
            while True:
                now = time.monotonic()
                if settle_until is None and len(found) >= count:
                    settle_until = now + settle
                if settle_until is not None and now >= settle_until:
                    break
                if now >= deadline:
                    break
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for r in records:
                        message = decode(r.value, r.headers)
                        if message is not None and (match is None or match(message)):
                            found.append(message)
        finally:
            await consumer.stop()
        return found


def decode(value: bytes | None, headers: Any) -> dict[str, Any] | None:
    try:
        message = json.loads(value or b"")
    except ValueError:
        message = {"_raw": (value or b"").decode(errors="replace")}
    if not isinstance(message, dict):
        message = {"_raw": message}
    message["_headers"] = {k: v.decode(errors="replace") for k, v in (headers or ())}
    return message


def run(coro: Any) -> Any:
    return asyncio.run(coro)
