"""Starts the services as their own processes (python -m services.<name>) and waits for /readyz."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from shared.settings import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ServiceProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    logfile: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 4000) -> str:
        return self.logfile.read_text(errors="replace")[-chars:] if self.logfile.exists() else ""


def start(name: str, env: dict[str, str], logdir: Path, port: int | None = None) -> ServiceProcess:
    port = port or DEFAULT_PORTS[name]
    logdir.mkdir(parents=True, exist_ok=True)
    logfile = logdir / f"{name}-{port}.log"
    out = logfile.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", f"services.{name}"],
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env, "HTTP_PORT": str(port)},
    )
    return ServiceProcess(name, port, process, logfile)


def wait_ready(services: list[ServiceProcess], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    pending = list(services)
    while pending and time.monotonic() < deadline:
        for svc in list(pending):
            if svc.process.poll() is not None:
                raise RuntimeError(f"{svc.name} exited with {svc.process.returncode}:\n{svc.log_tail()}")
            try:
                with urllib.request.urlopen(f"{svc.url}/readyz", timeout=2) as r:
                    if r.status == 200:
                        pending.remove(svc)
            except OSError:
                pass
        time.sleep(0.3)
    if pending:
        raise RuntimeError("not ready: " + ", ".join(f"{s.name}\n{s.log_tail()}" for s in pending))


def stop(services: list[ServiceProcess]) -> None:
    for svc in services:
        if svc.process.poll() is None:
            svc.process.terminate()
    for svc in services:
        try:
            svc.process.wait(20)
        except subprocess.TimeoutExpired:
            svc.process.kill()
