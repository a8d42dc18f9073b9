"""SIGINT and SIGTERM during `invoke bake`; the same during
`invoke complement` is in tests/engine/test_complement.py.

A tiny bake file of our own, in tmp_path: one target whose only real step is
`RUN sleep 60` on the root image, with a fresh nonce so it is never cached
and its build is found by name in `docker buildx history ls`. Once the step
has started (the run record's rawjson progress says so), the signal goes to
the whole process group for SIGINT (as Ctrl-C in a terminal) and to the
invoke process alone for SIGTERM (as a CI runner or `kill` does).

Afterwards: exit 130 / 143, no process of the group left, no container
or network added, the build no longer running, no lock file, and a next run that starts
cleanly. The build output is cacheonly: nothing is loaded into the engine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from bakery import ROOT
from bakery.baking import progress
from tests.conftest import VENV_BIN, invoke

pytestmark = pytest.mark.usefixtures("engine")

T = TypeVar("T")
ROOT_IMAGE = "debian:testing-slim"
TARGET = "sleeper"


@dataclass(frozen=True)
class Tree:
    directory: Path
    nonce: str

    @property
    def bake_file(self) -> Path:
        return self.directory / "bake.hcl"

    @property
    def runs(self) -> Path:
        return self.directory / "runs"

    @property
    def env(self) -> dict[str, str]:
        # bake.bake_file is ROOT / BAKERY_BAKE_FILE: an absolute path works.
        return {"BAKERY_BAKE_FILE": str(self.bake_file), "BAKERY_RUN_DIR": str(self.runs)}


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    nonce = uuid.uuid4().hex[:12]
    # The directory's name is the build's name in `docker buildx history ls`.
    directory = tmp_path / f"bakery-sleeper-{nonce}"
    directory.mkdir()
    (directory / "Dockerfile").write_text(
        f'FROM {ROOT_IMAGE}\nARG nonce\nARG seconds\nRUN echo "sleeper $nonce" && sleep "$seconds"\n', encoding="utf-8"
    )
    (directory / "bake.hcl").write_text(
        'variable "seconds" {\n  default = "60"\n}\n'
        f'target "{TARGET}" {{\n'
        f'  context = "{directory}"\n'
        '  dockerfile = "Dockerfile"\n'
        f'  args = {{ nonce = "{nonce}", seconds = seconds }}\n'
        '  output = ["type=cacheonly"]\n'
        "}\n",
        encoding="utf-8",
    )
    return Tree(directory, nonce)


def docker_out(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def running_containers() -> set[str]:
    return set(docker_out("ps", "-q", "--no-trunc").split())


def networks() -> set[str]:
    return set(docker_out("network", "ls", "-q", "--no-trunc").split())


def history(name: str) -> list[dict]:
    """This build's records in `docker buildx history ls` (the builder in use): named after the
    context directory, the Dockerfile when it is not the context's own, and the stage
    (`<directory>/runs/<id>/0.Dockerfile (<stage>)` for the generated file in the run record)."""
    out = docker_out("buildx", "history", "ls", "--format", "json", "--no-trunc")
    found = map(json.loads, out.splitlines())
    return [r for r in found if r.get("name", "").split(" (", 1)[0].split("/", 1)[0] == name]


def group_members(pgid: int) -> list[str]:
    """Processes whose process group is pgid, from /proc (pid: command)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid pgrp ...: comm may hold spaces; split after it.
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(f"{stat.parent.name}: {text.split(' (', 1)[1].rsplit(')', 1)[0]}")
    return found


def step_started(runs: Path) -> bool:
    """The run record's rawjson progress shows the sleep step running."""
    for raw in runs.glob("*/progress.jsonl"):
        tracked = progress.parse(raw.read_text(errors="replace").splitlines())
        if any("sleep" in v.name and v.started and not v.completed for v in tracked.vertices.values()):
            return True
    return False


@dataclass(frozen=True)
class Interrupted:
    pgid: int  # invoke's pid: it leads its own process group
    returncode: int
    stdout: str
    stderr: str


