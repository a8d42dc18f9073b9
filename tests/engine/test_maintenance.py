"""Builder maintenance on a real engine: the reaper and the builder lock.

Every test points BUILDX_CONFIG at its own directory under tmp_path, for this
process and the `invoke` children alike. buildx keeps its builder store there,
so the reaper sees only the builders made here (and the engine's `default`,
which it never touches): `bakery-*` builders other people created on this
machine are invisible to it and cannot be reaped by these tests. The lock
files (bakery.engine.lock) live there too.

The docker-container builders are created without --bootstrap (no BuildKit
container, no registry needed) and removed in `finally`. Nothing here prunes a
builder's cache or removes an image.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.engine.lock import builder_lock
from tests.conftest import VENV_BIN, invoke

pytestmark = pytest.mark.usefixtures("engine")

# Seconds between creating the idle builder and the fresh one. buildx records
# LastActivity in whole seconds; the reap age sits between the two idle times.
GAP = 7


@pytest.fixture(autouse=True)
def buildx_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    config = tmp_path / "buildx"
    config.mkdir()
    monkeypatch.setenv("BUILDX_CONFIG", str(config))
    return config


def unique() -> str:
    return f"bakery-test-{uuid.uuid4().hex[:8]}"


def container_env(name: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"BAKERY_DRIVER": "docker-container", "BAKERY_BUILDER": name, "BAKERY_RUN_DIR": str(tmp_path), **extra}


def listing() -> dict[str, dict]:
    """`docker buildx ls --format json`, by builder name."""
    out = subprocess.run(
        ["docker", "buildx", "ls", "--format", "json"], capture_output=True, text=True, check=True
    ).stdout
    entries = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {e["Name"]: e for e in entries}


def exists(name: str) -> bool:
    return subprocess.run(["docker", "buildx", "inspect", name], capture_output=True, check=False).returncode == 0


def cleanup(*names: str) -> None:
    for name in names:
        if exists(name):
            subprocess.run(["docker", "buildx", "rm", name], capture_output=True, check=False)


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("bakery: error:")]


def create(name: str, tmp_path: Path) -> None:
    created = invoke("builder", "--no-bootstrap", env=container_env(name, tmp_path))
    assert created.returncode == 0, created.stderr
    assert f"builder {name}: created with driver docker-container" in created.stdout


def activity(name: str) -> datetime:
    return datetime.fromisoformat(listing()[name]["LastActivity"].replace("Z", "+00:00"))


# --- the reaper ---------------------------------------------------------------------------------


def test_the_reaper_removes_only_the_idle_builder(tmp_path: Path):
    idle, fresh, keep = unique(), unique(), unique()
    try:
        create(idle, tmp_path)
        time.sleep(GAP)
        create(fresh, tmp_path)
        assert set(listing()) == {"default", idle, fresh}  # this BUILDX_CONFIG sees nothing else
        now = datetime.now(UTC)
        idle_for = (now - activity(idle)).total_seconds()
        fresh_for = (now - activity(fresh)).total_seconds()
        # The fresh builder stays kept for 3 more seconds (time for invoke to start);
        # the idle one is GAP - 1 seconds older at least.
        age = math.ceil(fresh_for) + 3
        assert fresh_for < age < idle_for, (fresh_for, age, idle_for)
        # BAKERY_BUILDER names a third builder (that does not exist): the keep rule
        # (the caller's own builder) must not protect either test builder.
        reaped = invoke("builder", "--reap", f"{age}s", env=container_env(keep, tmp_path))
        assert reaped.returncode == 0, reaped.stderr
        lines = reaped.stdout.splitlines()
        assert lines[0].startswith(f"keep {fresh}: idle 0m"), lines
        assert lines[1].startswith(f"reaped {idle}: idle 0m"), lines
        assert lines[2] == f"reaped 1 of 2 scoped builders (idle longer than 0m{age}s)"
        assert len(lines) == 3
        assert not exists(idle)
        assert exists(fresh)
        assert set(listing()) == {"default", fresh}
    finally:
        cleanup(idle, fresh)
    assert set(listing()) == {"default"}


# --- the lock -------------------------------------------------------------------------------------


def test_rm_waits_for_the_lock_then_exits_6(tmp_path: Path):
    name = unique()
    env = container_env(name, tmp_path, BAKERY_LOCK_TIMEOUT="2")
    try:
        create(name, tmp_path)
        with builder_lock(name, 0):
            started = time.monotonic()
            locked = invoke("builder", "--rm", env=env, timeout=60)
            waited = time.monotonic() - started
        assert locked.returncode == 6, locked.stderr
        assert errors(locked.stderr) == [
            f"bakery: error: builder '{name}' is busy: another create/remove/prune held it for 2 s; "
            "retry or raise BAKERY_LOCK_TIMEOUT"
        ]
        assert f"waiting for the lock on builder {name} (up to 2 s)" in locked.stderr.splitlines()
        assert "buildx rm" not in locked.stderr  # it never got as far as removing
        assert locked.stdout == ""
        assert waited >= 2
        assert exists(name)
        assert name in listing()

        removed = invoke("builder", "--rm", env=env)
        assert removed.returncode == 0, removed.stderr
        assert removed.stdout == f"builder {name}: removed\n"
        assert "waiting for the lock" not in removed.stderr
        assert not exists(name)
        assert name not in listing()
    finally:
        cleanup(name)
    assert set(listing()) == {"default"}


def start(args: list[str], env: dict[str, str], out: Path) -> tuple[subprocess.Popen[str], Path, Path]:
    stdout, stderr = out.with_suffix(".out"), out.with_suffix(".err")
    with stdout.open("w") as o, stderr.open("w") as e:
        proc = subprocess.Popen(
            [str(VENV_BIN / "invoke"), *args], cwd=ROOT, env={**os.environ, **env}, stdout=o, stderr=e
        )
    return proc, stdout, stderr


def wait_for(paths: list[Path], text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not all(text in p.read_text() for p in paths):
        assert time.monotonic() < deadline, [p.read_text() for p in paths]
        time.sleep(0.1)


def run_concurrently(args: list[str], name: str, env: dict[str, str], tmp_path: Path, tag: str) -> list[tuple]:
    """Hold the lock, start two `invoke ARGS`, let both reach the wait, release.
    Returns (exit code, stdout, stderr) for both."""
    procs = []
    try:
        with builder_lock(name, 0):
            procs = [start(args, env, tmp_path / f"{tag}{i}") for i in (1, 2)]
            wait_for([err for _, _, err in procs], f"waiting for the lock on builder {name} (up to 30 s)")
        results = []
        for proc, out, err in procs:
            code = proc.wait(timeout=120)
            results.append((code, out.read_text(), err.read_text()))
        return results
    finally:
        for proc, _, _ in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_concurrent_create_and_rm_wait_and_stay_consistent(tmp_path: Path):
    name = unique()
    env = container_env(name, tmp_path, BAKERY_LOCK_TIMEOUT="30")
    try:
        # Two creates: the one that gets the lock second finds the builder made.
        created = run_concurrently(["builder", "--no-bootstrap"], name, env, tmp_path, "create")
        assert [code for code, _, _ in created] == [0, 0], created
        last_lines = sorted(out.splitlines()[-1] for _, out, _ in created)
        assert last_lines == [
            f"builder {name}: created with driver docker-container",
            f"builder {name}: exists, driver docker-container; unchanged",
        ]
        assert exists(name)
        assert listing()[name]["Driver"] == "docker-container"

        # Two removals: one removes, the other waits and finds nothing to remove.
        removed = run_concurrently(["builder", "--rm"], name, env, tmp_path, "rm")
        assert [code for code, _, _ in removed] == [0, 0], removed
        assert sorted(out for _, out, _ in removed) == [
            f"builder {name}: not present; nothing to remove\n",
            f"builder {name}: removed\n",
        ]
        assert not exists(name)
        assert name not in listing()
    finally:
        cleanup(name)
    assert set(listing()) == {"default"}
