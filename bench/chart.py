"""The chart of a run (PNG, matplotlib's Agg backend: no display needed): throughput against the
limits, latency per rate, consumer lag over the whole run, and memory and CPU per process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after matplotlib.use: the backend is chosen first
from matplotlib.axes import Axes

from bench.knobs import TARGETS
from bench.load import PhaseResult, Results
from bench.report import ORDER, by_replicas, max_phase, peak_rss

COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red")


def draw(results: Results, path: Path) -> None:
    fig = plt.figure(figsize=(15, 13), layout="constrained")
    grid = fig.add_gridspec(3, 2)
    throughput(fig.add_subplot(grid[0, 0]), results)
    latency(fig.add_subplot(grid[0, 1]), results)
    lag(fig.add_subplot(grid[1, :]), results)
    memory(fig.add_subplot(grid[2, 0]), results)
    cpu(fig.add_subplot(grid[2, 1]), results)
    m = results.machine
    fig.suptitle(
        f"Perkstream bench, {results.knobs.clients:,} clients: {m['cores']} cores ({m['cpu_model']}) shared "
        f"by Kafka, PostgreSQL, the services and the bench; {m['when']}"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def throughput(ax: Axes, results: Results) -> None:
    runs = by_replicas(results)
    lim = results.limits
    labels = [f"ours\n{r} replica(s)\nvisits/s" for r in runs] + [
        "Kafka\nproduce->consume\nmsgs/s",
        "PostgreSQL\n1 msg per tx\ntx/s",
        "PostgreSQL\n100 msgs per tx\nmsgs/s",
    ]
    values = [max_phase(p).visits_per_s for p in runs.values()] + [
        lim.kafka_msgs_per_s,
        lim.pg_tx_per_s,
        lim.pg_batched_msgs_per_s,
    ]
    bars = ax.bar(labels, values, color=[*COLORS[: len(runs)], *["tab:gray"] * 3])
    ax.bar_label(bars, labels=[f"{v:,.0f}" for v in values])
    ax.axhline(TARGETS.visits_per_second, color="tab:red", linestyle="--", label="target (visits/s)")
    ax.set_yscale("log")
    ax.set_title("Throughput: ours (max phase, every effect done) vs the bare limits")
    ax.legend(loc="upper left")


def latency(ax: Axes, results: Results) -> None:
    for color, (replicas, phases) in zip(COLORS, by_replicas(results).items(), strict=False):
        paced = [p for p in phases if p.rate is not None and p.latency_ms]
        rates = [p.rate or 0 for p in paced]
        for q, style in (("p50", ":"), ("p95", "--"), ("p99", "-")):
            ax.plot(
                rates,
                [p.latency_ms[q] for p in paced],
                style,
                marker="o",
                color=color,
                label=f"{replicas} replica(s) {q}",
            )
    ax.plot([TARGETS.p99_at_rate], [TARGETS.p99_ms], "r*", markersize=14, label="target p99")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("offered visits/s")
    ax.set_ylabel("ms, visit.paid -> its last SMS")
    ax.set_title("Latency per fixed rate")
    ax.legend(fontsize=8, ncol=2)


def lag(ax: Axes, results: Results) -> None:
    if not results.lag:
        return
    t0 = results.lag[0][0]
    for group in results.lag[0][1]:
        ax.plot([t - t0 for t, _ in results.lag], [lags[group] for _, lags in results.lag], label=group)
    for i, p in enumerate(results.phases):
        ax.axvspan(
            p.started - t0, p.ended - t0, color=COLORS[(p.replicas - 1) % len(COLORS)], alpha=0.08 + 0.06 * (i % 2)
        )
        ax.text(
            p.started - t0,
            1.0,
            f"{p.replicas}x {p.name}",
            transform=ax.get_xaxis_transform(),
            fontsize=8,
            va="top",
            rotation=90,
        )
    ax.set_xlabel("seconds since the first phase")
    ax.set_ylabel("messages not yet consumed")
    ax.set_title("Consumer lag per group over the run (shaded: each phase, from first publish to last effect)")
    ax.legend(loc="upper right")


def memory(ax: Axes, results: Results) -> None:
    _per_process(ax, results, ORDER[:-1], peak_rss, "MB")
    ax.axhline(TARGETS.rss_mb, color="tab:red", linestyle="--", label="target per service")
    ax.set_title("Peak RSS per process (largest replica; postgres: largest backend)")
    ax.legend()


def cpu(ax: Axes, results: Results) -> None:
    def mean(phases: list[PhaseResult], name: str) -> float:
        usage = max_phase(phases).resources.get(name)
        return usage.cpu_mean if usage else 0.0

    _per_process(ax, results, ORDER, mean, "% of one core")
    ax.axhline(100 * (results.machine["cores"] or 1), color="tab:red", linestyle="--", label="all cores")
    ax.set_title("CPU, mean in the max phase (replicas summed; others: rest of machine)")
    ax.legend()


def _per_process(
    ax: Axes, results: Results, names: tuple[str, ...], value: Callable[[list[PhaseResult], str], float], unit: str
) -> None:
    runs = by_replicas(results)
    width = 0.8 / len(runs)
    for i, (replicas, phases) in enumerate(runs.items()):
        xs = [j + i * width for j in range(len(names))]
        bars = ax.bar(
            xs,
            [value(phases, name) for name in names],
            width,
            color=COLORS[i % len(COLORS)],
            label=f"{replicas} replica(s)",
        )
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_xticks([j + width * (len(runs) - 1) / 2 for j in range(len(names))], names)
    ax.set_ylabel(unit)
