"""The container wiring (docker-compose.yml, Dockerfile), checked without Docker.

The dev machines have no Docker engine, so the compose stack is never started by the suite; these tests
keep its shape honest: Kafka in KRaft mode, health-gated start-up order, one image for the four
services, and the contract's ports (docs/contract.md: memberships 8001 ... gateway 8005).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_PORTS = {"memberships": 8001, "loyalty": 8002, "inventory": 8003, "notifications": 8004, "gateway": 8005}


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


def _published_ports(service: dict[str, Any]) -> set[tuple[int, int]]:
    published = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            published.add((int(port["published"]), int(port["target"])))
        else:
            host, _, container = str(port).rpartition(":")
            published.add((int(host.rpartition(":")[2]), int(container.split("/")[0])))
    return published


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
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # `migrate` creates the topics
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert "healthcheck" in kafka


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
    assert (port, port) in _published_ports(service)

    conditions = _conditions(service)
    assert conditions["migrate"] == "service_completed_successfully"
    assert conditions["kafka"] == "service_healthy"


def test_every_dependency_has_a_condition(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for dependency, condition in _conditions(service).items():
            assert condition, f"{name} depends on {dependency} without a condition"
            assert dependency in services, f"{name} depends on an unknown service {dependency}"


def test_the_dockerfile_installs_the_project() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = [
        line.strip() for line in dockerfile.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    assert instructions[0].startswith("FROM python:3.11")
    assert "pip install --no-cache-dir ." in dockerfile
    assert "[dev]" not in dockerfile
    assert any(line.startswith("USER ") and not line.endswith((" root", " 0", " 0:0")) for line in instructions)
    for path in ("pyproject.toml", "shared/", "services/", "deploy/"):
        assert any(line.startswith("COPY") and path in line for line in instructions), path
    assert "HTTP_HOST=0.0.0.0" in dockerfile


def test_the_dockerignore_keeps_local_state_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".local", ".git", "tests"} <= ignored
