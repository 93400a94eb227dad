"""The inbox: what a service has applied, by idempotency key, for as long as its replay window.

Each applied record claims `event:<event_id>` (with the digest of its validated payload) and its
subscription's business keys (`visit.paid:<visit_id>`...), per chain. A record whose keys are taken is a
duplicate and changes nothing, except one whose `event_id` was claimed by a *different* payload: that is
a reused event id, dead-lettered as `event_id_reused` rather than dropped unseen.

Rows older than INBOX_RETENTION_DAYS (14 by default, twice Kafka's default retention of 7 days: whatever
Kafka can still redeliver is still recognised) are deleted by `InboxPruner`, a bounded number per round,
in short batches. A message redelivered after its window (a producer resending weeks later) is new again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import structlog

from shared import metrics
from shared.consumer.records import Parsed, same_payload

log = structlog.get_logger("inbox")


@dataclass
class Claimed:
    fresh: list[Parsed] = field(default_factory=list)  # to apply
    reused: list[Parsed] = field(default_factory=list)  # an event_id already claimed by another payload
    duplicates: int = 0


async def claim(conn: asyncpg.Connection, topic: str, batch: list[Parsed]) -> Claimed:
    """Inserts every inbox key of `batch` in one statement. Within one batch the first record with a key
    wins, as a later one would in a later batch."""
    claimed = Claimed()
    if not batch:
        return claimed
    chains, keys, digests = [], [], []
    for p in batch:
        for i, k in enumerate(p.keys):
            chains.append(p.chain_id)
            keys.append(k)
            digests.append(p.digest if i == 0 else None)  # keys[0] is event:<event_id>
    rows = await conn.fetch(
        """INSERT INTO inbox (chain_id, key, topic, digest)
           SELECT c, k, $3, d FROM unnest($1::text[], $2::text[], $4::bytea[]) AS t(c, k, d)
           ON CONFLICT DO NOTHING RETURNING chain_id, key""",
        chains,
        keys,
        topic,
        digests,
    )
    inserted = {(r["chain_id"], r["key"]) for r in rows}
    events = {(p.chain_id, p.keys[0]) for p in batch}
    stored = await _digests(conn, events - inserted)
    taken: set[tuple[str, str]] = set()
    refused: set[tuple[str, str]] = set()  # keys inserted for a reused event id: not its to keep
    for p in batch:
        mine = {(p.chain_id, k) for k in p.keys}
        event_key = (p.chain_id, p.keys[0])
        if mine <= inserted and not (mine & taken):
            claimed.fresh.append(p)
            stored[event_key] = p.digest
        elif (known := stored.get(event_key)) is not None and not same_payload(p, known):
            claimed.reused.append(p)
            refused |= mine & inserted
            continue  # its business keys stay free, for the message that really has them
        else:
            claimed.duplicates += 1
            stored.setdefault(event_key, p.digest)
        taken |= mine
    unclaim = refused - taken
    if unclaim:
        await conn.execute(
            """DELETE FROM inbox i USING unnest($1::text[], $2::text[]) AS t(c, k)
               WHERE i.chain_id = t.c AND i.key = t.k""",
            [c for c, _ in unclaim],
            [k for _, k in unclaim],
        )
    return claimed


async def claim_keys(conn: asyncpg.Connection, keys: set[tuple[str, str]], topic: str) -> set[tuple[str, str]]:
    """Claims (chain_id, key) inbox keys on behalf of `topic`'s messages, as the consumer claims a message it
    applies (so that message, when it comes, is a duplicate): answers those claimed now. In key order, and
    waiting for a transaction claiming one right now, so one of the two applies it."""
    ordered = sorted(keys)
    if not ordered:
        return set()
    rows = await conn.fetch(
        """INSERT INTO inbox (chain_id, key, topic)
           SELECT c, k, $3 FROM unnest($1::text[], $2::text[]) AS t(c, k) ORDER BY c, k
           ON CONFLICT DO NOTHING RETURNING chain_id, key""",
        [c for c, _ in ordered],
        [k for _, k in ordered],
        topic,
    )
    return {(r["chain_id"], r["key"]) for r in rows}


async def _digests(conn: asyncpg.Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], bytes | None]:
    """The digests stored with event keys that were already taken (None: a row from before digests)."""
    if not keys:
        return {}
    rows = await conn.fetch(
        """SELECT i.chain_id, i.key, i.digest FROM inbox i
           JOIN unnest($1::text[], $2::text[]) AS t(c, k) ON i.chain_id = t.c AND i.key = t.k""",
        [c for c, _ in keys],
        [k for _, k in keys],
    )
    return {(r["chain_id"], r["key"]): r["digest"] for r in rows}


class InboxPruner:
    """Deletes inbox rows past the replay window: a round as the service starts, then every
    `interval_seconds`; at most `round_rows` a round, `batch_rows` per statement (short locks, short
    transactions; replicas skip each other's rows)."""

    def __init__(
        self,
        service: str,
        pool: Callable[[], asyncpg.Pool],
        retention_days: float,
        interval_seconds: float,
        batch_rows: int,
        round_rows: int,
    ) -> None:
        self.service = service
        self._pool = pool
        self.retention_seconds = retention_days * 86_400
        self.interval_seconds = interval_seconds
        self.batch_rows = batch_rows
        self.round_rows = round_rows
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbox-pruner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                deleted = await self.prune()
                if deleted:
                    log.info("inbox_pruned", rows=deleted, retention_days=self.retention_seconds / 86_400)
            except Exception as exc:  # the database away: the next round catches up
                log.warning("inbox_prune_failed", error=repr(exc))
            await asyncio.sleep(self.interval_seconds)

    async def prune(self) -> int:
        """One round: answers how many rows it deleted."""
        deleted = 0
        while deleted < self.round_rows:
            limit = min(self.batch_rows, self.round_rows - deleted)
            status = await self._pool().execute(
                """DELETE FROM inbox WHERE ctid = ANY(ARRAY(
                       SELECT ctid FROM inbox WHERE received_at < now() - make_interval(secs => $1)
                       LIMIT $2 FOR UPDATE SKIP LOCKED))""",
                self.retention_seconds,
                limit,
            )
            count = int(status.split()[-1])
            deleted += count
            metrics.INBOX_PRUNED.labels(self.service).inc(count)
            if count < limit:
                break
        return deleted
