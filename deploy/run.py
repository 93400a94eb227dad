"""`make run`: the local stack, the services, the demo, then wait for Ctrl-C and stop it all.

KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL, when set, point at an existing Kafka / PostgreSQL: the local
one is then not started (nor stopped)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from deploy import demo, local, processes
from shared import admin
from shared.settings import DEFAULT_PORTS, Settings

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".local" / "run"


def main() -> None:
    stack = local.Stack(STATE)
    own_kafka = "KAFKA_BOOTSTRAP_SERVERS" not in os.environ
    own_postgres = "DATABASE_URL" not in os.environ
    STATE.mkdir(parents=True, exist_ok=True)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", stack.bootstrap_servers),
        "DATABASE_URL": os.environ.get("DATABASE_URL", stack.database_url),
    }
    settings = Settings(kafka_bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"], database_url=env["DATABASE_URL"])
    services: list[processes.ServiceProcess] = []
    try:
        if own_postgres:
            local.start_postgres(stack)
        if own_kafka:
            local.start_kafka(stack)
        admin.migrate(settings)
        asyncio.run(admin.create_topics(settings))
        services = [processes.start(name, env, STATE / "logs") for name in DEFAULT_PORTS]
        processes.wait_ready(services)
        asyncio.run(demo.play(settings, {s.name: s.url for s in services}))
        print("\nRunning (Ctrl-C stops the services, Kafka and PostgreSQL):")
        for s in services:
            print(f"   {s.name:14} {s.url}/docs   {s.url}/asyncapi   log: {s.logfile.relative_to(ROOT)}")
        print(f"   Kafka          {settings.kafka_bootstrap_servers}")
        print(f"   PostgreSQL     {settings.database_url}", flush=True)
        if os.environ.get("PERKSTREAM_DEMO_ONLY"):
            return
        while True:
            signal.pause()  # until Ctrl-C (or SIGTERM) raises KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping...", file=sys.stderr)
        processes.stop(services)
        if own_kafka:
            local.stop_kafka(stack)
        if own_postgres:
            local.stop_postgres(stack)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    # SIGTERM stops everything the same way Ctrl-C does. (Handlers, not a blocked signal mask: a mask
    # would be inherited by the service processes, which would then ignore our SIGTERM.)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # also when started from a shell that ignores it
    main()
