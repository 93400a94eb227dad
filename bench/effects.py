"""Whether a phase's visits are done: their effects counted in each service's schema, and their notices
read off `notification.sms`, each tied to its visit by the `traceparent` the bench set on the visit's
messages (the services carry it to every event and notice a message causes)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer

from deploy.scenario import Visit
from shared import topics
from shared.uow import TRACEPARENT


def traceparent(visit_id: str) -> bytes:
    """A W3C traceparent whose trace id is the visit's own (deterministic, so a rerun traces alike)."""
    digest = hashlib.sha256(visit_id.encode()).hexdigest()
    return f"00-{digest[:32]}-{digest[32:48]}-01".encode()


def _trace_id(header: bytes) -> bytes:
    return header.split(b"-")[1] if header.count(b"-") == 3 else b""


@dataclass
class Traced:
    """One visit: when its visit.paid was stamped, and its notices as they arrive."""

    required: frozenset[str]
    paid_ms: int = 0
    notices: dict[str, int] = field(default_factory=dict)  # notification id -> record timestamp (ms)


@dataclass
class PhaseTraces:
    visits: dict[str, Traced]
    required: int  # notices of the types every visit causes
    required_seen: int = 0
    seen: int = 0  # every notice of these visits (activation, discount, level notices too)

    def latencies_ms(self) -> list[float]:
        """visit.paid stamped -> its last notice stamped, per visit with notices."""
        return [max(v.notices.values()) - v.paid_ms for v in self.visits.values() if v.notices and v.paid_ms]


class Notices:
    """Reads notification.sms from the moment it starts, for the whole run."""

    def __init__(self, bootstrap_servers: str, security: dict[str, Any] | None = None) -> None:
        # No group: started with its topic, it is given every partition at once.
        self.consumer = AIOKafkaConsumer(
            topics.NOTIFICATION_SMS,
            bootstrap_servers=bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            **(security or {}),
        )
        self._by_trace: dict[bytes, tuple[PhaseTraces, Traced]] = {}
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Notices:
        await self.consumer.start()
        await self.consumer.seek_to_end()
        for tp in self.consumer.assignment():  # pins the end now, before any visit is published
            await self.consumer.position(tp)
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.stop()

    def expect(self, visits: list[Visit]) -> tuple[PhaseTraces, dict[str, list[tuple[str, bytes]]]]:
        """Registers a phase's visits; answers their traces and the headers to publish them with."""
        phase = PhaseTraces({}, sum(v.notices for v in visits))
        headers = {}
        for v in visits:
            header = traceparent(v.visit_id)
            phase.visits[v.visit_id] = traced = Traced(frozenset(v.notice_types))
            self._by_trace[_trace_id(header)] = (phase, traced)
            headers[v.visit_id] = [(TRACEPARENT, header)]
        return phase, headers

    async def _read(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batch.values():
                for r in records:
                    header = dict(r.headers or ()).get(TRACEPARENT)
                    found = self._by_trace.get(_trace_id(header)) if header else None
                    if found is None:
                        continue
                    phase, traced = found
                    notice = json.loads(r.value)
                    if notice["notification_id"] in traced.notices:
                        continue  # the relay publishes at least once: a copy is the same notice
                    traced.notices[notice["notification_id"]] = r.timestamp
                    phase.seen += 1
                    phase.required_seen += notice["type"] in traced.required


@dataclass
class Mark:
    """Where each service's effects stood when a phase began."""

    deduction_id: int
    transaction_id: int
    notices: dict[str, int]  # by type


@dataclass
class Counts:
    deductions: int = 0
    accruals: int = 0
    operations: int = 0
    notices: int = 0  # of the types every visit causes
    all_notices: int = 0


class Effects:
    """Counts a phase's effects in the chain, with queries cheap enough to repeat while the services
    work: rows past a high-water mark of a serial key, or a key range of an index. Only the notices are
    counted by a scan of the chain's notices, once at each end of a phase."""

    def __init__(self, pool: asyncpg.Pool, chain_id: str) -> None:
        self.pool = pool
        self.chain_id = chain_id

    async def mark(self) -> Mark:
        return Mark(
            await self.pool.fetchval("SELECT coalesce(max(id), 0) FROM memberships.membership_history"),
            await self.pool.fetchval("SELECT coalesce(max(id), 0) FROM loyalty.card_transactions"),
            await self._notices_by_type(),
        )

    async def _notices_by_type(self) -> dict[str, int]:
        rows = await self.pool.fetch(
            "SELECT type, count(*) AS n FROM notifications.notices WHERE chain_id = $1 GROUP BY type", self.chain_id
        )
        return {r["type"]: r["n"] for r in rows}

    async def deductions(self, mark: Mark) -> int:
        return int(
            await self.pool.fetchval(
                "SELECT count(*) FROM memberships.membership_history WHERE id > $2 AND chain_id = $1 "
                "AND kind = 'deduction'",
                self.chain_id,
                mark.deduction_id,
            )
        )

    async def accruals(self, mark: Mark) -> int:
        return int(
            await self.pool.fetchval(
                "SELECT count(*) FROM loyalty.card_transactions WHERE id > $2 AND chain_id = $1 AND kind = 'accrual'",
                self.chain_id,
                mark.transaction_id,
            )
        )

    async def operations(self, visits: list[Visit]) -> int:
        # Visit ids are zero-padded numbers, so a phase's operations are one range of (chain_id, source).
        return int(
            await self.pool.fetchval(
                "SELECT count(*) FROM inventory.operations WHERE chain_id = $1 AND source BETWEEN $2 AND $3",
                self.chain_id,
                f"visit:{visits[0].visit_id}",
                f"visit:{visits[-1].visit_id}",
            )
        )

    async def notices(self, mark: Mark, required: set[str]) -> tuple[int, int]:
        """Notices recorded since the mark: of the `required` types, and of every type."""
        now = await self._notices_by_type()
        grown = {t: n - mark.notices.get(t, 0) for t, n in now.items()}
        return sum(n for t, n in grown.items() if t in required), sum(grown.values())
