"""The builder lock: holders in separate processes, through flock.

Every test points BUILDX_CONFIG at its own tmp_path, so no lock file lands in
~/.docker/buildx and tests cannot meet each other's locks.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.engine import builder, docker, reaper
from bakery.engine.lock import builder_lock, lock_path
from bakery.errors import EXIT_LOCKED, EnvironmentNotReady, LockTimeout
from tests.conftest import Recorder
from tests.support.settings import load

# A second process that takes the lock (never waiting), says "held", keeps it
# for HOLD seconds (negative: until its stdin closes), then says "released"
# and stays alive until its stdin closes.
HOLDER = """
import sys, time
from bakery.engine.lock import builder_lock
name, hold = sys.argv[1], float(sys.argv[2])
with builder_lock(name, 0):
    print("held", flush=True)
    if hold < 0:
        sys.stdin.read()
    else:
        time.sleep(hold)
print("released", flush=True)
sys.stdin.read()
"""


@pytest.fixture(autouse=True)
def buildx_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("BUILDX_CONFIG", str(tmp_path / "buildx"))
    return tmp_path / "buildx"


@pytest.fixture
def holders() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def hold(holders: list[subprocess.Popen[str]], name: str, seconds: float = -1) -> subprocess.Popen[str]:
    """Start a holder process and return once it holds the lock."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, name, str(seconds)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    holders.append(proc)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "held\n"
    return proc


# --- where the lock lives ----------------------------------------------------------------------


def test_lock_path_under_buildx_config(buildx_config: Path):
    assert lock_path("bakery-alice") == buildx_config / "bakery-locks" / "bakery-alice.lock"


def test_lock_path_defaults_to_the_docker_buildx_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("BUILDX_CONFIG")
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert lock_path("default") == tmp_path / "home" / ".docker" / "buildx" / "bakery-locks" / "default.lock"
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "dc"))
    assert lock_path("default") == tmp_path / "dc" / "buildx" / "bakery-locks" / "default.lock"


def test_an_unwritable_lock_directory_is_an_environment_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("BUILDX_CONFIG", str(tmp_path / "file"))
    with pytest.raises(EnvironmentNotReady) as caught, builder_lock("b", 0):
        pass
    assert str(caught.value) == (
        f"cannot open the lock file {tmp_path}/file/bakery-locks/b.lock: Not a directory; "
        "make it writable or set BUILDX_CONFIG"
    )
    assert caught.value.exit_code == 3


# --- two holders -------------------------------------------------------------------------------


def test_a_second_holder_times_out_with_exit_6(holders, caplog: pytest.LogCaptureFixture):
    hold(holders, "bakery-a")
    caplog.set_level(logging.INFO, logger="bakery")
    started = time.monotonic()
    with pytest.raises(LockTimeout) as caught, builder_lock("bakery-a", 0.5):
        pytest.fail("the lock was taken twice")
    waited = time.monotonic() - started
    assert str(caught.value) == (
        "builder 'bakery-a' is busy: another create/remove/prune held it for 0.5 s; retry or raise BAKERY_LOCK_TIMEOUT"
    )
    assert caught.value.exit_code == EXIT_LOCKED == 6
    assert 0.5 <= waited < 5
    assert caplog.messages == ["waiting for the lock on builder bakery-a (up to 0.5 s)"]


def test_a_second_process_exits_6_with_one_line(holders, tmp_path: Path):
    hold(holders, "bakery-a")
    waiter = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nfrom bakery.errors import LockTimeout\nfrom bakery.engine.lock import builder_lock\n"
            "try:\n    with builder_lock('bakery-a', 0.3): pass\n"
            "except LockTimeout as exc:\n    print(exc)\n    sys.exit(exc.exit_code)\n",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert waiter.returncode == 6
    assert waiter.stdout == (
        "builder 'bakery-a' is busy: another create/remove/prune held it for 0.3 s; "
        "retry or raise BAKERY_LOCK_TIMEOUT\n"
    )


def test_other_builders_are_not_blocked(holders):
    hold(holders, "bakery-a")
    with builder_lock("bakery-b", 0) as path:
        assert path.name == "bakery-b.lock"


def test_a_holder_that_dies_releases_the_lock(holders, caplog: pytest.LogCaptureFixture):
    proc = hold(holders, "bakery-a")
    proc.kill()  # SIGKILL: no cleanup runs in the holder
    assert proc.wait(timeout=10) == -9
    caplog.set_level(logging.INFO, logger="bakery")
    with builder_lock("bakery-a", 0):
        pass
    assert caplog.messages == []  # taken at once, no wait


def test_a_waiter_gets_the_lock_when_the_holder_releases(holders, caplog: pytest.LogCaptureFixture):
    proc = hold(holders, "bakery-a", seconds=1.0)
    caplog.set_level(logging.INFO, logger="bakery")
    started = time.monotonic()
    with builder_lock("bakery-a", 30):
        waited = time.monotonic() - started
        assert proc.poll() is None  # released by the holder, not by its death
    assert 0.3 <= waited < 10
    assert caplog.messages == ["waiting for the lock on builder bakery-a (up to 30 s)"]
    assert proc.stdout is not None
    assert proc.stdout.readline() == "released\n"


def test_the_lock_is_released_on_leaving_the_block(holders):
    with builder_lock("bakery-a", 0) as path:
        assert path.is_file()
    hold(holders, "bakery-a")  # the holder takes it without waiting, or fails to say "held"


# --- the operations that take it ---------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        lambda s: builder.ensure(s, (), Path("/nonexistent/builders")),
        builder.remove,
        lambda s: builder.prune(s, None, ()),
        lambda s: builder.append(s, "tcp://node2.invalid:1234"),
    ],
    ids=["create", "remove", "prune", "append"],
)
def test_builder_operations_wait_for_the_lock_before_any_docker_call(holders, seam: Recorder, operation):
    hold(holders, "bakery-alice")
    loaded = load(BAKERY_DRIVER="docker-container", BAKERY_BUILDER="bakery-alice", BAKERY_LOCK_TIMEOUT="0")
    with pytest.raises(LockTimeout, match=r"^builder 'bakery-alice' is busy: .* held it for 0 s; retry or raise "):
        operation(loaded)
    assert seam.argvs == []


def test_the_reaper_skips_a_busy_builder_and_says_so(holders, seam: Recorder):
    now = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
    listing = "\n".join(
        json.dumps({"Name": n, "Driver": "docker-container", "LastActivity": "2026-05-20T12:00:00Z"})
        for n in ("bakery-busy", "bakery-idle")
    )

    def respond(call: docker.Call) -> docker.Completed:
        if call.argv[1:3] == ("buildx", "ls"):
            return docker.Completed(call.argv, 0, listing + "\n", "")
        return docker.Completed(call.argv, 0, "", "")

    seam.respond = respond
    hold(holders, "bakery-busy")
    out: list[str] = []
    started = time.monotonic()
    assert reaper.reap(timedelta(days=7), now=now, out=out.append) == ["bakery-idle"]
    assert time.monotonic() - started < 5  # it did not wait for the busy one
    assert seam.argvs == [("docker", "buildx", "ls", "--format", "json"), ("docker", "buildx", "rm", "bakery-idle")]
    assert out == [
        "skipped bakery-busy: busy (another create/remove/prune holds its lock); not reaped this time",
        "reaped bakery-idle: idle 12d0h",
        "reaped 1 of 2 scoped builders (idle longer than 7d0h); skipped 1 busy",
    ]
