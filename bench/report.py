"""The figures of a run: a table on stdout, the targets as pass/miss, and `bench/results/latest.json`
(plus the chart, bench/chart.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from bench.knobs import TARGETS
from bench.load import PhaseResult, Results
from bench.stack import SERVICES

RESULTS = Path(__file__).resolve().parent / "results"
ORDER = (*SERVICES, "kafka", "postgres", "bench", "others")  # what the resource table lists
NOT_OURS = ("bench", "others")  # not counted in "CPU per visit, all together": the load and the rest of the machine


def by_replicas(results: Results) -> dict[int, list[PhaseResult]]:
    runs: dict[int, list[PhaseResult]] = {}
    for p in results.phases:
        runs.setdefault(p.replicas, []).append(p)
    return runs


def max_phase(phases: list[PhaseResult]) -> PhaseResult:
    return next(p for p in phases if p.rate is None)


def peak_rss(phases: list[PhaseResult], name: str) -> float:
    return max((p.resources[name].peak_rss_mb for p in phases if name in p.resources), default=0.0)


def summary(results: Results) -> dict[int, dict[str, Any]]:
    """Per replica count: the headline figures, their fractions of the limits and the targets' verdicts."""
    out = {}
    for replicas, phases in by_replicas(results).items():
        best = max_phase(phases).visits_per_s
        at_rate = next((p for p in phases if p.rate == TARGETS.p99_at_rate), None)
        p99 = at_rate.latency_ms.get("p99") if at_rate else None
        rss = {name: peak_rss(phases, name) for name in SERVICES}
        top = max_phase(phases)
        cpu_ms = round(sum(f.get("cpu_ms", 0) for name, f in top.per_visit.items() if name not in NOT_OURS), 2)
        of_ceiling = round(best / kafka_ceiling(results, top), 4)
        out[replicas] = {
            "cpu_ms_per_visit": cpu_ms,
            "sql_statements_per_visit": round(
                sum(top.per_visit.get(n, {}).get("sql_statements", 0) for n in SERVICES), 1
            ),
            "of_kafka_ceiling": of_ceiling,
            "visits_per_s": best,
            "of_kafka_msgs_per_s": round(best / results.limits.kafka_msgs_per_s, 4),
            "of_pg_tx_per_s": round(best / results.limits.pg_tx_per_s, 4),
            "of_pg_batched_msgs_per_s": round(best / results.limits.pg_batched_msgs_per_s, 4),
            f"p99_ms_at_{TARGETS.p99_at_rate}": p99,
            "peak_rss_mb": rss,
            "targets": {
                "visits_per_s": best >= TARGETS.visits_per_second,
                "p99_ms": None if p99 is None else p99 <= TARGETS.p99_ms,
                "rss_mb": max(rss.values()) <= TARGETS.rss_mb,
                "cpu_ms_per_visit": cpu_ms <= TARGETS.cpu_ms_per_visit,
                "of_kafka_ceiling": of_ceiling >= TARGETS.of_kafka_ceiling,
            },
        }
    return out


