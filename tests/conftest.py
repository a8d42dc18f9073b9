"""Shared test fixtures.

- Every test starts from a clean environment: our variables are removed and
  BAKERY_DOTENV points nowhere, so a developer's .env cannot leak in. Tests
  set what they need (.ci/run runs with CI=true as root).
- `seam` swaps the docker seam's process runner and records every argv.
- `engine` and `buildx_cli` fail (never skip) when CI=true and the engine or
  buildx is missing; elsewhere they skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.config import matrix
from bakery.config.options import SPECS
from bakery.engine import docker

# Data the tests need, copied into the repository (tests/data/SOURCES.md).
DATA = Path(__file__).resolve().parent / "data"
VENV_BIN = Path(sys.executable).parent
# Read before the autouse fixture cleans the environment.
IN_CI = os.environ.get("CI", "").lower() in ("true", "1")
# Every axis variable, singular and plural, is ours to clean: from docker/matrix.toml, so a new
# axis is covered too.
_AXES = matrix.load().names
OURS = {s.name for s in SPECS} | set(_AXES) | {a + "s" for a in _AXES}

# The default vector, written out once for every test. It is
# docker/matrix.toml's default; tests/unit/test_matrix.py checks the two agree.
DEFAULT_VECTOR = {
    "cargo_profile": "release",
    "rust_toolchain": "distro",
    "rust_target": "x86_64-unknown-linux-gnu",
    "feat_set": "default",
    "sys_name": "debian",
    "sys_version": "testing-slim",
    "sys_target": "x86_64-v1-linux-gnu",
}
# Its part of instance names: the values joined by "--" (none has a "." to map).
DEFAULT_NAME = "--".join(DEFAULT_VECTOR.values())


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    for name in list(os.environ):
        if name in OURS or name.startswith(("BAKERY_", "COMPLEMENT_", "CI_", "GITHUB_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BAKERY_DOTENV", str(tmp_path / "no.env"))
    # bakery's probe and entitlement caches (bakery.engine.probe) start empty in every test.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    if request.node.get_closest_marker("unit") or request.node.get_closest_marker("cli"):
        # Builder locks live beside buildx's own state; unit tests keep theirs in tmp.
        monkeypatch.setenv("BUILDX_CONFIG", str(tmp_path / "buildx"))


@dataclass
class Recorder:
    """Stands in for the process runner behind bakery.engine.docker.run."""

    respond: Callable[[docker.Call], docker.Completed] | None = None
    calls: list[docker.Call] = field(default_factory=list)

    def __call__(self, call: docker.Call) -> docker.Completed:
        self.calls.append(call)
        if self.respond is not None:
            return self.respond(call)
        return docker.Completed(call.argv, 0, "", "")

    @property
    def argvs(self) -> list[tuple[str, ...]]:
        return [c.argv for c in self.calls]


@pytest.fixture
def seam() -> Iterator[Recorder]:
    recorder = Recorder()
    with docker.use_runner(recorder):
        yield recorder


def _unavailable(what: str) -> None:
    message = f"{what} is not available; provision it: sudo ci/provision-docker.sh"
    if IN_CI:
        pytest.fail(f"CI=true: {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def buildx_cli() -> None:
    """The docker CLI with the buildx plugin (plan tier: no daemon needed)."""
    if shutil.which("docker") is None:
        _unavailable("the docker CLI")
    if subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False).returncode != 0:
        _unavailable("docker buildx")


@pytest.fixture(scope="session")
def engine(buildx_cli: None) -> None:
    """A running dockerd (engine tier)."""
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        _unavailable("a running Docker daemon")


def invoke(*args: str, env: dict[str, str] | None = None, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """Run `invoke ARGS` from the repository root, as a user would."""
    return subprocess.run(
        [str(VENV_BIN / "invoke"), *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its tier directory: tests/unit, tests/cli, tests/plan, tests/engine."""
    tests = Path(__file__).parent
    for item in items:
        tier = Path(str(item.path)).relative_to(tests).parts[0]
        if tier in ("unit", "cli", "plan", "engine"):
            item.add_marker(getattr(pytest.mark, tier))
