"""Kafka clients, made one way for every service: the FastStream broker its consumers run on, and the
idempotent producer its outbox relay publishes with; and the security settings (TLS, SASL) every Kafka
client of the project connects with (`security`, `client_kwargs`), checked once at start (`check_access`)
so that a wrong password or CA says so in one line instead of as an endless "unable to bootstrap"."""

import logging
import ssl
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.conn import collect_hosts, create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    IllegalSaslStateError,
    KafkaConnectionError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.helpers import create_ssl_context
from faststream.kafka import KafkaBroker
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from shared.settings import Settings
from shared.topics import MAX_DEAD_LETTER_BYTES

log = structlog.get_logger("kafka")

SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
REFUSALS = (SaslAuthenticationFailed, AuthenticationFailedError, UnsupportedSaslMechanismError, IllegalSaslStateError)


class KafkaRefused(Exception):
    """The brokers refused this client's credentials or TLS: retrying cannot help (the message names the
    user, the mechanism and the broker's reason, never the password)."""


def security(settings: Settings) -> BaseSecurity | None:
    """The KAFKA_SECURITY_PROTOCOL / KAFKA_SASL_* / KAFKA_SSL_* settings as FastStream's security object
    (None: PLAINTEXT)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = None
    if protocol.endswith("SSL"):
        context = create_ssl_context(
            cafile=settings.kafka_ssl_cafile or None,
            certfile=settings.kafka_ssl_certfile or None,
            keyfile=settings.kafka_ssl_keyfile or None,
            password=settings.kafka_ssl_key_password.get_secret_value() or None,
        )
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    return SASL[settings.kafka_sasl_mechanism](
        settings.kafka_sasl_username,
        settings.kafka_sasl_password.get_secret_value(),
        ssl_context=context,
        use_ssl=protocol == "SASL_SSL",
    )


def client_kwargs(settings: Settings) -> dict[str, Any]:
    """The same settings as keyword arguments of aiokafka's clients (AIOKafkaProducer, AIOKafkaConsumer,
    AIOKafkaAdminClient): security_protocol, ssl_context, sasl_mechanism, sasl_plain_username/password.
    FastStream's own translation, so the broker and the plain clients can never connect differently."""
    return parse_security(security(settings))


async def check_access(settings: Settings, client_id: str = "perkstream-check") -> bool:
    """Connects to the bootstrap servers as every client will (TLS handshake, SASL authentication).
    True once one answered; False when none could be reached (down, starting: the callers wait as they
    did); raises KafkaRefused when one refused the credentials, the mechanism or the TLS handshake."""
    kwargs = client_kwargs(settings)
    user, mechanism = settings.kafka_sasl_username, settings.kafka_sasl_mechanism
    for host, port, _ in collect_hosts(settings.kafka_bootstrap_servers, randomize=False):  # as aiokafka reads them
        try:
            conn = await create_conn(host, port, client_id=client_id, request_timeout_ms=10_000, **kwargs)
        except REFUSALS as exc:
            raise KafkaRefused(
                f"Kafka at {host}:{port} refused {mechanism} authentication for user {user!r}: {_reason(exc)}"
            ) from None
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError):  # the connection cut mid-handshake: a restart, not a refusal
            continue
        except ssl.SSLError as exc:  # the certificate, the CA, a client certificate the broker wants, TLS on plain text
            raise KafkaRefused(
                f"TLS with Kafka at {host}:{port} failed ({settings.kafka_security_protocol}): {exc.reason or exc}"
                f"{'; KAFKA_SSL_CAFILE ' + settings.kafka_ssl_cafile if settings.kafka_ssl_cafile else ''}"
            ) from None
        except (OSError, TimeoutError, KafkaConnectionError):
            continue
        conn.close()
        return True
    return False


async def require_access(settings: Settings, service: str) -> None:
    """A service's start: a refusal is logged as `kafka_auth_failed` (never the password) and stops it,
    since no retry can help; Kafka not reachable yet is left to the clients, which wait for it."""
    try:
        await check_access(settings, f"perkstream-{service}")
    except KafkaRefused as exc:
        log.error(
            "kafka_auth_failed",
            reason=str(exc),
            protocol=settings.kafka_security_protocol,
            mechanism=settings.kafka_sasl_mechanism if settings.kafka_security_protocol.startswith("SASL") else None,
            user=settings.kafka_sasl_username or None,
        )
        raise


def _reason(exc: Exception) -> str:
    return (str(exc.args[0]) if exc.args else "") or type(exc).__name__


def make_broker(settings: Settings, service: str) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"perkstream-{service}",
        security=security(settings),
        # FastStream's own per-message lines go to stdlib logging at INFO; the root handler writes JSON
        # and keeps warnings only (our structlog lines carry what matters per message).
        logger=logging.getLogger("perkstream.faststream"),
        # No wait of FastStream's own at stop: the consumer has drained its batch in hand already, bounded
        # by SHUTDOWN_GRACE_SECONDS (BatchConsumer.drain); one that overran it is cut short (rolled back).
        graceful_timeout=None,
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
        **client_kwargs(settings),
    )
