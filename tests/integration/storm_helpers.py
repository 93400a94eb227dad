"""The fault suite's storm (tests/integration/test_faults.py): a stream of visits at a steady pace, and
faults landed on work in flight one after the other (faults_helpers.py tells how a fault is landed
and how it is proven to have found work), each revived process held to replaying its predecessor's."""

from __future__ import annotations

import asyncio
import random
import signal
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka.errors import KafkaError

from deploy import local, processes, scenario
from deploy.kafka_io import Kafka
from tests.integration.conftest import SERVICES, Stack, eventually
from tests.integration.faults_helpers import Gate, InFlight, in_flight, inbox_rows
from tests.integration.proof import metric


async def play_paced(
    kafka: Kafka, visits: Iterable[scenario.Visit], pace: float, until: asyncio.Event, least: int = 0
) -> int:
    """Publishes at `pace` visits a second until `until` is set and `least` are published; answers how
    many it published. What the broker refused while it was down is sent again (a retried send may land
    twice: the inboxes make that harmless), and the pace goes on from there: no burst to catch up."""
    due = time.monotonic()
    sent = 0
    for visit in visits:
        if until.is_set() and sent >= least:
            break
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        due = max(due, time.monotonic() - 1) + 1 / pace
        while True:
            try:
                await scenario.publish(kafka, [visit])
                break
            except KafkaError:
                await asyncio.sleep(0.5)
        sent += 1
    return sent


@dataclass
class Revival:
    """A killed service's new process, starting (`started`), and what it owes: consume at least
    `found.pending` records (its predecessor's uncommitted ones) and count at least `found.applied` of
    them as duplicates."""

    started: asyncio.Task[processes.ServiceProcess]
    found: InFlight