def interrupt(tree: Tree, signum: int, *, group: bool) -> Interrupted:
    """Run `invoke bake sleeper` and signal it once the step runs."""
    proc = subprocess.Popen(
        [str(VENV_BIN / "invoke"), "bake", TARGET],
        cwd=ROOT,
        env={**os.environ, **tree.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell job
    )
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and proc.poll() is None and not step_started(tree.runs):
            time.sleep(0.1)
        assert proc.poll() is None, "invoke bake ended before the sleep step started"
        assert step_started(tree.runs), "the sleep step did not start in time"
        assert [r["status"] for r in history(tree.directory.name)] == ["Running"]
        # The probe sees the group: invoke, the docker CLI and its buildx plugin.
        members = group_members(proc.pid)
        assert any(m.endswith(": docker") for m in members), members
        assert any(m.endswith(": docker-buildx") for m in members), members
        if group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        out, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    return Interrupted(proc.pid, proc.returncode, out, err)


def settle(probe: Callable[[], T], timeout: float = 10) -> T:
    """probe()'s value once it is falsy, or its last value after timeout seconds."""
    deadline = time.monotonic() + timeout
    value = probe()
    while value and time.monotonic() < deadline:
        time.sleep(0.2)
        value = probe()
    return value


@pytest.mark.parametrize(
    ("signum", "group", "code", "name"),
    [(signal.SIGINT, True, 130, "SIGINT"), (signal.SIGTERM, False, 143, "SIGTERM")],
    ids=["SIGINT-to-the-group", "SIGTERM-to-invoke"],
)
def test_interrupted_bake_leaves_nothing_and_the_next_run_starts(
    tree: Tree, signum: int, group: bool, code: int, name: str
):
    containers_before, networks_before = running_containers(), networks()
    started = time.monotonic()
    result = interrupt(tree, signum, group=group)
    assert result.returncode == code, result.stdout[-3000:] + result.stderr[-3000:]
    assert time.monotonic() - started < 50, "the 60 s step was not cut short"
    assert f"bakery: interrupted by {name}; cleaned up" in result.stderr.splitlines()

    # No process of the run's group is left (docker CLI, buildx plugin, ...).
    assert settle(lambda: group_members(result.pgid), timeout=5) == []
    # No container or network added, and the build is no longer running.
    assert settle(lambda: running_containers() - containers_before) == set()
    assert settle(lambda: networks() - networks_before) == set()
    statuses = settle(lambda: [r["status"] for r in history(tree.directory.name) if r["status"] == "Running"])
    assert statuses == []
    assert [r["status"] for r in history(tree.directory.name)] in (["Canceled"], ["Error"])
    # No lock: bakery keeps none, and the run record stays for the post-mortem.
    assert sorted(str(p.relative_to(tree.directory)) for p in tree.directory.rglob("*.lock")) == []
    (record,) = tree.runs.iterdir()
    assert {"command.json", "progress.jsonl"} <= {p.name for p in record.iterdir()}
    assert not list(record.glob("*.lock"))

    # The next run starts cleanly: a real bake of the same target (no sleep).
    again = invoke("bake", TARGET, env={**tree.env, "seconds": "0"}, timeout=120)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"ACCEPT {TARGET} [" in again.stdout


# The two phases of a vector's schedule (docs/architecture.md, "One way to bake"), interrupted
# in a trusted run that exports to a shared directory: the aggregate solve (its sleep step
# running) and the output invocation (its tar output blocked on a FIFO nobody reads, so it
# waits in "exporting to client tarball" until the signal).
TWO_PHASES = """\
variable "seconds" {
  default = "60"
}
group "both" {
  targets = ["sleeper", "exported"]
}
target "sleeper" {
  context = "%(directory)s"
  dockerfile = "Dockerfile"
  target = "slow"
  args = { nonce = "%(nonce)s", seconds = seconds }
  output = ["type=cacheonly"]
}
target "exported" {
  context = "%(directory)s"
  dockerfile = "Dockerfile"
  target = "out"
  args = { nonce = "%(nonce)s", seconds = seconds }
  output = ["type=tar,dest=%(directory)s/out.tar"]
}
"""
TWO_STAGES = (
    f"FROM {ROOT_IMAGE} AS slow\nARG nonce\nARG seconds\n"
    'RUN echo "sleeper $nonce" && sleep "$seconds"\n\n'
    "FROM slow AS out\nRUN echo out > /out.txt\n"
)
TRUSTED_PUSH = {"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main"}


def started(runs: Path, name: str) -> bool:
    """The run record's rawjson progress shows a step whose name holds `name` running."""
    for raw in runs.glob("*/progress.jsonl"):
        tracked = progress.parse(raw.read_text(errors="replace").splitlines())
        if any(name in v.name and v.started and not v.completed for v in tracked.vertices.values()):
            return True
    return False


def claim_volumes() -> set[str]:
    return set(docker_out("volume", "ls", "-q", "--filter", "label=io.bakery.shared-keys").split())


@pytest.mark.parametrize(
    ("phase", "seconds", "running", "signum", "code"),
    [
        ("aggregate", "60", "sleep", signal.SIGINT, 130),
        ("output", "0", "exporting to client tarball", signal.SIGTERM, 143),
    ],
)
def test_an_interrupt_in_either_phase_leaves_no_half_written_entry_and_no_container(
    tmp_path: Path, phase: str, seconds: str, running: str, signum: int, code: int
) -> None:
    nonce = uuid.uuid4().hex[:12]
    directory = tmp_path / f"bakery-phases-{nonce}"
    directory.mkdir()
    (directory / "Dockerfile").write_text(TWO_STAGES, encoding="utf-8")
    (directory / "bake.hcl").write_text(TWO_PHASES % {"directory": directory, "nonce": nonce}, encoding="utf-8")
    os.mkfifo(directory / "out.tar")
    shared, runs = tmp_path / "shared", directory / "runs"
    env = {
        **os.environ,
        **TRUSTED_PUSH,
        "BAKERY_BAKE_FILE": str(directory / "bake.hcl"),
        "BAKERY_RUN_DIR": str(runs),
        "BAKERY_CACHE_DIR": str(shared),
        "seconds": seconds,
    }
    containers_before, claims_before = running_containers(), claim_volumes()
    proc = subprocess.Popen(
        [str(VENV_BIN / "invoke"), "bake", "both"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None and not started(runs, running):
            time.sleep(0.1)
        assert proc.poll() is None, f"invoke bake ended before the {phase} phase: {proc.communicate()}"
        assert started(runs, running), f"the {phase} phase did not start in time"
        if signum == signal.SIGINT:
            os.killpg(proc.pid, signum)  # Ctrl-C in a terminal: the whole group
        else:
            proc.send_signal(signum)  # a CI runner's cancel: invoke alone
        out, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        # The trusted run claimed this engine's shared keys; the other tests share it.
        for volume in claim_volumes() - claims_before:
            docker_out("volume", "rm", volume)
    assert proc.returncode == code, out[-3000:] + err[-3000:]
    assert settle(lambda: group_members(proc.pid), timeout=5) == []
    assert settle(lambda: running_containers() - containers_before) == set()
    (record,) = runs.iterdir()
    invocations = json.loads((record / "command.json").read_text())["invocations"]
    assert [i["targets"] for i in invocations] == (
        [["bakery-all"]] if phase == "aggregate" else [["bakery-all"], ["exported"]]
    )
    # No half-written entry: every entry points at a complete export, and no version of this
    # run is left unpublished. The aggregate exports; interrupted, it published nothing.
    entries = [p for p in shared.iterdir() if p.is_symlink()] if shared.is_dir() else []
    versions = sorted(p.relative_to(shared) for p in shared.glob(".versions/*/*"))
    if phase == "aggregate":
        assert entries == [] and versions == []
    else:
        (entry,) = entries
        assert (entry / "index.json").is_file()
        assert versions == [entry.resolve().relative_to(shared.resolve())]
