"""Landing a fault on work in flight, and proving that it landed there.

A process killed at a random moment is most often between two batches: nothing of its is lost or
replayed, and the kill proves little. The fault suite instead catches a service's consumer at its
database commit (`Gate`) and kills it there:

- after the commit, before the offset commit: the gate holds the consumer's COMMIT inside PostgreSQL,
  the test freezes the process (SIGSTOP), lets the COMMIT finish (the server finishes it without the
  client), and kills the frozen process. Its batch is stored, its offsets are not: the next process must
  replay those records and recognise every one of them (`InFlight.applied`: how many, read from the
  inbox and the group's committed offsets while the process is frozen);
- before the commit: the process is killed while its COMMIT is held, and its transaction is ended as
  PostgreSQL ends one whose client is gone (rolled back). Its records were consumed, not applied, not
  committed (`InFlight.pending`): the next process must apply them.

The gate is a deferred constraint trigger on the service's inbox (every consumer transaction claims inbox
keys) that takes a shared advisory lock at COMMIT; the test closes the gate by holding that lock
exclusively. While the gate is open the trigger costs a lock taken and released per inbox row.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from types import TracebackType

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from tests.integration.conftest import SERVICES

GATE = 7031  # the advisory lock's first key; the second is the service's index in SERVICES


async def install_gates(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"""
            CREATE OR REPLACE FUNCTION public.perkstream_fault_gate() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock_shared({GATE}, TG_ARGV[0]::int);
                RETURN NULL;
            END $$""")
        for i, service in enumerate(SERVICES):
            await conn.execute(f"""
                CREATE CONSTRAINT TRIGGER perkstream_fault_gate AFTER INSERT ON {service}.inbox
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.perkstream_fault_gate('{i}')""")
    finally:
        await conn.close()


async def remove_gates(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for service in SERVICES:
            await conn.execute(f"DROP TRIGGER IF EXISTS perkstream_fault_gate ON {service}.inbox")
        await conn.execute("DROP FUNCTION IF EXISTS public.perkstream_fault_gate()")
    finally:
        await conn.close()


class Gate:
    """Closed while in use: the next consumer transaction of `service` that commits waits at its COMMIT.

    async with Gate(url, "loyalty") as gate:
        backend = await gate.caught()   # the PostgreSQL backend whose COMMIT waits
        ...                             # freeze or kill the process
        await gate.open()               # the COMMIT goes on
    """

    def __init__(self, database_url: str, service: str) -> None:
        self.database_url = database_url
        self.service = service
        self.key = SERVICES.index(service)
        self.conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> Gate:
        self.conn = await asyncpg.connect(self.database_url)
        await self.conn.execute("SELECT pg_advisory_lock($1, $2)", GATE, self.key)
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.conn is not None:
            self.conn.terminate()  # its session lock goes with it (and PostgreSQL may be gone)

    async def caught(self, timeout: float = 120) -> int:
        """The pid of the backend whose COMMIT waits at the gate."""
        assert self.conn is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = await self.conn.fetchval(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1 "
                "AND objid = $2 AND objsubid = 2",
                GATE,
                self.key,
            )
            if pid is not None:
                return int(pid)
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {self.service} transaction reached its commit within {timeout}s")

    async def open(self) -> None:
        assert self.conn is not None
        await self.conn.execute("SELECT pg_advisory_unlock($1, $2)", GATE, self.key)

    async def committed(self, backend: int, timeout: float = 30) -> None:
        """Waits until `backend`'s transaction is over (its COMMIT done)."""
        assert self.conn is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.conn.fetchval(
                "SELECT backend_xid IS NULL AND state = 'idle' FROM pg_stat_activity WHERE pid = $1", backend
            ):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{self.service}'s transaction at the gate did not end within {timeout}s")

    async def abort(self, backend: int) -> None:
        """Ends `backend` (its transaction rolled back), as PostgreSQL does once it sees its client gone."""
        assert self.conn is not None
        await self.conn.execute("SELECT pg_terminate_backend($1, 10000)", backend)


@dataclass(frozen=True)
class InFlight:
    """A consumer group's work not done, as a crash of its process at this moment leaves it."""

    pending: int  # records past the group's committed offsets (its lag)
    applied: int  # of those, records the service has applied already (their event key is in its inbox)
    outbox: int  # rows in the service's outbox, not published yet
    ends: dict[TopicPartition, int] = field(repr=False)  # where those records end, on each partition

    def __str__(self) -> str:
        return f"{self.pending} records uncommitted, {self.applied} of them applied, {self.outbox} outbox rows"


async def in_flight(bootstrap_servers: str, database_url: str, service: str) -> InFlight:
    """What the group of `service` has not committed, and what of it the service has applied: read while
    its process cannot commit anything (frozen, dead, or held at the gate)."""
    group = f"perkstream.{service}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    keys: set[tuple[str, str]] = set()
    pending, behind = 0, {}
    try:
        committed = {
            tp: m.offset for tp, m in (await admin.list_consumer_group_offsets(group)).items() if m.offset >= 0
        }
        # A partition the group has never committed (its first records are the batch in flight: a consumer
        # commits the partitions of its batches only) is pending from its beginning, where a new member
        # would start (auto_offset_reset=earliest).
        never = [tp for tp in await _assigned(admin, group) if tp not in committed]
        if never:
            committed.update(await consumer.beginning_offsets(never))
        ends = await consumer.end_offsets(list(committed))
        behind = {tp: (committed[tp], end) for tp, end in ends.items() if end > committed[tp]}
        pending = sum(end - start for start, end in behind.values())
        if behind:
            consumer.assign(list(behind))
            for tp, (start, _) in behind.items():
                consumer.seek(tp, start)
            left = dict(behind)
            while left:
                batch = await consumer.getmany(*left, timeout_ms=1000)
                for tp, records in batch.items():
                    for r in records:
                        key = _event_key(r.value)
                        if key is not None and r.offset < left.get(tp, (0, 0))[1]:
                            keys.add(key)
                    if records and records[-1].offset + 1 >= left.get(tp, (0, 0))[1]:
                        left.pop(tp, None)
    finally:
        await consumer.stop()
        await admin.close()
    conn = await asyncpg.connect(database_url)
    try:
        applied = await conn.fetchval(
            f"SELECT count(*) FROM {service}.inbox i JOIN unnest($1::text[], $2::text[]) AS t(c, k) "
            "ON i.chain_id = t.c AND i.key = t.k",
            [c for c, _ in keys],
            [k for _, k in keys],
        )
        outbox = await conn.fetchval(f"SELECT count(*) FROM {service}.outbox")
    finally:
        await conn.close()
    return InFlight(pending, int(applied), int(outbox), {tp: end for tp, (_, end) in behind.items()})


async def _assigned(admin: AIOKafkaAdminClient, group: str) -> set[TopicPartition]:
    """The partitions the group's members hold now."""
    [response] = await admin.describe_consumer_groups([group])
    [described] = response.groups
    return {
        tp
        for member in described[5]
        if member[4]
        for tp in ConsumerProtocolMemberAssignment.decode(member[4]).partitions()
    }


def _event_key(value: bytes | None) -> tuple[str, str] | None:
    """(chain_id, `event:<event_id>`): the inbox key every applied record leaves."""
    try:
        event = json.loads(value or b"")
        return str(event["chain_id"]), f"event:{event['event_id']}"
    except (ValueError, KeyError, TypeError):
        return None


async def inbox_rows(database_url: str, service: str) -> int:
    """How many inbox rows `service` has (the pruner deletes none younger than days: they only grow)."""
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {service}.inbox"))
    finally:
        await conn.close()
