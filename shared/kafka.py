"""Kafka clients, made one way for every service: the FastStream broker its consumers run on, and the
idempotent producer its outbox relay publishes with."""

import logging

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from shared.settings import Settings
from shared.topics import MAX_DEAD_LETTER_BYTES


def make_broker(settings: Settings, service: str) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"perkstream-{service}",
        # FastStream's own per-message lines go to stdlib logging at INFO; the root handler writes JSON
        # and keeps warnings only (our structlog lines carry what matters per message).
        logger=logging.getLogger("perkstream.faststream"),
    )


def make_producer(settings: Settings, service: str) -> AIOKafkaProducer:
    # acks=all + idempotence: what the relay publishes is on every in-sync replica, once per send, in
    # order per partition. The largest message it may send is the largest dead letter (a `.dlq` takes the
    # most); a row larger than its own topic takes is set aside by the relay before it is sent.
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"perkstream-{service}-relay",
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_request_size=MAX_DEAD_LETTER_BYTES,
    )
