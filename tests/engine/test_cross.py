"""The example cross-compiled for arm64 on this amd64 engine
(docs/decisions/cross-builds.md): `invoke system-image` makes the arm64 root
for the selection, cargo runs natively on the build side and cross-compiles
with Debian's toolchain, and the binary runs under emulation, in the smoke
tests and in the image (`docker run --platform linux/arm64`).

Cost, measured on this 2-core machine (docs/decisions/cross-builds.md,
"Figures"): the arm64 root (mmdebstrap under qemu, about 2.3 min) and diner's
apt run under qemu (about 3 min) are most of it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bakery.baking import progress
from tests.conftest import invoke

pytestmark = pytest.mark.usefixtures("engine")

CROSS = ["--rust-target", "aarch64-unknown-linux-gnu", "--sys-target", "aarch64-v8-linux-gnu"]
VECTOR = "release--distro--aarch64-unknown-linux-gnu--default--debian--testing-slim--aarch64-v8-linux-gnu"
IMAGE = f"mxd/image--{VECTOR}:latest"


def _record(stdout: str) -> Path:
    marker = "(record: "
    line = next(ln for ln in reversed(stdout.splitlines()) if ln.startswith("ACCEPT") and marker in ln)
    return Path(line.split(marker, 1)[1].rstrip(")"))


@pytest.fixture(scope="module")
def arm64_root() -> list[str]:
    """`invoke system-image` for the cross selection: this machine's root and the arm64 one."""
    result = invoke("system-image", *CROSS)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout.splitlines()


@pytest.fixture(scope="module")
def cross_build(arm64_root: list[str]) -> subprocess.CompletedProcess[str]:
    result = invoke("bake", "smoketest-version,smoketest-startup,image", *CROSS, env={"CI": "true"})
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    return result


def _image_id(ref: str) -> str:
    inspect = ["docker", "image", "inspect", "--format", "{{.Id}}", ref]
    return subprocess.run(inspect, capture_output=True, text=True, check=True).stdout.strip()


def test_system_image_makes_the_roots_the_selection_names(arm64_root: list[str]) -> None:
    assert len(arm64_root) == 2, arm64_root
    assert arm64_root[0] == "debian:testing-slim: present; skipped (--refresh rebuilds it)"
    made = arm64_root[1]
    assert made.startswith("arm64v8/debian:testing-slim: built from Debian testing (arm64) with mmdebstrap") or (
        made == "arm64v8/debian:testing-slim: present; skipped (--refresh rebuilds it)"
    ), made
    inspect = ["docker", "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", "arm64v8/debian:testing-slim"]
    assert subprocess.run(inspect, capture_output=True, text=True, check=True).stdout.strip() == "linux/arm64"


def test_the_cross_vector_compiles_natively_and_its_smoke_tests_run_under_emulation(
    cross_build: subprocess.CompletedProcess[str],
) -> None:
    record = _record(cross_build.stdout)
    parsed = progress.parse((record / "progress.jsonl").read_text().splitlines())
    stages = {step.stage for step in parsed.steps()}
    assert {"build-system", "kitchen", "cookware", "cargo", "install", "smoketest-version"} <= stages
    # Two roots in one vector: the build side's is this machine's (amd64)
    # image, the target side's the arm64 one; listed whether cached or not.
    froms = {v.text for v in parsed.vertices.values() if v.text.startswith("FROM ")}
    assert f"FROM docker.io/library/debian:testing-slim@{_image_id('debian:testing-slim')}" in froms, froms
    assert f"FROM docker.io/arm64v8/debian:testing-slim@{_image_id('arm64v8/debian:testing-slim')}" in froms, froms
    # When the cross pieces were installed in this run (a cold engine), they
    # went onto the amd64 side: Debian's cross linker beside the amd64 rustc.
    for step in parsed.steps():
        if step.stage == "cookware" and step.state == "ran" and any("libc6-dev-arm64-cross" in ln for ln in step.logs):
            assert any("gcc-aarch64-linux-gnu" in line for line in step.logs), step.logs[-20:]


def test_the_arm64_image_runs_under_emulation(cross_build: object) -> None:
    inspect = ["docker", "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", IMAGE]
    assert subprocess.run(inspect, capture_output=True, text=True, check=True).stdout.strip() == "linux/arm64"
    run = ["docker", "run", "--rm", "--platform", "linux/arm64", IMAGE, "-V"]
    result = subprocess.run(run, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mxd "), result.stdout
    machine = ["docker", "run", "--rm", "--platform", "linux/arm64", "--entrypoint", "uname", IMAGE, "-m"]
    assert subprocess.run(machine, capture_output=True, text=True, check=True).stdout.strip() == "aarch64"
    startup = ["docker", "run", "--rm", "--platform", "linux/arm64", IMAGE, "--selftest", "--port", "0"]
    started = subprocess.run(startup, capture_output=True, text=True, timeout=120, check=False)
    assert started.returncode == 0, started.stderr
    assert "selftest: ok" in started.stdout


def test_doctor_checks_the_cross_selections_roots_and_emulation(arm64_root: list[str]) -> None:
    result = invoke("doctor", *CROSS)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert (
        "ok   root image: debian:testing-slim (linux/amd64), arm64v8/debian:testing-slim (linux/arm64) present" in lines
    )
    (emulation,) = [line for line in lines if line.startswith("ok   emulation:")]
    assert emulation.startswith("ok   emulation: qemu-aarch64 registered, flags "), emulation
