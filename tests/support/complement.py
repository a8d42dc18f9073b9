"""`invoke complement` on a real engine (tests/engine/test_complement.py, test_faults.py): the
stand-in tester (tests/standin), the testee the tree builds, and what a run leaves behind, found
by its run label. The fixtures on these are in tests/engine/conftest.py."""

from __future__ import annotations

import subprocess
import uuid

from bakery import ROOT
from tests.conftest import DEFAULT_NAME, invoke

STANDIN = "bakery-standin:test"
VECTOR = DEFAULT_NAME
TESTEE = f"mxd/complement-testee--{VECTOR}:latest"


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def build_standin() -> str:
    result = subprocess.run(
        ["docker", "build", "-q", "-t", STANDIN, str(ROOT / "tests" / "standin")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return STANDIN


def bake_testee() -> str:
    result = invoke("bake", "complement-testee", env={"CI": "true"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return TESTEE


def labelled(run_id: str) -> tuple[list[str], list[str]]:
    label = f"label=bakery.run-id={run_id}"
    return docker("ps", "-aq", "--filter", label).split(), docker("network", "ls", "-q", "--filter", label).split()


def new_run_id() -> str:
    return f"pytest-{uuid.uuid4().hex[:10]}"


def sweep(run_id: str) -> None:
    """Remove what is still labelled with `run_id`: a failing test leaves nothing behind either."""
    containers, networks = labelled(run_id)
    if containers:
        subprocess.run(["docker", "rm", "-f", *containers], capture_output=True, check=False)
    if networks:
        subprocess.run(["docker", "network", "rm", *networks], capture_output=True, check=False)


def assert_nothing_left(run_id: str) -> None:
    assert labelled(run_id) == ([], []), f"left behind with bakery.run-id={run_id}"
    assert not docker("ps", "-aq", "--filter", f"name={run_id}").split()
