"""The gateway's background worker: deliveries applied as they come (usecases/process.py)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from services.gateway.booking_api import BookingApi
from services.gateway.usecases.process import BATCH, process_batch

log = structlog.get_logger("gateway")


class DeliveryWorker:
    """Applies deliveries in the background of the gateway process: at once when this process stored one
    (kick), and every `poll_seconds` for those another replica stored or that wait for the API."""

    def __init__(self, pool: Any, poll_seconds: float = 1.0) -> None:
        self._pool = pool  # a callable answering the pool (it exists only once the service started)
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.apis: dict[Any, BookingApi] = {}

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="gateway-deliveries")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for api in self.apis.values():
            await api.close()

    async def _run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                taken = await process_batch(self._pool(), self.apis)
                failures = 0
            except Exception:
                failures += 1
                log.exception("deliveries_failed", attempt=failures)
                taken = 0
                await asyncio.sleep(min(2**failures, 30))
            if taken < BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
