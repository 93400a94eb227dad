"""What `create-topics` makes of the system's topics: their size limits and their durability (partitions,
replication factor, `min.insync.replicas`, retention), and the drift of existing topics from the settings.

The rule for a topic that exists already (README, "Kafka topics: durability"):
- a setting the topic does not set itself (it follows the broker's default) is set to ours, unless that
  would make it less safe: a shorter retention, a lower `min.insync.replicas`, or one above the topic's
  replication factor (no write with acks=all could succeed);
- a value set on the topic (by an operator, or by an earlier `create-topics`) is never changed: a
  difference is reported, one line per topic and setting;
- partitions are grown to TOPIC_PARTITIONS only when asked (`--grow-partitions`; it moves keys to other
  partitions), never lowered (Kafka cannot); the replication factor is only reported (changing it is a
  partition reassignment: `kafka-reassign-partitions`).
AlterConfigs replaces a topic's whole set of settings, so every change carries the topic's own ones along.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared import topics
from shared.settings import Settings

MAX_MESSAGE_BYTES = "max.message.bytes"  # the topic setting (the broker's own is message.max.bytes)
MIN_ISR = "min.insync.replicas"
RETENTION = "retention.ms"
DYNAMIC_TOPIC_CONFIG = 1  # DescribeConfigs' source of a value set on the topic itself

Configs = dict[str, tuple[str, bool]]  # setting -> (value, set on the topic itself)
Report = Callable[[str], None]


@dataclass(frozen=True)
class Layout:
    partitions: int
    replication_factor: int


def retention_of(settings: Settings, name: str) -> int | None:
    """The retention.ms a topic should have (None: the broker's default)."""
    return settings.topic_dlq_retention_ms if name.endswith(".dlq") else settings.topic_retention_ms


def new_topic(settings: Settings, name: str) -> NewTopic:
    configs = {MAX_MESSAGE_BYTES: str(topics.max_message_bytes(name)), MIN_ISR: str(settings.topic_min_insync_replicas)}
    if (retention := retention_of(settings, name)) is not None:
        configs[RETENTION] = str(retention)
    return NewTopic(
        name,
        num_partitions=settings.topic_partitions,
        replication_factor=settings.topic_replication_factor,
        topic_configs=configs,
    )


def _longer(a: int, b: int) -> bool:
    """Whether retention a keeps messages longer than b (-1: for ever)."""
    return a != b and (a == -1 or (b != -1 and a > b))


def settle(settings: Settings, name: str, layout: Layout, configs: Configs) -> tuple[dict[str, str], list[str]]:
    """The durability settings to set on an existing topic (its own ones not included), and the lines
    that report what differs from the settings and is left as it is. Pure."""
    changes: dict[str, str] = {}
    lines: list[str] = []
    if layout.replication_factor != settings.topic_replication_factor:
        lines.append(
            f"{name}: replication factor {layout.replication_factor}, setting "
            f"{settings.topic_replication_factor} (not changed: reassign its partitions with "
            "kafka-reassign-partitions)"
        )

    min_isr, own = configs.get(MIN_ISR, ("1", False))
    wanted = settings.topic_min_insync_replicas
    if int(min_isr) != wanted or not own:
        if own or int(min_isr) > wanted:
            where = "set on the topic" if own else "broker default"
            lines.append(f"{name}: {MIN_ISR} {min_isr} {where}, setting {wanted} (left as it is)")
        elif wanted > layout.replication_factor:
            lines.append(
                f"{name}: {MIN_ISR} {min_isr} (broker default), setting {wanted} is above the topic's "
                f"replication factor {layout.replication_factor} (not set: no write could succeed)"
            )
        else:
            changes[MIN_ISR] = str(wanted)

    retention = retention_of(settings, name)
    if retention is not None:
        value, own = configs.get(RETENTION, ("604800000", False))
        if int(value) != retention or not own:
            if own:
                lines.append(f"{name}: {RETENTION} {value} set on the topic, setting {retention} (left as it is)")
            elif _longer(int(value), retention):
                lines.append(f"{name}: {RETENTION} {value} (broker default), setting {retention} (never shortened)")
            else:
                changes[RETENTION] = str(retention)
    for key, value in changes.items():
        lines.append(f"{name}: {key} set to {value}")
    return changes, lines


async def settle_topics(
    admin: AIOKafkaAdminClient, settings: Settings, names: list[str], grow_partitions: bool, report: Report
) -> None:
    """Existing topics: partitions grown (when asked), durability settings filled in, drift reported."""
    if not names:
        return
    found = await layouts(admin, names)
    grow: dict[str, NewPartitions] = {}
    for name, configs in (await topic_configs(admin, names)).items():
        layout = found[name]
        if layout.partitions < settings.topic_partitions:
            if grow_partitions:
                grow[name] = NewPartitions(total_count=settings.topic_partitions)
                report(f"{name}: grown from {layout.partitions} to {settings.topic_partitions} partitions")
            else:
                report(
                    f"{name}: {layout.partitions} partitions, setting {settings.topic_partitions} (grow them "
                    "with create-topics --grow-partitions: new messages of a key may go to another partition)"
                )
        elif layout.partitions > settings.topic_partitions:
            report(f"{name}: {layout.partitions} partitions, setting {settings.topic_partitions} (never lowered)")
        changes, lines = settle(settings, name, layout, configs)
        for line in lines:
            report(line)
        if changes:
            await alter(admin, name, configs, changes)
    if grow:
        await admin.create_partitions(grow)


async def layouts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, Layout]:
    found = {}
    for described in await admin.describe_topics(names):
        if described["error_code"]:
            raise RuntimeError(f"topic {described['topic']} could not be described: error {described['error_code']}")
        parts = described["partitions"]
        found[described["topic"]] = Layout(len(parts), min((len(p["replicas"]) for p in parts), default=0))
    return found


async def alter(admin: AIOKafkaAdminClient, name: str, configs: Configs, changes: dict[str, str]) -> None:
    """Set `changes` on a topic, keeping the settings it sets itself (AlterConfigs replaces them all)."""
    own = {key: value for key, (value, set_here) in configs.items() if set_here}
    await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, {**own, **changes})])


async def raise_size_limits(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    """Topics created before the size limits were set (Kafka's default is 1 MiB) get them now, keeping the
    other settings an operator gave them (AlterConfigs replaces a topic's whole set)."""
    for name, configs in (await topic_configs(admin, names)).items():
        wanted = topics.max_message_bytes(name)
        if int(configs.get(MAX_MESSAGE_BYTES, ("0", False))[0]) < wanted:
            await alter(admin, name, configs, {MAX_MESSAGE_BYTES: str(wanted)})


async def topic_configs(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, Configs]:
    """Each topic's settings: the value, and whether it was set on the topic itself (not a default)."""
    if not names:
        return {}
    found: dict[str, Configs] = {}
    for response in await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in names]):
        for error, message, _type, name, entries in response.resources:
            if error:  # e.g. a topic created a moment ago, not known everywhere yet: the caller may retry
                raise RuntimeError(f"the settings of topic {name} could not be read: error {error} {message}")
            # An entry is (name, value, read_only, is_default (v0) | source (v1+), ...).
            found[name] = {
                e[0]: (e[1], not e[3] if response.API_VERSION == 0 else e[3] == DYNAMIC_TOPIC_CONFIG) for e in entries
            }
    return found
