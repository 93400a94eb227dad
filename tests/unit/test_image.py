"""The Dockerfile, checked without Docker (the dev machines have no engine): two stages, the final one
built from the first's virtualenv only, installed from the runtime lock with hashes and binary wheels
only, nothing local-only, run as a numeric non-root user, the tested Python."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.unit.test_lockfile import LOCAL_ONLY

ROOT = Path(__file__).resolve().parents[2]
Stage = list[str]


def _instructions(text: str) -> list[str]:
    """One string per instruction: comments dropped, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [line.strip() for line in joined.splitlines() if line.strip()]


def _stages(text: str) -> tuple[dict[str, str], list[Stage]]:
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in _instructions(text):
        if instruction.startswith("ARG ") and not stages:
            name, _, default = instruction[4:].partition("=")
            args[name] = default
        elif instruction.startswith("FROM "):
            stages.append([instruction])
        else:
            assert stages, f"{instruction!r} before any FROM"
            stages[-1].append(instruction)
    return args, stages


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return _stages((ROOT / "Dockerfile").read_text())


def _base(stage: Stage, args: dict[str, str]) -> str:
    image = stage[0].split()[1]
    return re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], image)


def test_two_stages_on_the_tested_python(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    args, stages = dockerfile
    assert len(stages) == 2
    assert stages[0][0].endswith(" AS build")
    tested = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["python_version"]
    for stage in stages:
        image = _base(stage, args)
        assert re.fullmatch(rf"python:{re.escape(tested)}-slim(-\w+)?", image), image


def test_the_build_stage_installs_the_runtime_lock_only(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    _, (build, _) = dockerfile
    runs = " ".join(i for i in build if i.startswith("RUN "))
    assert "pip install --require-hashes --only-binary=:all: -r requirements/runtime.lock" in runs
    assert "pip install --no-deps ." in runs
    assert "dev.lock" not in runs and "[" not in runs  # no extras: not dev, not local
    copies = [i for i in build if i.startswith("COPY ")]
    assert copies[0] == "COPY requirements/runtime.lock requirements/runtime.lock"  # its own cached layer
    for path in ("pyproject.toml", "shared/", "services/", "deploy/"):
        assert any(path in line for line in copies), path
    assert not any("bench" in line or "tests" in line for line in copies)


def test_the_runtime_lock_the_image_installs_has_nothing_local() -> None:
    pins = (ROOT / "requirements" / "runtime.lock").read_text()
    for name in LOCAL_ONLY:
        assert not re.search(rf"^{re.escape(name)}==", pins, re.MULTILINE | re.IGNORECASE), name


def test_the_final_stage_is_the_virtualenv_and_a_non_root_user(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    _, (_, final) = dockerfile
    assert not any("pip install" in i for i in final), "nothing installed in the final stage: it is copied"
    copies = [i for i in final if i.startswith("COPY ")]
    assert copies == ["COPY --from=build /opt/perkstream /opt/perkstream"]
    users = [i.split()[1] for i in final if i.startswith("USER ")]
    assert users, "the final stage must switch to an unprivileged user"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) >= 10000 and gid.isdigit() and int(gid) != 0  # numeric: runAsNonRoot
    env = " ".join(i for i in final if i.startswith("ENV "))
    assert "PATH=/opt/perkstream/bin:$PATH" in env
    assert "HTTP_HOST=0.0.0.0" in env


def test_the_dockerignore_keeps_local_state_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".local", ".git", "tests", "bench", ".env"} <= ignored
    assert not {"requirements", "requirements/", "requirements/runtime.lock"} & ignored
