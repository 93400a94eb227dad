"""A Kafka broker of the test's own with a SASL_SSL listener, as a managed Kafka has one: TLS with a
certificate signed by a CA made here, a client certificate required (mutual TLS), and SASL users for
SCRAM-SHA-512 (stored as the log dir is formatted), SCRAM-SHA-256 and PLAIN (JAAS). Its inter-broker
traffic (the node talks to itself) stays on a PLAINTEXT listener the tests never use.

The keys and certificates are made with openssl into the test's directory: a CA, the broker's (for
127.0.0.1, in a PKCS12 keystore) and a client's (its key encrypted, as KAFKA_SSL_KEY_PASSWORD reads it)."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from deploy import local

USER = "perk"


@dataclass(frozen=True)
class SecureBroker:
    port: int  # the SASL_SSL listener's
    password: str  # USER's, for every mechanism
    ca: Path
    client_cert: Path
    client_key: Path
    client_key_password: str

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self, mechanism: str = "SCRAM-SHA-512", password: str | None = None) -> dict[str, str]:
        """The settings a service (or shared.admin) connects with."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": mechanism,
            "KAFKA_SASL_USERNAME": USER,
            "KAFKA_SASL_PASSWORD": self.password if password is None else password,
            "KAFKA_SSL_CAFILE": str(self.ca),
            "KAFKA_SSL_CERTFILE": str(self.client_cert),
            "KAFKA_SSL_KEYFILE": str(self.client_key),
            "KAFKA_SSL_KEY_PASSWORD": self.client_key_password,
        }


def _openssl(where: Path, command: str, *more: str) -> None:
    subprocess.run(["openssl", *command.split(), *more], cwd=where, check=True, capture_output=True)


def make_certificates(where: Path, keystore_password: str, key_password: str) -> None:
    """ca.pem; broker.p12 (the broker's key and certificate for IP 127.0.0.1); client.pem and
    client.key (encrypted with `key_password`)."""
    where.mkdir(parents=True, exist_ok=True)
    _openssl(where, "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj", "/CN=Test CA")
    for name, subject, ext in (
        ("broker", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
        ("client", f"/CN={USER}", "extendedKeyUsage=clientAuth"),
    ):
        (where / f"{name}.ext").write_text(f"basicConstraints=CA:FALSE\n{ext}\n")
        _openssl(where, f"req -new -newkey rsa:2048 -nodes -keyout {name}.plain.key -out {name}.csr -subj", subject)
        _openssl(
            where,
            f"x509 -req -in {name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out {name}.pem -days 2 "
            f"-extfile {name}.ext",
        )
    pkcs12 = "pkcs12 -export -in broker.pem -inkey broker.plain.key -name broker -out broker.p12 -passout"
    _openssl(where, pkcs12, f"pass:{keystore_password}")
    _openssl(where, "pkey -in client.plain.key -aes256 -out client.key -passout", f"pass:{key_password}")


def properties(broker_port: int, sasl_port: int, tls: Path, keystore_password: str, password: str) -> str:
    """The SASL_SSL listener over deploy/kafka/server.properties (a later key wins)."""
    plain, controller = f"127.0.0.1:{broker_port}", f"127.0.0.1:{broker_port + 1}"
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    return f"""
listeners=PLAINTEXT://{plain},CONTROLLER://{controller},SASL_SSL://127.0.0.1:{sasl_port}
advertised.listeners=PLAINTEXT://{plain},SASL_SSL://127.0.0.1:{sasl_port}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
inter.broker.listener.name=PLAINTEXT
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \
user_{USER}="{password}";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config={scram}
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={scram}
listener.name.sasl_ssl.ssl.client.auth=required
ssl.keystore.type=PKCS12
ssl.keystore.location={tls / "broker.p12"}
ssl.keystore.password={keystore_password}
ssl.truststore.type=PEM
ssl.truststore.location={tls / "ca.pem"}
"""


@contextmanager
def secure_broker(state: Path) -> Iterator[SecureBroker]:
    """A one-node broker in `state` with the SASL_SSL listener, stopped at the end."""
    password, keystore_password, key_password = (secrets.token_urlsafe(16) for _ in range(3))
    tls = state / "tls"
    make_certificates(tls, keystore_password, key_password)
    servers = local.Stack(state, kafka_port=local.free_port(pair=True), pg_port=0)
    sasl_port = local.free_port()
    local.start_kafka(
        servers,
        extra=properties(servers.kafka_port, sasl_port, tls, keystore_password, password),
        scram=tuple(f"{m}=[name={USER},password={password}]" for m in ("SCRAM-SHA-256", "SCRAM-SHA-512")),
    )
    try:
        local.wait_port(sasl_port, 30, "Kafka's SASL_SSL listener", state / "kafka" / "kafka.log")
        yield SecureBroker(sasl_port, password, tls / "ca.pem", tls / "client.pem", tls / "client.key", key_password)
    finally:
        local.stop_kafka(servers)
