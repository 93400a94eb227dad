"""What `create-topics` sets on an existing topic and what it only reports (shared/topic_admin.settle)."""

import pytest
from pydantic import ValidationError

from shared.settings import Settings
from shared.topic_admin import Layout, new_topic, settle

DAY = 86_400_000
BROKER_WEEK = ("604800000", False)


def configs(min_isr: tuple[str, bool] = ("1", False), retention: tuple[str, bool] = BROKER_WEEK) -> dict:
    return {"min.insync.replicas": min_isr, "retention.ms": retention, "cleanup.policy": ("delete", False)}


def test_a_new_dead_letter_topic_keeps_90_days_and_a_plain_one_the_brokers_default() -> None:
    settings = Settings(topic_replication_factor=3, topic_min_insync_replicas=2)
    dlq, plain = new_topic(settings, "visit.paid.dlq"), new_topic(settings, "visit.paid")
    assert (dlq.replication_factor, dlq.topic_configs["retention.ms"]) == (3, str(90 * DAY))
    assert dlq.topic_configs["min.insync.replicas"] == "2"
    assert "retention.ms" not in plain.topic_configs


def test_a_min_isr_above_the_topics_replicas_is_never_set() -> None:
    settings = Settings(topic_replication_factor=3, topic_min_insync_replicas=2)
    changes, lines = settle(settings, "visit.paid", Layout(6, 1), configs())
    assert "min.insync.replicas" not in changes
    assert "visit.paid: replication factor 1, setting 3" in lines[0]
    assert "above the topic's replication factor 1" in lines[1]
    changes, _ = settle(settings, "visit.paid", Layout(6, 3), configs())
    assert changes == {"min.insync.replicas": "2"}


def test_a_broker_default_safer_than_the_setting_is_left() -> None:
    settings = Settings(topic_retention_ms=2 * DAY)
    changes, lines = settle(settings, "visit.paid", Layout(6, 1), configs(min_isr=("2", False)))
    assert changes == {}
    assert lines == [
        "visit.paid: min.insync.replicas 2 broker default, setting 1 (left as it is)",
        f"visit.paid: retention.ms 604800000 (broker default), setting {2 * DAY} (never shortened)",
    ]


@pytest.mark.parametrize(
    ("broker", "setting", "changed"),
    [
        ("604800000", -1, True),  # for ever is longer than a week
        ("-1", 90 * DAY, False),  # a broker that keeps everything is not shortened
        (str(90 * DAY), 90 * DAY, True),  # equal: pinned on the topic (a later broker default does not move it)
    ],
)
def test_dead_letter_retention_is_filled_in_only_when_not_shorter(broker: str, setting: int, changed: bool) -> None:
    changes, _ = settle(
        Settings(topic_dlq_retention_ms=setting),
        "x.dlq",
        Layout(6, 1),
        configs(min_isr=("1", True), retention=(broker, False)),
    )
    assert changes == ({"retention.ms": str(setting)} if changed else {})


def test_a_value_set_on_the_topic_is_reported_never_changed() -> None:
    changes, lines = settle(Settings(), "x.dlq", Layout(6, 1), configs(min_isr=("1", True), retention=(str(DAY), True)))
    assert changes == {}
    assert lines == [f"x.dlq: retention.ms {DAY} set on the topic, setting {90 * DAY} (left as it is)"]


@pytest.mark.parametrize(
    "env",
    [
        {"topic_min_insync_replicas": 2},
        {"topic_dlq_retention_ms": 604800},
        {"topic_retention_ms": 0},
        {"topic_partitions": 0},
    ],
)
def test_settings_out_of_bounds_are_refused(env: dict) -> None:
    with pytest.raises(ValidationError):
        Settings(**env)
