"""The shipped Prometheus alert rules and Grafana dashboard (deploy/observability/): their shape, and that
every metric they use is one the services define (tests/integration/test_metrics_surface.py checks the
running services' /metrics)."""

from __future__ import annotations

import re

import prometheus_client
import pytest

import shared.metrics  # noqa: F401  (registers the services' metrics)
from tests import observability_files as files

DURATION = re.compile(r"^\d+[smhdw]$")


def defined() -> dict[str, str]:
    """The registry's families as /metrics exposes them (name -> type)."""
    return files.exposed_types(prometheus_client.generate_latest().decode())


def test_the_alert_rules_are_prometheus_rule_groups() -> None:
    doc = files.alerts()
    assert set(doc) == {"groups"}
    names = [g["name"] for g in doc["groups"]]
    assert len(names) == len(set(names)) and names
    alerts = []
    for group in doc["groups"]:
        assert set(group) <= {"name", "interval", "rules"}, group["name"]
        assert group["rules"], group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert re.fullmatch(r"Perkstream[A-Z][A-Za-z]+", rule["alert"]), rule["alert"]
            assert isinstance(rule["expr"], str) and files.names_in(rule["expr"]), rule["alert"]
            assert DURATION.match(rule["for"]), rule["alert"]
            assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
            assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
            alerts.append(rule["alert"])
    assert len(alerts) == len(set(alerts))
    # What the issue asks to be alerted on, at least.
    wanted = {
        "PerkstreamConsumerLagGrowing": "perkstream_consumer_lag",
        "PerkstreamOutboxOld": "perkstream_outbox_lag_seconds",
        "PerkstreamDeadLetters": "perkstream_messages_dlq_total",
        "PerkstreamNoticeDeliveriesFailing": "perkstream_notices_total",
        "PerkstreamRelayLeaderMissing": "perkstream_outbox_leader",
        "PerkstreamJobNotSucceeding": "perkstream_job_last_success_timestamp_seconds",
        "PerkstreamHttpErrors": "perkstream_http_requests_total",
    }
    exprs = {r["alert"]: r["expr"] for g in doc["groups"] for r in g["rules"]}
    for alert, metric in wanted.items():
        assert metric in files.names_in(exprs[alert]), alert


def test_the_dashboard_is_a_grafana_dashboard_with_a_datasource_variable() -> None:
    board = files.dashboard()
    assert board["title"] and board["uid"] and isinstance(board["schemaVersion"], int)
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    ids = []
    for panel in files.panels(board):
        ids.append(panel["id"])
        grid = panel["gridPos"]
        assert set(grid) == {"h", "w", "x", "y"} and 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            assert files.names_in(target["expr"]), (panel["title"], target["expr"])
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_metric_used_is_defined(source: str) -> None:
    exprs = files.dashboard_exprs() if source == "dashboard" else files.alert_exprs()
    used = {name for expr in exprs for name in files.names_in(expr)}
    types = defined()
    missing = sorted(name for name in used if files.family(name, set(types)) not in types)
    assert not missing, f"{source} uses metrics no service defines: {missing}"
    # A histogram is used through its parts; a counter through its _total.
    for name in used:
        found = files.family(name, set(types))
        if found != name:
            assert types[found] == "histogram", name
        if types[found] == "histogram":
            assert name != found, f"{name} is a histogram: use its _bucket, _sum or _count"


def test_the_metric_names_of_a_promql_expression_are_found() -> None:
    expr = 'sum by (le) (rate(perkstream_http_request_seconds_bucket{route=~"/v1/.*"}[5m])) / time()'
    assert files.names_in(expr) == {"perkstream_http_request_seconds_bucket"}
    assert files.family("perkstream_http_request_seconds_bucket", {"perkstream_http_request_seconds"}) == (
        "perkstream_http_request_seconds"
    )
