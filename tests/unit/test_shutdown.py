"""The shutdown's outer bound (shared/shutdown.py): whatever hangs, a process ends at its grace."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from shared.shutdown import drain_seconds, reserve_seconds

ROOT = Path(__file__).resolve().parents[2]


def test_the_watchdog_ends_a_shutdown_that_overruns_its_grace_with_exit_code_1() -> None:
    hangs = textwrap.dedent("""
        import signal, time
        from shared.shutdown import make_server
        server = make_server(None, "127.0.0.1", 0, grace_seconds=1.0)
        server.handle_exit(signal.SIGTERM, None)
        time.sleep(60)  # a shutdown that never ends (a database gone away, say)
    """)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", hangs], cwd=ROOT, capture_output=True, text=True, timeout=120)
    took = time.monotonic() - started
    assert done.returncode == 1, done.stdout + done.stderr
    assert "shutdown_overran" in done.stdout + done.stderr
    assert took < 20  # the grace (1 s) and the interpreter's start, far from the 60 s it would hang


def test_the_drain_bound_leaves_the_rest_of_the_shutdown_a_reserve() -> None:
    assert drain_seconds(25) == 20 and reserve_seconds(25) == 5  # the default: Kubernetes' 30 s grace after it
    assert drain_seconds(10) == 7.5
    assert drain_seconds(600) == 595
