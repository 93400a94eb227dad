"""What `make bench` plays, from the environment, and the targets its figures are held against."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class Knobs:
    clients: int = 10_000  # BENCH_CLIENTS: clients of the chain, each with a membership and a card
    visits: int = 20_000  # BENCH_VISITS: visits of the as-fast-as-possible phase
    rates: tuple[int, ...] = (100, 200, 300, 1000)  # BENCH_RATES: visits/s of the fixed-rate phases
    seconds: float = 20  # BENCH_SECONDS: how long each fixed-rate phase publishes
    replicas: tuple[int, ...] = (1, 2)  # BENCH_REPLICAS: processes per service, each count a run of all phases

    @classmethod
    def from_env(cls) -> Knobs:
        env = os.environ
        default = cls()
        return cls(
            clients=int(env.get("BENCH_CLIENTS", default.clients)),
            visits=int(env.get("BENCH_VISITS", default.visits)),
            rates=_ints(env.get("BENCH_RATES", "")) or default.rates,
            seconds=float(env.get("BENCH_SECONDS", default.seconds)),
            # Replicas are only ever added (a second process joins the groups), so the counts go up.
            replicas=tuple(sorted(set(_ints(env.get("BENCH_REPLICAS", ""))))) or default.replicas,
        )


@dataclass(frozen=True)
class Targets:
    """What we aim at; printed as pass/miss next to the figures, never failing the run."""

    visits_per_second: float = 1000  # paid visits per second, every effect done, in the max phase
    p99_ms: float = 250  # visit.paid -> last SMS, 99th percentile ...
    p99_at_rate: int = 200  # ... at this offered rate
    rss_mb: float = 150  # resident memory of each service process, at its peak
    cpu_ms_per_visit: float = 2  # CPU of every process of ours (services, Kafka, PostgreSQL) per visit, max phase
    of_kafka_ceiling: float = 0.5  # the max phase's visits/s over what the bare Kafka loop would allow
    quote_p99_ms: float = 50  # a checkout quote (gateway and its three parts), 99th percentile, in every phase


TARGETS = Targets()
