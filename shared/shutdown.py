"""Graceful shutdown of a service process, bounded by SHUTDOWN_GRACE_SECONDS (settings.py).

On SIGTERM (or SIGINT) uvicorn stops accepting requests and lets the ones in progress finish (a third of
the grace at most), then the service's lifespan stops its parts in order (shared/runtime.py): the
consumer takes no new batch and finishes the one in hand with its offsets committed, leaves its group,
the relay publishes what is committed, the pools close. A watchdog thread ends the process (exit code 1)
if all that has not ended when the grace is over: the orchestrator's SIGKILL comes later than that.

The process exits 0 once it stopped cleanly (uvicorn would otherwise raise the signal again once it is
done, and the process would end killed by it), 1 if something was cut short, 3 if it never started.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, NoReturn

import structlog
import uvicorn

log = structlog.get_logger("runtime")
STARTUP_FAILURE = 3  # uvicorn's own exit code for a server that never started


def reserve_seconds(grace: float) -> float:
    """What a stop keeps, of its grace, for what follows the consumer's drain: leaving the group, the
    relay's last round, closing the pools."""
    return min(5.0, grace / 4)


def drain_seconds(grace: float) -> float:
    """How long a batch in hand may take to finish once its partitions are to go, the process stopping or
    its group rebalancing (20 s with the default 25 s grace); past it, it is cut short (rolled back) and
    the partitions' next owner applies its records."""
    return grace - reserve_seconds(grace)


class Server(uvicorn.Server):
    """uvicorn's server, noting when the stop signal came; past the grace after it the process ends."""

    def __init__(self, config: uvicorn.Config, grace_seconds: float) -> None:
        super().__init__(config)
        self.grace_seconds = grace_seconds
        self.signalled: float | None = None  # time.monotonic() of the first stop signal

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.signalled is None:
            self.signalled = time.monotonic()
            threading.Thread(target=self._watchdog, name="shutdown-watchdog", daemon=True).start()
        super().handle_exit(sig, frame)

    def deadline(self) -> float:
        """When the shutdown must be over (time.monotonic()): the grace after the signal (or from now)."""
        return (self.signalled or time.monotonic()) + self.grace_seconds

    def _watchdog(self) -> None:
        time.sleep(self.grace_seconds)
        # Still here: something hangs (a database or broker gone away). Leave now, as SIGKILL would later.
        log.error("shutdown_overran", grace_seconds=self.grace_seconds)
        os._exit(1)


def make_server(app: Any, host: str, port: int, grace_seconds: float) -> Server:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        # h11, not httptools: httptools' protocol keeps a connection alive after a 413 refusing a chunked body
        # and reads the rest of that body to its end, however long (test_trust_http caught it 1 run in 6);
        # h11 closes it. The CPU httptools saves (1-1.8 ms a request) does not buy that.
        http="h11",
        lifespan="on",
        timeout_graceful_shutdown=max(1, round(grace_seconds / 3)),
    )
    return Server(config, grace_seconds)


def serve(server: Server, clean: Callable[[], bool]) -> NoReturn:
    """Runs the server until a stop signal, then exits: 0 when `clean()` says the shutdown was complete."""

    # uvicorn puts the handler it found back once it is done and raises the signal again for it: this one
    # then does nothing (the process exits below, with its own code); before uvicorn's own handler is in
    # place, it starts the same graceful stop.
    def on_signal(sig: int, frame: FrameType | None) -> None:
        if not server.should_exit:
            server.handle_exit(sig, frame)

    for sig in (signal.SIGTERM, signal.SIGINT):  # SIGINT: Ctrl-C stops a process the same way
        signal.signal(sig, on_signal)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
    sys.exit(0 if clean() else 1)
