"""Kafka security: a service, `create-topics` and the outside clients on a broker that takes SASL_SSL only
(tests/integration/secure_kafka.py: TLS with a CA of the test's own, a client certificate required,
SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN users), and the refusals an operator sees: a wrong password or a
broker certificate from another CA stops `create-topics` and the service at once, in one line that names
the user and the mechanism, never the password.

The broker is this module's own (one start, ~20 s); the service runs in a database of its own on the
suite's PostgreSQL, so the suite's PLAINTEXT services never see it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import asyncpg
import certifi
import pytest

from deploy import local, processes
from deploy.kafka_io import Kafka
from shared import admin, db, topics
from shared.kafka import KafkaRefused, client_kwargs
from shared.settings import Settings
from tests.integration.conftest import ROOT, Chain, Stack, new_chain, of_chain
from tests.integration.helpers import ANNA
from tests.integration.inventory_helpers import balances_eventually, operation, product, storage
from tests.integration.secure_kafka import USER, SecureBroker, secure_broker

pytestmark = [pytest.mark.integration]
SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")

WRONG = f"wrong-{uuid.uuid4().hex}"


def settings_of(env: dict[str, str]) -> Settings:
    return Settings(**{k.lower(): v for k, v in env.items()})


@pytest.fixture(scope="module")
def broker(stack: Stack) -> Iterator[SecureBroker]:
    with secure_broker(stack.logdir.parent / "kafka-sasl") as made:
        yield made


@pytest.fixture(scope="module")
def database_url(stack: Stack) -> str:
    """A database of this module's own on the suite's PostgreSQL: the auth and inventory schemas."""
    name = f"perkstream_sasl_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(stack.settings.database_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    url = stack.settings.database_url.rsplit("/", 1)[0] + f"/{name}"
    db.migrate_auth(url)
    db.migrate_service(url, "inventory", ROOT / "services" / "inventory" / "migrations")
    return url


@pytest.fixture(scope="module")
def secure(stack: Stack, broker: SecureBroker, database_url: str) -> Iterator[Stack]:
    """Inventory on SASL_SSL (SCRAM-SHA-512, a client certificate with an encrypted key), its topics made
    by `create-topics` through the same listener."""
    env = {**stack.env(), **broker.env(), "DATABASE_URL": database_url}
    settings = settings_of({"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers, **broker.env()}).model_copy(
        update={"database_url": database_url}
    )
    asyncio.run(admin.create_topics(settings, report=lambda _: None))
    proc = processes.start("inventory", env, stack.logdir, local.free_port())
    running = Stack(settings, {"inventory": proc}, stack.logdir)
    try:
        processes.wait_ready([proc])
        yield running
    finally:
        processes.stop([proc])


@SESSION_LOOP
async def test_a_service_consumes_and_publishes_through_sasl_ssl_with_a_client_certificate(
    secure: Stack, broker: SecureBroker
) -> None:
    chain: Chain = await new_chain(secure)
    await storage(chain, "st-1")
    await product(chain, "prod-oil", min_stock="3")
    await operation(chain, "arrival", "st-1", [{"product_id": "prod-oil", "quantity": 5}])
    visit = chain.event(
        visit_id="v-sasl",
        client=ANNA,
        lines=[
            {
                "kind": "product",
                "item_id": "prod-oil",
                "storage_id": "st-1",
                "quantity": 3,
                "sold": "900",
                "paid": "900",
            }
        ],
    )
    # A booking system on another mechanism (PLAIN) of the same listener.
    booking = client_kwargs(settings_of(broker.env("PLAIN")))
    async with Kafka(broker.bootstrap_servers, booking) as kafka:
        await kafka.publish(topics.VISIT_PAID, visit, key=ANNA["id"])
        await balances_eventually(chain, {("st-1", "prod-oil"): "2"})  # consumed over SASL_SSL
        # ... and what it caused, published by the outbox relay over SASL_SSL.
        [low] = await kafka.read(topics.INVENTORY_STOCK_LOW, of_chain(chain))
    assert low["product_id"] == "prod-oil"


def test_create_topics_with_a_wrong_password_exits_with_one_line_naming_the_user_and_mechanism(
    broker: SecureBroker, database_url: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shared.admin", "create-topics"],
        cwd=ROOT,
        env={**os.environ, **broker.env("SCRAM-SHA-512", WRONG), "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"refused: Kafka at {broker.bootstrap_servers} refused SCRAM-SHA-512 authentication for user {USER!r}: "
        "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
    ]
    assert WRONG not in done.stdout + done.stderr


def test_a_service_with_a_wrong_password_stops_at_start_logging_kafka_auth_failed(
    stack: Stack, broker: SecureBroker, database_url: str
) -> None:
    env = {**stack.env(), **broker.env("PLAIN", WRONG), "DATABASE_URL": database_url}
    proc = processes.start("inventory", env, stack.logdir, local.free_port())
    try:
        code = proc.process.wait(60)
    finally:
        processes.stop([proc])
    log = proc.logfile.read_text(errors="replace")
    assert code != 0, log[-3000:]
    [failed] = [json.loads(line) for line in log.splitlines() if '"kafka_auth_failed"' in line]
    assert (failed["user"], failed["mechanism"], failed["protocol"]) == (USER, "PLAIN", "SASL_SSL")
    assert failed["reason"] == (
        f"Kafka at {broker.bootstrap_servers} refused PLAIN authentication for user {USER!r}: "
        "Authentication failed: Invalid username or password"
    )
    assert WRONG not in log


@SESSION_LOOP
async def test_a_broker_certificate_from_another_ca_is_refused_naming_the_tls_failure(broker: SecureBroker) -> None:
    settings = settings_of({**broker.env(), "KAFKA_SSL_CAFILE": certifi.where()})
    with pytest.raises(KafkaRefused) as refused:
        await admin.create_topics(settings)
    assert str(refused.value).startswith(f"TLS with Kafka at {broker.bootstrap_servers} failed (SASL_SSL): ")
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)
