"""A reference SMS aggregator (`python -m deploy.aggregator`): what an aggregator does with Perkstream's
notices, small enough to read in a minute and copy the rules from.

- `notification.sms` is delivered at least once: a notice can come again (a relay retry, a rebalance).
  The aggregator keys on `notification_id` and never sends one twice (here an in-memory window of the last
  100,000 ids; a real one keeps them as long as its topic's retention).
- A notice past its `send_before` is stale news (a backlog, an outage): it is not sent, and reported
  `failed` with the reason, so the chain sees it in `GET /notifications`.
- The others are sent (here: printed; a real aggregator calls its provider, which bills `segments` SMS
  in `encoding`) and reported `delivered` on `notification.delivery` with the provider's message id,
  echoing `chain_id`. Offsets are committed only after the receipts are written: a crash sends again
  rather than loses, and the `notification_id` window keeps that from texting the client twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared import topics
from shared.kafka import client_kwargs
from shared.settings import get_settings

WINDOW = 100_000


class Seen:
    """The last `size` notification ids handled, oldest forgotten first."""

    def __init__(self, size: int = WINDOW) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, notification_id: str) -> bool:
        """Whether it is new (and now remembered)."""
        if notification_id in self._ids:
            return False
        self._ids[notification_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True


def receipt_for(notice: dict[str, Any], seen: Seen, now: datetime) -> dict[str, Any] | None:
    """The receipt for one notice read from `notification.sms`, or None when it was handled before."""
    if not seen.add(str(notice["notification_id"])):
        return None
    receipt: dict[str, Any] = {
        "notification_id": notice["notification_id"],
        "at": now.isoformat(),
        "chain_id": notice.get("chain_id"),
    }
    before = notice.get("send_before")
    if before and datetime.fromisoformat(before) < now:
        return {**receipt, "status": "failed", "error": f"stale: not sent after its send_before ({before})"}
    return {**receipt, "status": "delivered", "provider_message_id": f"ref-{uuid.uuid4().hex[:12]}"}


async def run(
    bootstrap_servers: str, group: str = "reference-aggregator", security: dict[str, Any] | None = None
) -> None:
    """`security`: TLS and SASL keyword arguments of aiokafka's clients (shared.kafka.client_kwargs)."""
    consumer = AIOKafkaConsumer(
        topics.NOTIFICATION_SMS,
        bootstrap_servers=bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **(security or {}),
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=True, **(security or {}))
    await consumer.start()
    await producer.start()
    seen = Seen()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            for records in batch.values():
                for r in records:
                    notice = json.loads(r.value)
                    receipt = receipt_for(notice, seen, datetime.now(UTC))
                    if receipt is None:
                        continue
                    if receipt["status"] == "delivered":  # a real aggregator sends here
                        print(
                            f"SMS to {notice['to']} ({notice.get('segments')} x {notice.get('encoding')}): "
                            f"{notice['text']}",
                            flush=True,
                        )
                    await producer.send(topics.NOTIFICATION_DELIVERY, json.dumps(receipt).encode(), key=r.key)
            if batch:
                await producer.flush()
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--group", default="reference-aggregator")
    args = parser.parse_args()
    # TLS and SASL as the services take them: KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_* (README).
    asyncio.run(run(args.bootstrap_servers, args.group, client_kwargs(get_settings())))


if __name__ == "__main__":
    main()
