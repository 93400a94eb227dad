"""Who publishes a service schema's outbox: a lease row with an expiry, renewed by its holder.

One row per schema (`outbox_lease`). A relay takes the lease when it holds it already or when it has
expired, in one UPDATE, by the database's clock (so the replicas' clocks never matter). The holder
renews it every second; a holder that cannot renew (its host hung, its database connection gone) loses
it `seconds` after its last renewal, and another replica takes over.

The holder never publishes past what it knows is safe: its own deadline is measured from *before* it
asked for the renewal, a margin short of the expiry the database wrote, so it stops before anyone else
may start. A holder frozen and resumed (SIGSTOP, a VM paused) finds its deadline passed, stops, and on
its next renewal learns that another took the lease.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid

import asyncpg

SECONDS = 5.0  # a dead leader is replaced within this, plus a poll
MARGIN = 1.0  # the holder's own deadline comes this much before the expiry it wrote
RENEW_EVERY = 1.0


class Lease:
    def __init__(self, seconds: float = SECONDS) -> None:
        self.seconds = seconds
        # Tells the processes apart in the row (host:pid:random), for people and for the tests.
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._until = 0.0  # loop time until which this process may publish
        self._renewed = 0.0

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def left(self) -> float:
        """Seconds this holder may still publish (0 when it may not)."""
        return max(0.0, self._until - self._now())

    def due(self) -> bool:
        return self._now() - self._renewed >= RENEW_EVERY or self.left() <= 0

    async def take(self, conn: asyncpg.Connection) -> bool:
        """Takes or renews the lease; False while another holds it."""
        asked = self._now()
        held = await conn.fetchval(
            """UPDATE outbox_lease SET holder = $1, expires_at = clock_timestamp() + make_interval(secs => $2)
               WHERE holder = $1 OR expires_at < clock_timestamp() RETURNING true""",
            self.holder,
            self.seconds,
        )
        self._renewed = asked
        self._until = asked + self.seconds - MARGIN if held else 0.0
        return bool(held)

    async def release(self, conn: asyncpg.Connection) -> None:
        """Lets another replica take over at once (a clean stop)."""
        self._until = 0.0
        await conn.execute("UPDATE outbox_lease SET expires_at = '-infinity' WHERE holder = $1", self.holder)
