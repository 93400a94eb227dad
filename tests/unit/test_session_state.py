"""The HTTP pool gives connections back without asyncpg's session reset (shared/db.py, `stateless`): that
holds while no code leaves session state on a connection. Session state is allowed only where a
connection of its own or the work pool holds it: the scheduled jobs' runner lock (shared/jobs.py) and
the outbox relay's LISTEN (shared/relay.py)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {"shared/jobs.py", "shared/relay.py"}
# SQL is written in capitals here, prose is not: the keywords are matched as written.
SESSION_STATE = re.compile(
    r"pg_advisory_lock(_shared)?\s*\(|pg_try_advisory_lock(_shared)?\s*\(|\bLISTEN\s+\w|add_listener\(|"
    r"set_config\([^)]*false|\bDECLARE\s+\w+|\.cursor\(|\bSET\s+(SESSION|search_path|ROLE|TIME\s+ZONE|"
    r"statement_timeout|lock_timeout)|\bRESET\s+\w"
)


def offenders() -> list[str]:
    found = []
    for path in sorted([*(ROOT / "services").rglob("*.py"), *(ROOT / "shared").rglob("*.py")]):
        name = path.relative_to(ROOT).as_posix()
        if name in ALLOWED:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if SESSION_STATE.search(code):
                found.append(f"{name}:{n}: {line.strip()}")
    return found


def test_no_code_but_the_jobs_runner_and_the_relay_leaves_session_state_on_a_connection() -> None:
    assert offenders() == []


def test_the_check_sees_session_state() -> None:
    for text in ("SELECT pg_advisory_lock($1)", "LISTEN outbox", "SET search_path TO x", "conn.cursor(q)"):
        assert SESSION_STATE.search(text), text
    for text in ("SELECT pg_advisory_xact_lock($1)", "SET LOCAL lock_timeout = 1", "UPDATE t SET a = 1"):
        assert not SESSION_STATE.search(text), text
