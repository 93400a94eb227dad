"""What the services say they did, from their own /metrics: SQL statements sent (pools and relay), Kafka
messages consumed and published. Read before and after a phase; the difference divided by the phase's
visits is the per-visit cost `make bench` prints next to the CPU each process spent."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.stack import BenchStack

# metric family (without _total) -> the name the report uses
COUNTED = {
    "perkstream_sql_statements": "sql_statements",
    "perkstream_messages_consumed": "kafka_consumed",
    "perkstream_outbox_published": "kafka_published",
}
Snapshot = dict[str, dict[str, float]]  # service -> counted name -> value, replicas summed


async def snapshot(stack: BenchStack) -> Snapshot:
    async with httpx.AsyncClient(timeout=10) as http:
        pages = await asyncio.gather(*(http.get(f"{p.url}/metrics") for p in stack.running))
    found: Snapshot = defaultdict(lambda: dict.fromkeys(COUNTED.values(), 0.0))
    for process, page in zip(stack.running, pages, strict=True):
        for family in text_string_to_metric_families(page.text):
            if (name := COUNTED.get(family.name)) is None:
                continue
            found[process.name][name] += sum(s.value for s in family.samples if s.name.endswith("_total"))
    return dict(found)


def per_visit(before: Snapshot, after: Snapshot, visits: int) -> dict[str, dict[str, float]]:
    return {
        service: {
            name: round((value - before.get(service, {}).get(name, 0.0)) / visits, 2) for name, value in counts.items()
        }
        for service, counts in after.items()
    }


QUOTE_PARTS = "perkstream_quote_part_seconds"  # the gateway's histogram of each part's answer time
Buckets = dict[str, dict[float, float]]  # part -> bucket bound (s) -> answers within it


async def quote_parts(url: str) -> Buckets:
    """The gateway's answered quote parts so far, by part, cumulative per bucket (every outcome)."""
    async with httpx.AsyncClient(timeout=10) as http:
        page = await http.get(f"{url}/metrics")
    found: Buckets = defaultdict(lambda: defaultdict(float))
    for family in text_string_to_metric_families(page.text):
        if family.name == QUOTE_PARTS:
            for s in family.samples:
                if s.name.endswith("_bucket"):
                    found[s.labels["part"]][float(s.labels["le"])] += s.value
    return found


def part_p99_ms(before: Buckets, after: Buckets) -> dict[str, float]:
    """Per part, the bucket bound (ms) that 99% of the phase's answers came within (inf: past the last)."""
    out = {}
    for part, buckets in after.items():
        counts = {le: n - before.get(part, {}).get(le, 0.0) for le, n in sorted(buckets.items())}
        total = counts.get(float("inf"), 0.0)
        if total:
            out[part] = next(le for le, n in counts.items() if n >= 0.99 * total) * 1000
    return out
