"""What the shipped Grafana dashboard and Prometheus alert rules (deploy/observability/) ask of the
services' /metrics: the metric names their PromQL uses, read from the files themselves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

DIR = Path(__file__).resolve().parents[1] / "deploy" / "observability"
DASHBOARD = DIR / "grafana-dashboard.json"
ALERTS = DIR / "alerts.yaml"
# Every metric of ours is perkstream_*; PromQL's own functions and keywords never are.
_NAME = re.compile(r"\bperkstream_[a-z0-9_]+\b")
_HISTOGRAM_PARTS = ("_bucket", "_sum", "_count")


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def alerts() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ALERTS.read_text())
    return loaded


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, those inside a collapsed row too."""
    found = []
    for p in board["panels"]:
        found.append(p)
        found += p.get("panels", [])
    return found


def dashboard_exprs() -> list[str]:
    board = dashboard()
    exprs = [t["expr"] for p in panels(board) for t in p.get("targets", [])]
    for variable in board["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            exprs.append(query["query"])
    return exprs


def alert_exprs() -> list[str]:
    return [r["expr"] for g in alerts()["groups"] for r in g["rules"]]


def names_in(expr: str) -> set[str]:
    return set(_NAME.findall(expr))


def used_names() -> set[str]:
    """Each metric the files use, as it is exposed: a histogram's series named by its family (their
    _bucket, _sum and _count come with it), a counter by its ..._total."""
    return {name for expr in dashboard_exprs() + alert_exprs() for name in names_in(expr)}


def family(name: str, exposed: set[str]) -> str:
    """The exposed family a used name belongs to: itself, or the histogram whose part it is."""
    for part in _HISTOGRAM_PARTS:
        if name.endswith(part) and name.removesuffix(part) in exposed:
            return name.removesuffix(part)
    return name


def exposed_types(text: str) -> dict[str, str]:
    """The metric families an exposition declares (`# TYPE <name> <type>`), with or without samples."""
    return {
        parts[2]: parts[3]
        for line in text.splitlines()
        if line.startswith("# TYPE ") and len(parts := line.split()) == 4
    }
