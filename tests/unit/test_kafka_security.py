"""The Kafka security settings (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*): how they become the
keyword arguments of every Kafka client (shared/kafka.py), and the combinations refused at start."""

from __future__ import annotations

import socket
import ssl
from typing import Any

import certifi
import pytest
from pydantic import ValidationError

from shared.kafka import check_access, client_kwargs, make_broker, make_producer
from shared.settings import Settings

PASSWORD = "s3cret-Passw0rd"
CA = certifi.where()  # any PEM file of CA certificates


def settings(**env: Any) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg]


def sasl(protocol: str = "SASL_SSL", mechanism: str = "SCRAM-SHA-512", **env: Any) -> Settings:
    return settings(
        kafka_security_protocol=protocol,
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username="perk",
        kafka_sasl_password=PASSWORD,
        **env,
    )


def test_plaintext_is_the_default_and_adds_nothing() -> None:
    assert settings().kafka_security_protocol == "PLAINTEXT"
    assert client_kwargs(settings()) == {}


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_ssl_gives_the_mechanism_the_credentials_and_a_verifying_tls_context(mechanism: str) -> None:
    kwargs = client_kwargs(sasl(mechanism=mechanism, kafka_ssl_cafile=CA))
    context = kwargs.pop("ssl_context")
    assert kwargs == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "perk",
        "sasl_plain_password": PASSWORD,
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # the CA file was loaded


def test_sasl_plaintext_has_no_tls() -> None:
    kwargs = client_kwargs(sasl("SASL_PLAINTEXT", "PLAIN"))
    assert kwargs["security_protocol"] == "SASL_PLAINTEXT" and kwargs["ssl_context"] is None


def test_ssl_alone_is_tls_without_sasl() -> None:
    kwargs = client_kwargs(settings(kafka_security_protocol="SSL", kafka_ssl_cafile=CA))
    assert kwargs["security_protocol"] == "SSL" and isinstance(kwargs["ssl_context"], ssl.SSLContext)
    assert "sasl_mechanism" not in kwargs


async def test_the_consumers_broker_and_the_relays_producer_connect_the_same_way() -> None:
    s = sasl(kafka_ssl_cafile=CA)
    broker = make_broker(s, "notifications")._connection_kwargs
    producer = make_producer(s, "notifications").client
    for key in ("security_protocol", "sasl_mechanism", "sasl_plain_username", "sasl_plain_password"):
        assert broker[key] == getattr(producer, f"_{key}") == client_kwargs(s)[key], key


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_username": "perk"},
            "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD",
        ),
        (
            {"kafka_sasl_username": "perk", "kafka_sasl_password": PASSWORD},
            "KAFKA_SECURITY_PROTOCOL=PLAINTEXT does not use them",
        ),
        ({"kafka_ssl_cafile": CA}, "KAFKA_SSL_CAFILE set but KAFKA_SECURITY_PROTOCOL=PLAINTEXT has no TLS"),
        (
            {
                "kafka_security_protocol": "SASL_PLAINTEXT",
                "kafka_sasl_username": "perk",
                "kafka_sasl_password": PASSWORD,
                "kafka_ssl_key_password": PASSWORD,
            },
            "KAFKA_SSL_KEY_PASSWORD set but KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT has no TLS",
        ),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_keyfile": CA}, "need KAFKA_SSL_CERTFILE"),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_cafile": "/no/such/ca.pem"}, "no such readable file"),
        ({"kafka_security_protocol": "TLS"}, "kafka_security_protocol"),
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "GSSAPI"}, "kafka_sasl_mechanism"),
        ({"kafka_sasl_password": "x" * 4097}, "kafka_sasl_password"),
    ],
)
def test_a_combination_that_cannot_work_is_refused_naming_the_setting_never_the_password(
    env: dict[str, str], named: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        settings(**env)
    assert named in str(refused.value)
    assert PASSWORD not in str(refused.value) and "xxxx" not in str(refused.value)


def test_the_password_is_never_in_the_settings_repr() -> None:
    s = sasl(kafka_ssl_cafile=CA)
    assert PASSWORD not in repr(s) and PASSWORD not in str(s.model_dump())


async def test_a_broker_not_reachable_is_not_a_refusal() -> None:
    """Nothing listens: the access check says so (False) and the clients wait for Kafka as they did."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the check: nothing listens there
    assert await check_access(sasl(kafka_bootstrap_servers=f"127.0.0.1:{port}")) is False
