"""Faults, simulated cheaply and deterministically, through the real command
line. Each asserts the exit code of the failure-modes table in
docs/exit-codes.md, one clear error line that names the fault and its fix, and, where the
fault should stop the run early, that no build reached the docker seam
(BAKERY_SEAM_LOG records every argv bakery passes to docker).

Nothing here changes the engine: the daemon and buildx faults are seen by
this process only, the missing builder is never created, the root image tag
never exists, and the disk gate is a threshold.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from bakery import ROOT
from tests.conftest import VENV_BIN, invoke
from tests.support.complement import STANDIN, TESTEE, VECTOR, assert_nothing_left, labelled

pytestmark = pytest.mark.usefixtures("engine")

EXIT_ENVIRONMENT = 3
EXIT_DISK = 4
EXIT_INFRA = 5
DEAD_DOCKER = "unix:///nonexistent.sock"
# bakery.engine.probe's one `docker info`: daemon ID, version, data directory, image store.
INFO_PROBE = [
    "docker",
    "info",
    "--format",
    "{{json .ID}} {{json .ServerVersion}} {{json .DockerRootDir}} {{json .DriverStatus}}",
]
# Where the docker CLI looks for plugins (cli-plugins/manager), as root.
PLUGIN_DIRS = (
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
    str(Path.home() / ".docker" / "cli-plugins"),
)
# Argv that builds, runs or changes something; `bake --print` and read-only
# probes (version, inspect, info, bake --help) are allowed before a fault.
CHANGING = {"build", "run", "create", "rm", "rmi", "import", "prune", "push", "load", "tag", "kill", "stop"}


def seam_argvs(path: Path) -> list[list[str]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def builds(argvs: list[list[str]]) -> list[list[str]]:
    """The argvs that would build or change something."""
    found = []
    for argv in argvs:
        words = argv[1:]
        bakes = words[:2] == ["buildx", "bake"] and "--print" not in words and "--help" not in words
        changes = bool(words) and words[0] in CHANGING or words[:2] in (["buildx", "build"], ["buildx", "create"])
        if bakes or changes:
            found.append(argv)
    return found


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("bakery: error:")]


def run(*args: str, tmp_path: Path, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, list]:
    seam = tmp_path / "seam.jsonl"
    env = {"BAKERY_SEAM_LOG": str(seam), "BAKERY_RUN_DIR": str(tmp_path / "runs"), **(env or {})}
    result = invoke(*args, env=env, timeout=120)
    return result, seam_argvs(seam)


def test_daemon_down(tmp_path: Path):
    result, argvs = run("bake", tmp_path=tmp_path, env={"DOCKER_HOST": DEAD_DOCKER})
    assert result.returncode == EXIT_ENVIRONMENT, result.stderr[-3000:]
    assert error_lines(result.stderr) == [
        f"bakery: error: Docker daemon not reachable at {DEAD_DOCKER}; start it: sudo ci/provision-docker.sh"
    ]
    assert INFO_PROBE in argvs
    assert builds(argvs) == []
    assert not (tmp_path / "runs").exists()


def test_buildx_missing(tmp_path: Path):
    empty = tmp_path / "no-plugins"
    empty.mkdir()
    present = [d for d in PLUGIN_DIRS if Path(d).is_dir()]
    assert present, "no docker CLI plugin directory exists, yet buildx runs"
    # A private mount namespace: the empty directory hides every plugin
    # directory from this command only. The script is fixed; paths are "$@".
    script = 'e=$1; shift; while [ "$1" != -- ]; do mount --bind "$e" "$1" || exit 99; shift; done; shift; exec "$@"'
    seam = tmp_path / "seam.jsonl"
    argv = ["unshare", "-m", "sh", "-c", script, "sh", str(empty), *present, "--", str(VENV_BIN / "invoke"), "bake"]
    result = subprocess.run(
        argv,
        cwd=ROOT,
        env={**os.environ, "BAKERY_SEAM_LOG": str(seam), "BAKERY_RUN_DIR": str(tmp_path / "runs")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == EXIT_ENVIRONMENT, result.stderr[-3000:]
    assert error_lines(result.stderr) == [
        "bakery: error: docker buildx plugin not found; run: sudo ci/provision-docker.sh"
    ]
    argvs = seam_argvs(seam)
    assert ["docker", "buildx", "version"] in argvs
    assert builds(argvs) == []
    # Outside the namespace buildx is still there.
    assert subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False).returncode == 0


def test_builder_removed_between_runs(tmp_path: Path):
    name = f"bakery-gone-{uuid.uuid4().hex[:12]}"
    env = {"BAKERY_DRIVER": "docker-container", "BAKERY_BUILDER": name}
    result, argvs = run("bake", tmp_path=tmp_path, env=env)
    assert result.returncode == EXIT_ENVIRONMENT, result.stderr[-3000:]
    assert error_lines(result.stderr) == [
        f"bakery: error: buildx builder '{name}' not found; create it: invoke builder"
    ]
    assert ["docker", "buildx", "inspect", name] in argvs
    assert builds(argvs) == []
    # Nothing created it on the way.
    assert subprocess.run(["docker", "buildx", "inspect", name], capture_output=True, check=False).returncode != 0


def test_root_image_missing_doctor(tmp_path: Path):
    result, argvs = run("doctor", tmp_path=tmp_path, env={"sys_version": "no-such-tag"})
    assert result.returncode == EXIT_ENVIRONMENT, result.stdout[-3000:] + result.stderr[-3000:]
    fails = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert fails == [
        "FAIL root image: debian:no-such-tag (linux/amd64) not in the engine; "
        "make it: invoke system-image --sys-version no-such-tag --sys-target x86_64-linux-gnu"
    ]
    assert error_lines(result.stderr) == ["bakery: error: doctor found problems; see the FAIL lines"]
    assert builds(argvs) == []


def test_root_image_missing_bake(tmp_path: Path):
    result, argvs = run("bake", "system", "--sys-version", "no-such-tag", tmp_path=tmp_path)
    # Before buildx: one line naming the root and the command that makes it
    # (docs/decisions/cross-builds.md), not a failed pull deep in the bake.
    assert result.returncode == EXIT_ENVIRONMENT, result.stderr[-3000:]
    assert error_lines(result.stderr) == [
        "bakery: error: root image debian:no-such-tag (linux/amd64) is not in the engine; "
        "make it: invoke system-image --sys-version no-such-tag --sys-target x86_64-linux-gnu"
    ]
    assert builds(argvs) == []
    assert not (tmp_path / "runs").exists()  # refused before a run record


def test_disk_under_the_gate(tmp_path: Path):
    result, argvs = run("bake", tmp_path=tmp_path, env={"BAKERY_MIN_FREE_GB": "999999"})
    assert result.returncode == EXIT_DISK, result.stderr[-3000:]
    (line,) = error_lines(result.stderr)
    assert re.fullmatch(
        r"bakery: error: only \d+\.\d GB free under /\S*, below BAKERY_MIN_FREE_GB=999999; "
        r"free space \(invoke builder --prune\) or lower the threshold",
        line,
    ), line
    assert INFO_PROBE in argvs  # the engine's data directory, from the (cold) probe
    assert builds(argvs) == []
    assert not (tmp_path / "runs").exists()  # refused before a run record


@pytest.mark.parametrize("ci", [None, "true"], ids=["attached", "CI-detached"])
def test_tester_killed_from_outside(
    ci: str | None,
    standin: str,  # noqa: F811 (the imported fixtures, by name)
    testee: str,  # noqa: F811
    run_id: str,  # noqa: F811
    tmp_path: Path,
):
    results = tmp_path / "results"
    env = {**os.environ, "COMPLEMENT_STANDIN_MODE": "hang", **({"CI": ci} if ci else {})}
    argv = [
        str(VENV_BIN / "invoke"),
        "complement",
        "--no-build",
        "--tester-image",
        STANDIN,
        "--testee-image",
        TESTEE,
        "--run-id",
        run_id,
        "--results-dir",
        str(results),
    ]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    name = f"complement--{VECTOR}--{run_id}"
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and proc.poll() is None:
            running, _ = labelled(run_id)
            logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True, check=False).stdout
            if len(running) >= 2 and "TestHang" in logs:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "invoke complement ended before the tester hung"
        # From outside: as an OOM killer or an operator would.
        subprocess.run(["docker", "kill", name], capture_output=True, check=True)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == EXIT_INFRA, out[-3000:] + err[-3000:]
    assert error_lines(err) == [
        "bakery: error: infrastructure failure: the tester ended with exit code 137 (killed by signal 9), "
        f"outside its 0/1 contract; results and logs: {results}"
    ]
    # Whatever existed was extracted.
    assert (results / "tester.log").is_file()
    assert "TestHang" in (results / "tester.log").read_text()
    assert '"Test":"TestHang"' in (results / "go-test.jsonl").read_text()
    # The tester, its testee and network: all gone.
    assert_nothing_left(run_id)
