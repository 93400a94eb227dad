"""Writes what machines read of the contract, generated from the code: a JSON Schema per topic payload
(docs/schemas/<topic>.json) and each service's AsyncAPI document (docs/asyncapi/<service>.yaml).

`python -m shared.contract_export` (or `make contract`) writes them; `--check` only says which files
differ from the code (exit 1), as tests/unit/test_contract_export.py does. Never edit those files by
hand: change the models (shared/events/), shared/events/wire.py or an app's subscriptions, then run it."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from shared.events import wire
from shared.runtime import Service

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("memberships", "loyalty", "inventory", "notifications", "wallet", "gateway")
SERVER = "kafka:9092"  # a placeholder: where a deployment's brokers are is its own (KAFKA_BOOTSTRAP_SERVERS)
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
GENERATED = "Generated from shared/events by `python -m shared.contract_export` (make contract); do not edit."


def topic_schema(topic: str, model: type[BaseModel]) -> dict[str, Any]:
    mode = wire.schema_mode(topic)
    schema = model.model_json_schema(mode=mode)
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{topic}.json",
        "$comment": f"{GENERATED} The payload of `{topic}` ({mode} schema of {model.__name__}; "
        f"Kafka key: {wire.key(topic)}).",
        **schema,
    }


class Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # an object met twice is written out twice, never `&id001`
        return True


@cache
def services() -> list[tuple[str, Service]]:
    return [(name, importlib.import_module(f"services.{name}.app").build()) for name in SERVICES]


def topic_models() -> dict[str, type[BaseModel]]:
    """Each topic's model, from the services that consume or publish it."""
    models: dict[str, type[BaseModel]] = {}
    for _, service in services():
        models.update({s.topic: s.model for s in service.subscriptions})
        models.update({topic: model for topic, model, _ in service.published})
    return models


def render() -> dict[Path, str]:
    """Every exported file, path relative to the repository -> its text."""
    files: dict[Path, str] = {}
    for name, service in services():
        doc = service.asyncapi()
        doc["servers"]["kafka"]["host"] = SERVER
        files[Path("docs/asyncapi") / f"{name}.yaml"] = f"# {GENERATED}\n" + yaml.dump(
            doc, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=120
        )
    for topic, model in sorted(topic_models().items()):
        text = json.dumps(topic_schema(topic, model), indent=2, ensure_ascii=False)
        files[Path("docs/schemas") / f"{topic}.json"] = text + "\n"
    return files


def _generated(root: Path, files: dict[Path, str]) -> list[Path]:
    """The files under the export's folders now (each folder holds nothing else)."""
    return sorted(
        p.relative_to(root)
        for folder in {f.parent for f in files}
        for p in (root / folder).glob("*")
        if p.suffix in (".json", ".yaml")
    )


def drift(root: Path = ROOT) -> list[str]:
    """What differs between the committed files and the code: one line per file."""
    files = render()
    problems = []
    for path, text in files.items():
        on_disk = root / path
        if not on_disk.exists():
            problems.append(f"{path}: missing")
        elif on_disk.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: differs from what the code generates")
    problems += [
        f"{p}: no longer generated (a topic or service removed)" for p in _generated(root, files) if p not in files
    ]
    return problems


def write(root: Path = ROOT) -> list[Path]:
    files = render()
    for folder in {p.parent for p in files}:
        (root / folder).mkdir(parents=True, exist_ok=True)
    for stale in _generated(root, files):
        if stale not in files:
            (root / stale).unlink()
    for path, text in files.items():
        (root / path).write_text(text, encoding="utf-8")
    return sorted(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.contract_export", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report files that differ from the code")
    args = parser.parse_args(argv)
    if args.check:
        problems = drift()
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            print("run `make contract` (python -m shared.contract_export) and commit the files", file=sys.stderr)
        return 1 if problems else 0
    for path in write():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
