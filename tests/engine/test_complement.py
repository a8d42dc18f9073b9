"""`invoke complement` end to end on a real engine: the stand-in
tester (tests/standin) against the real testee the tree builds, through the
real socket and the host network.

Each test has its own run id and results directory, and checks with
`docker ps -a` and `docker network ls`, filtered by the run label, that
nothing was left behind. Only two images stay: the stand-in and the testee.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bakery import ROOT
from tests.conftest import VENV_BIN, invoke
from tests.support.complement import STANDIN, VECTOR, assert_nothing_left, docker

pytestmark = pytest.mark.usefixtures("engine")

BASELINE = ROOT / "example" / "tests" / "complement" / "results.jsonl"
EXIT_INFRA = 5


def complement_args(run_id: str, results: Path, *extra: str) -> list[str]:
    return ["complement", "--tester-image", STANDIN, "--run-id", run_id, "--results-dir", str(results), *extra]


def run_complement(
    run_id: str, results: Path, mode: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # COMPLEMENT_* variables reach the tester at run time: the stand-in's mode too.
    env = {"COMPLEMENT_STANDIN_MODE": mode, **(env or {})}
    return invoke(*complement_args(run_id, results, *extra), env=env, timeout=600)


def assert_swept(result: subprocess.CompletedProcess[str]) -> None:
    """The stand-in's testee and network were there, and the label sweep
    (not the stand-in) removed them: the seam logs each docker command."""
    assert "+ docker network rm " in result.stderr
    assert result.stderr.count("+ docker rm --force --volumes ") >= 3  # holder, tester, testee


def verdicts(path: Path) -> dict[str, str]:
    return {r["Test"]: r["Action"] for r in map(json.loads, path.read_text().splitlines()) if r}


def test_pass_builds_the_testee_runs_and_extracts(standin: str, testee: str, run_id: str, tmp_path: Path) -> None:
    results = tmp_path / "results"
    # No --no-build: the tree bakes the testee (the tester is overridden).
    result = run_complement(run_id, results, "pass")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ACCEPT complement-testee [" in result.stdout
    assert "Complement results: OK" in result.stdout
    # The testee was started through the socket and answered on the host network.
    assert verdicts(results / "results.jsonl") == verdicts(BASELINE)
    assert set(verdicts(BASELINE).values()) == {"pass"}
    # The default baseline is the one the testee image carries from the source.
    assert (results / "baseline.jsonl").read_text() == BASELINE.read_text()
    raw = (results / "go-test.jsonl").read_text().splitlines()
    assert {"Action": "pass", "Package": "standin", "Test": "TestRestart"} in map(json.loads, raw)
    log = (results / "tester.log").read_text()
    assert '"Test":"TestVersions"' in log
    assert (results / "summary.txt").read_text().startswith("Complement results: OK")
    assert_nothing_left(run_id)


def test_regression_fails_and_still_extracts(standin: str, testee: str, run_id: str, tmp_path: Path) -> None:
    results = tmp_path / "results"
    # CI mode: the tester runs detached, its logs followed.
    result = run_complement(run_id, results, "regress", "--no-build", env={"CI": "true"})
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "FAILED: 2 regression(s)" in result.stdout
    assert "TestVersions/SpecVersion (pass -> fail)" in result.stdout
    assert "2 regression(s) against the baseline" in result.stderr
    assert verdicts(results / "results.jsonl")["TestVersions/SpecVersion"] == "fail"
    # docker logs -f streamed the tester's output through ours.
    assert '"Action":"fail","Package":"standin","Test":"TestVersions/SpecVersion"' in result.stdout
    assert (results / "tester.log").stat().st_size > 0
    assert_nothing_left(run_id)


def test_tester_exit_2_is_infrastructure_failure(standin: str, testee: str, run_id: str, tmp_path: Path) -> None:
    results = tmp_path / "results"
    result = run_complement(run_id, results, "infra", "--no-build")
    assert result.returncode == EXIT_INFRA, result.stdout[-3000:] + result.stderr[-3000:]
    assert "infrastructure failure: the tester ended with exit code 2" in result.stderr
    assert "simulated infrastructure failure" in (results / "tester.log").read_text()
    assert (results / "go-test.jsonl").is_file()
    # The stand-in left its testee and network running: swept by the label.
    assert_swept(result)
    assert_nothing_left(run_id)


def _interrupt(
    run_id: str, results: Path, signum: int, env: dict[str, str], *, group: bool
) -> subprocess.CompletedProcess[str]:
    """Run with the stand-in hanging, then signal invoke (group: its whole
    process group, as Ctrl-C in a terminal does)."""
    proc = subprocess.Popen(
        [str(VENV_BIN / "invoke"), *complement_args(run_id, results, "--no-build")],
        cwd=ROOT,
        env={**os.environ, "COMPLEMENT_STANDIN_MODE": "hang", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=group,
    )
    try:
        # Hanging means: the tester started the testee and printed its run event.
        name = f"complement--{VECTOR}--{run_id}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            running = docker("ps", "-q", "--filter", f"label=bakery.run-id={run_id}").split()
            logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True, check=False).stdout
            if len(running) >= 2 and "TestHang" in logs:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "invoke complement ended before the tester hung"
        if group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_sigint_exits_130_and_leaves_nothing(standin: str, testee: str, run_id: str, tmp_path: Path) -> None:
    results = tmp_path / "results"
    result = _interrupt(run_id, results, signal.SIGINT, {}, group=True)
    assert result.returncode == 130, result.stdout[-3000:] + result.stderr[-3000:]
    assert "interrupted by SIGINT; cleaned up" in result.stderr
    # Whatever existed was extracted.
    assert '"Test":"TestHang"' in (results / "go-test.jsonl").read_text()
    assert (results / "tester.log").is_file()
    assert_swept(result)
    assert_nothing_left(run_id)


def test_sigterm_in_ci_exits_143_and_leaves_nothing(standin: str, testee: str, run_id: str, tmp_path: Path) -> None:
    results = tmp_path / "results"
    result = _interrupt(run_id, results, signal.SIGTERM, {"CI": "true"}, group=False)
    assert result.returncode == 143, result.stdout[-3000:] + result.stderr[-3000:]
    assert "interrupted by SIGTERM; cleaned up" in result.stderr
    assert '"Test":"TestHang"' in (results / "go-test.jsonl").read_text()
    assert_swept(result)
    assert_nothing_left(run_id)
