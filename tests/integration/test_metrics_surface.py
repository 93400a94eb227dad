"""What an operator alerts on is really served: every metric the shipped dashboard and alert rules use
(deploy/observability/) is on the services' /metrics, and one visit's path shows in them with labels an
operator can read: the consumer group's lag per partition, the outbox's backlog and age, the relay's
leader, dead letters held, notices by status, HTTP requests by route template, scheduled jobs' runs."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploy import processes
from deploy.kafka_io import Kafka
from shared import topics
from tests import observability_files as files
from tests.integration.conftest import Chain, Stack, eventually, of_chain, publish
from tests.integration.notifications_helpers import ANNA, deducted, notices_eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

Sample = tuple[str, dict[str, str], float]


async def exposition(url: str) -> str:
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.get(f"{url}/metrics")
    r.raise_for_status()
    return r.text


async def samples(url: str, name: str) -> list[Sample]:
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(await exposition(url))
        for s in family.samples
        if s.name == name
    ]


def total(found: list[Sample], **labels: str) -> float:
    return sum(v for _, got, v in found if all(got.get(k) == want for k, want in labels.items()))


async def test_every_metric_the_dashboard_and_alerts_use_is_served(stack: Stack, gateway: str) -> None:
    served: dict[str, set[str]] = {}
    for service, url in stack.urls().items():
        for name in files.exposed_types(await exposition(url)):
            served.setdefault(name, set()).add(service)
    used = files.used_names()
    assert used, "the dashboard and alerts use no perkstream_ metric"
    missing = sorted(name for name in used if files.family(name, set(served)) not in served)
    assert not missing, f"used by deploy/observability, on no service's /metrics: {missing}"


async def test_one_visit_shows_in_the_lag_outbox_dead_letter_notice_and_http_metrics(
    chain: Chain, kafka: Kafka, stack: Stack
) -> None:
    url = stack.url("notifications")
    # A deduction becomes an SMS notice (queued, published); the aggregator answers that it failed.
    await publish(kafka, topics.MEMBERSHIP_DEDUCTED, deducted(chain))
    [sms] = await kafka.read(topics.NOTIFICATION_SMS, of_chain(chain))
    receipt = {"notification_id": sms["notification_id"], "status": "failed", "at": datetime.now(UTC).isoformat()}
    await kafka.publish(topics.NOTIFICATION_DELIVERY, {**receipt, "error": "unreachable"}, key=ANNA["id"])
    await notices_eventually(chain, lambda ns: ns and ns[0]["status"] == "failed")
    # A receipt for a notice nobody sent: a dead letter on notification.delivery.dlq.
    stray = {"notification_id": str(uuid.uuid4()), "status": "delivered", "at": datetime.now(UTC).isoformat()}
    await kafka.publish(topics.NOTIFICATION_DELIVERY, stray, key=ANNA["id"])
    await kafka.read(
        topics.dlq(topics.NOTIFICATION_DELIVERY), lambda m: m.get("notification_id") == stray["notification_id"]
    )

    # Notices by status: counted as they entered it.
    notices = await samples(url, "perkstream_notices_total")
    assert total(notices, channel="sms", status="queued") >= 1
    assert total(notices, channel="sms", status="failed") >= 1

    # The consumer group's lag, per partition of every topic the service consumes, read from the broker
    # by the relay leader: all consumed (0) once it has read past the offsets just committed.
    consumed = {topics.MEMBERSHIP_DEDUCTED, topics.NOTIFICATION_DELIVERY}

    async def lag() -> list[Sample]:
        return await samples(url, "perkstream_consumer_lag")

    def caught_up(found: list[Sample]) -> bool:
        return consumed <= {labels["topic"] for _, labels, _ in found} and not total(
            found, topic=topics.NOTIFICATION_DELIVERY
        )

    found = await eventually(lag, caught_up, timeout=60, what="the group's lag read, 0 on notification.delivery")
    for _, labels, value in found:
        assert labels["service"] == "notifications" and labels["group"] == "perkstream.notifications", labels
        assert labels["partition"].isdigit() and value >= 0, labels
    partitions = {(labels["topic"], labels["partition"]) for _, labels, _ in found}
    assert len(partitions) == len(found)  # one series per partition
    assert len({p for t, p in partitions if t == topics.MEMBERSHIP_DEDUCTED}) == stack.settings.topic_partitions

    # Dead letters held, and when the broker was last read.
    depth = await eventually(
        lambda: samples(url, "perkstream_dlq_depth"),
        lambda found: total(found, topic=topics.dlq(topics.NOTIFICATION_DELIVERY)) >= 1,
        timeout=60,
        what="the dead letter counted in notification.delivery.dlq",
    )
    assert all(labels["service"] == "notifications" and labels["topic"].endswith(".dlq") for _, labels, _ in depth)
    [(_, _, collected)] = await samples(url, "perkstream_kafka_collected_timestamp_seconds")
    assert time.time() - 120 < collected <= time.time() + 5

    # The outbox: this process leads the relay; everything it recorded is published (0 rows, age 0).
    assert total(await samples(url, "perkstream_outbox_leader"), service="notifications") == 1
    backlog = await eventually(
        lambda: samples(url, "perkstream_outbox_backlog_rows"),
        lambda found: len(found) == 1 and found[0][2] == 0,
        timeout=30,
        what="an empty outbox counted",
    )
    assert backlog[0][1] == {"service": "notifications"}
    assert [labels for _, labels, _ in await samples(url, "perkstream_outbox_lag_seconds")] == [
        {"service": "notifications"}
    ]

    # HTTP: by route template, never the raw path (no chain id, no notice id in any label).
    async with chain.client("notifications") as http:
        assert (await http.get("/no-such-resource")).status_code == 404
    text = await exposition(url)
    assert chain.id not in text and sms["notification_id"] not in text
    requests = await samples(url, "perkstream_http_requests_total")
    route = "/v1/chains/{chain_id}/notifications"
    assert total(requests, service="notifications", method="GET", route=route, status="200") >= 1
    assert total(requests, service="notifications", method="GET", route="<unmatched>", status="404") >= 1
    latency = await samples(url, "perkstream_http_request_seconds_count")
    assert total(latency, service="notifications", method="GET", route=route) >= 1


async def test_scheduled_jobs_report_their_runs(stack: Stack) -> None:
    started = time.time()
    replica = stack.start_replica("memberships", JOBS_ENABLED="true", JOBS_INTERVAL_SECONDS="1")
    try:
        runs = await eventually(
            lambda: samples(replica.url, "perkstream_job_runs_total"),
            # Completed runs (chains_failed too: another test's chain may hold bad data on purpose).
            lambda found: total(found, outcome="ok") + total(found, outcome="chains_failed") >= 2,
            timeout=60,
            what="scheduled runs counted",
        )
        jobs = {labels["job"] for _, labels, _ in runs}
        assert jobs and all(labels["service"] == "memberships" for _, labels, _ in runs)
        intervals = await samples(replica.url, "perkstream_job_interval_seconds")
        assert {labels["job"] for _, labels, _ in intervals} >= jobs and {v for _, _, v in intervals} == {1.0}
        successes = await samples(replica.url, "perkstream_job_last_success_timestamp_seconds")
        assert successes and all(started <= v <= time.time() + 1 for _, _, v in successes)
        durations = await samples(replica.url, "perkstream_job_run_seconds_count")
        assert total(durations, service="memberships") >= 2
    finally:
        processes.stop([replica])