def print_table(results: Results) -> None:
    m, k, lim = results.machine, results.knobs, results.limits
    runs = by_replicas(results)
    print(
        f"\nPerkstream bench: {k.clients:,} clients, {m['cores']} cores ({m['cpu_model']}), "
        f"{m['memory_gb']} GB, load average {m['load_average_before']} before, {m['load_average_after']} after"
    )
    print("\nlimits (same broker and database, nothing of ours in between):")
    print(f"  Kafka produce -> consume, visit.paid           {lim.kafka_msgs_per_s:>9,.0f} msgs/s")
    print(f"  PostgreSQL, 1 insert + 1 update per tx         {lim.pg_tx_per_s:>9,.0f} tx/s")
    print(f"  PostgreSQL, 100 of them per tx                 {lim.pg_batched_msgs_per_s:>9,.0f} msgs/s")
    print("\nphases (visits/s end to end: every effect done; latency: visit.paid -> its last SMS):")
    print(
        f"  {'replicas':>8} {'phase':>7} {'visits':>7} {'published/s':>11} {'visits/s':>9} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    for p in results.phases:
        lat = [f"{p.latency_ms.get(q, 0):>8,.0f}" for q in ("p50", "p95", "p99", "max")]
        print(
            f"  {p.replicas:>8} {p.name:>7} {p.visits:>7,} {p.published_per_s:>11,.0f} {p.visits_per_s:>9,.0f} "
            + " ".join(lat)
        )
    print("\nours (max phase) as a fraction of each limit:")
    for replicas, s in summary(results).items():
        print(
            f"  {replicas} replica(s): {s['visits_per_s']:,.0f} visits/s = {s['of_kafka_msgs_per_s']:.1%} of Kafka's "
            f"msgs/s, {s['of_pg_tx_per_s']:.0%} of PostgreSQL's tx/s, {s['of_pg_batched_msgs_per_s']:.1%} of its "
            f"batched msgs/s"
        )
    print("\nresources per process: peak RSS MB over all phases / CPU % of one core, mean and peak in the max phase")
    print(f"  {'':14}" + "".join(f"{f'{r} replica(s)':>26}" for r in runs))
    for name in ORDER:
        cells = []
        for phases in runs.values():
            usage = max_phase(phases).resources.get(name)
            cpu = f"{usage.cpu_mean:.0f}/{usage.cpu_peak:.0f}" if usage else "-"
            cells.append(f"{peak_rss(phases, name):>10.0f} MB {cpu:>11} %")
        print(f"  {name:14}" + "".join(f"{c:>26}" for c in cells))
    print_quotes(results)
    print_per_visit(results)
    print("\nPostgreSQL backends busy, on average, by what they wait for (CPU: not waiting):")
    for p in results.phases:
        waits = ", ".join(f"{what} {n:.1f}" for what, n in list(p.db_waits.items())[:4])
        print(f"  {p.replicas} replica(s) {p.name:>7}: {waits}")
    print_targets(results)


TIER_SAYS = {
    "dedicated": "on CPU of its own (ahead of the load: as its own pods and a database server not saturated by the "
    "event workers would serve it)",
    "shared": "sharing the two cores with the load",
}


def print_quotes(results: Results) -> None:
    """The checkout quotes asked while each phase played (bench/quotes.py), against the p99 target."""
    target = TARGETS.quote_p99_ms
    print(f"\ncheckout quotes under the load (POST /checkout/quote, gateway + 3 parts; target p99 <= {target:g} ms):")
    tiers = {p.quote_tier for p in results.phases if p.quote_ms}
    if tiers:
        print("  the HTTP tier " + ", ".join(sorted(TIER_SAYS.get(t, t) for t in tiers)) + " (BENCH_HTTP_TIER)")
    print(
        f"  {'replicas':>8} {'phase':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}"
        "       each part's p99 as the gateway timed it (a bucket's bound)"
    )
    for p in results.phases:
        if not p.quote_ms:
            continue
        lat = " ".join(f"{p.quote_ms.get(q, 0):>8,.1f}" for q in ("p50", "p95", "p99", "max"))
        verdict = _verdict(p.quote_ms.get("p99", 0) <= target)
        parts = ", ".join(f"{part} <= {ms:g}" for part, ms in sorted(p.quote_part_p99_ms.items()))
        print(f"  {p.replicas:>8} {p.name:>7} {lat} {p.quote_errors:>7} {verdict:>4}  {parts}")


def kafka_per_visit(phase: PhaseResult) -> tuple[float, float]:
    """Kafka messages one visit needs: produced (its 2 inbound events + every event and notice the services
    published) and consumed (by our consumer groups)."""
    services = [phase.per_visit.get(name, {}) for name in SERVICES]
    return 2 + sum(s.get("kafka_published", 0) for s in services), sum(s.get("kafka_consumed", 0) for s in services)


def kafka_ceiling(results: Results, phase: PhaseResult) -> float:
    """Visits/s the bare Kafka loop would allow: it moves each message once in and once out, a visit
    moves `produced` in and `consumed` out."""
    produced, consumed = kafka_per_visit(phase)
    return results.limits.kafka_msgs_per_s * 2 / max(produced + consumed, 1)


def print_per_visit(results: Results) -> None:
    print("\nper visit in the max phase: CPU ms per process, and what each service did (its own counters)")
    for replicas, phases in by_replicas(results).items():
        best = max_phase(phases)
        print(
            f"  {replicas} replica(s){'':5} {'CPU ms':>8} {'SQL statements':>15} {'Kafka consumed':>15} "
            f"{'published':>10}"
        )
        total_cpu = 0.0
        for name in ORDER:
            figures = best.per_visit.get(name)
            if not figures:
                continue
            total_cpu += figures.get("cpu_ms", 0) if name not in NOT_OURS else 0
            counted = (
                f"{figures['sql_statements']:>15.1f} {figures['kafka_consumed']:>15.1f} "
                f"{figures['kafka_published']:>10.1f}"
                if "sql_statements" in figures
                else ""
            )
            print(f"  {name:19} {figures.get('cpu_ms', 0):>8.2f} {counted}")
        sql = sum(best.per_visit.get(n, {}).get("sql_statements", 0) for n in SERVICES)
        print(f"  {'ours, all together':19} {total_cpu:>8.2f} {sql:>15.1f}   (target: <= 2 ms of CPU per visit)")
        produced, consumed = kafka_per_visit(best)
        ceiling = kafka_ceiling(results, best)
        print(
            f"  Kafka: {produced:.1f} messages produced and {consumed:.1f} consumed per visit; the bare loop's "
            f"{results.limits.kafka_msgs_per_s:,.0f} msgs/s allow {ceiling:,.0f} visits/s; ours "
            f"{best.visits_per_s:,.0f} = {best.visits_per_s / ceiling:.0%} of it (target: >= 50%)"
        )


def print_targets(results: Results) -> None:
    t = TARGETS
    print("\ntargets (figures to watch: a miss never fails the run):")
    for replicas, s in summary(results).items():
        verdict = s["targets"]
        p99 = s[f"p99_ms_at_{t.p99_at_rate}"]
        rss = max(s["peak_rss_mb"].values())
        print(
            f"  {replicas} replica(s): >= {t.visits_per_second:,.0f} visits/s: {s['visits_per_s']:,.0f} "
            f"{_verdict(verdict['visits_per_s'])}; p99 <= {t.p99_ms:.0f} ms at {t.p99_at_rate}/s: "
            f"{'not played' if p99 is None else f'{p99:,.0f} ms'} {_verdict(verdict['p99_ms'])}; "
            f"RSS <= {t.rss_mb:.0f} MB: {rss:.0f} MB {_verdict(verdict['rss_mb'])}; "
            f"CPU <= {t.cpu_ms_per_visit:g} ms per visit: {s['cpu_ms_per_visit']:.1f} "
            f"{_verdict(verdict['cpu_ms_per_visit'])}; >= {t.of_kafka_ceiling:.0%} of the Kafka ceiling: "
            f"{s['of_kafka_ceiling']:.0%} {_verdict(verdict['of_kafka_ceiling'])}"
        )


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else ("PASS" if ok else "MISS")


def write_json(results: Results, path: Path) -> None:
    doc = dataclasses.asdict(results)
    doc["summary"] = summary(results)
    doc["targets"] = dataclasses.asdict(TARGETS)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n")