class Storm:
    """The faults, one after the other, each at a random moment of the stream and on work in flight: the
    services killed round after round (each service once a round, so that a revived process has replayed
    its predecessor's work long before it is killed in turn), the broker and the database anywhere."""

    def __init__(self, stack: Stack, kafka: Kafka, rng: random.Random) -> None:
        assert stack.servers is not None
        self.stack, self.servers, self.kafka, self.rng = stack, stack.servers, kafka, rng
        self.revivals: dict[str, Revival] = {}
        self.started = time.monotonic()

    async def run(self) -> list[str]:
        """Answers what was done, when, and what each fault found in flight."""
        rounds = [
            [(kill, s) for s in self.rng.sample(SERVICES, len(SERVICES))]
            for kill in (self.after_commit, self.at_commit)
        ]
        plan = [*rounds[0], *rounds[1]]
        for server in (self.broker_killed, self.database_killed):
            plan.insert(self.rng.randrange(len(plan) + 1), (server, self.rng.choice(SERVICES)))
        done = []
        for fault, service in plan:
            await asyncio.sleep(self.rng.uniform(0.5, 2.0))
            began = time.monotonic()
            found = await fault(service)
            done.append(
                f"{began - self.started:5.1f}s {fault.__name__} {service} ({time.monotonic() - began:.1f}s): {found}"
            )
            print(done[-1], file=sys.stderr, flush=True)  # shown if the test fails later
        for service in SERVICES:
            await self.replayed(service)
        return done

    async def in_flight(self, service: str) -> InFlight:
        return await in_flight(self.stack.settings.kafka_bootstrap_servers, self.stack.settings.database_url, service)

    def gate(self, service: str) -> Gate:
        return Gate(self.stack.settings.database_url, service)

    async def after_commit(self, service: str) -> InFlight:
        """SIGKILL between the database commit and the offset commit: the next process must recognise
        every record of that batch (and any other applied past the committed offsets)."""
        await self.replayed(service)  # the process killed now is the one that replayed the last kill
        process = self.stack.services[service].process
        try:
            async with self.gate(service) as gate:
                backend = await gate.caught()
                process.send_signal(signal.SIGSTOP)
                await gate.open()
                await gate.committed(backend)
                found = await self.in_flight(service)  # frozen: it can commit no offset meanwhile
        finally:
            await asyncio.to_thread(self.stack.kill, service)
        assert found.applied >= 1, f"{service}, killed after its commit, had nothing applied past its offsets: {found}"
        self.revive(service, found)
        return found

    async def at_commit(self, service: str) -> InFlight:
        """SIGKILL while its transaction is at its commit (rolled back): records consumed, uncommitted."""
        await self.replayed(service)
        async with self.gate(service) as gate:
            backend = await gate.caught()
            try:
                found = await self.in_flight(service)  # held: it can commit no offset meanwhile
            finally:
                await asyncio.to_thread(self.stack.kill, service)
                await gate.abort(backend)
        assert found.pending >= 1, f"{service}, killed holding a batch, had nothing past its offsets: {found}"
        self.revive(service, found)
        return found

    async def broker_killed(self, service: str) -> InFlight:
        """SIGKILL of the broker while `service` holds a consumed batch at its commit, which then
        commits with no broker to commit its offsets to; the broker restarts (recovering its logs)."""
        await self.all_ready()
        async with self.gate(service) as gate:
            await gate.caught()
            found = await self.in_flight(service)
            await asyncio.to_thread(local.kill_kafka, self.servers)
            await gate.open()
        assert found.pending >= 1, f"the broker killed while {service} held nothing: {found}"
        await asyncio.to_thread(local.start_kafka, self.servers, 300)
        await self.all_ready()
        return found

    async def database_killed(self, service: str) -> InFlight:
        """SIGKILL of every PostgreSQL process while `service`'s COMMIT is in progress (it never happens:
        the consumer retries its batch once the server is back, after crash recovery), and right after
        another service's COMMIT was acknowledged (it must survive the crash: its offsets may be
        committed already)."""
        await self.all_ready()
        url, other = self.stack.url(service), next(s for s in ("memberships", "loyalty") if s != service)
        retries = await metric(url, "perkstream_batch_retries_total", service=service)
        async with self.gate(service) as held, self.gate(other) as acknowledged:
            await held.caught()
            found = await self.in_flight(service)
            backend = await acknowledged.caught()
            await acknowledged.open()
            await acknowledged.committed(backend)
            stored = await inbox_rows(self.stack.settings.database_url, other)
            await asyncio.to_thread(local.kill_postgres, self.servers)
        assert found.pending >= 1, f"PostgreSQL killed while {service} held nothing: {found}"
        await asyncio.to_thread(local.start_postgres, self.servers)
        survived = await inbox_rows(self.stack.settings.database_url, other)
        assert survived >= stored, f"{other}: {stored - survived} inbox rows committed before the crash are gone"
        await self.all_ready()
        await eventually(
            lambda: metric(url, "perkstream_batch_retries_total", service=service),
            lambda r: r > retries,
            timeout=60,
            what=f"{service} retrying the batch PostgreSQL lost",
        )
        return found

    def revive(self, service: str, found: InFlight) -> None:
        """A new process, started while the storm goes on (the next fault is another service's)."""
        self.revivals[service] = Revival(asyncio.create_task(asyncio.to_thread(self.stack.revive, service)), found)

    async def replayed(self, service: str) -> None:
        """The revived process of `service` has replayed what its predecessor left: once the group has
        committed past every record that was uncommitted at the kill (the process holds partitions only
        once the killed member's session has expired), its own counters say it consumed them all again
        and recognised the ones applied before as duplicates."""
        revival = self.revivals.pop(service, None)
        if revival is None:
            return
        url, found, group = (await revival.started).url, revival.found, f"perkstream.{service}"
        await eventually(
            lambda: self.kafka.committed([group]),
            lambda c: all(c[group].get(tp, 0) >= end for tp, end in found.ends.items()),
            timeout=300,
            what=f"{service}'s new process committing past {found}",
        )
        consumed = await metric(url, "perkstream_messages_consumed_total", service=service)
        duplicates = await metric(url, "perkstream_messages_duplicate_total", service=service)
        assert consumed >= found.pending and duplicates >= found.applied, (
            f"{service}'s new process consumed {consumed:.0f} records and counted {duplicates:.0f} duplicates; "
            f"its predecessor had left {found}"
        )

    async def all_ready(self) -> None:
        await asyncio.gather(*(r.started for r in self.revivals.values()))
        await asyncio.to_thread(processes.wait_ready, list(self.stack.services.values()), 120)
