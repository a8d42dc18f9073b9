"""The example cross-compiled for arm64 on this amd64 engine
(docs/decisions/cross-builds.md): `invoke system-image` makes the arm64 root
for the selection, cargo runs natively on the build side and cross-compiles
with Debian's toolchain, and the binary runs under emulation, in the smoke
tests and in the image (`docker run --platform linux/arm64`).

Cost, measured on this 2-core machine (docs/decisions/cross-builds.md,
"Figures"): the arm64 root (mmdebstrap under qemu, about 2.3 min) and diner's
apt run under qemu (about 3 min) are most of it.

The vector's packages reuse that chain: the deb and the rpm are built on the
build side for arm64, and the deb is installed with apt in the arm64 root,
run and purged under emulation (docs/packages.md, "Packages for another
architecture"). They add about 18 to 21 s where they were built before (the
install check under qemu is most of it), about 40 s where they are built.
"""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.baking import progress
from tests.conftest import invoke
from tests.support import packages

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


# What dpkg-shlibdeps computed for mxd's aarch64 binary on the build side, from the shlibs and
# symbols files of libc6:arm64 and libgcc-s1:arm64 (Debian testing, 2026-12-06): for each
# library, the lowest version that has every symbol the binary takes from it. Written out here,
# not computed by the code under test; a new symbol the binary uses changes it.
ARM64_DEPENDS = "libc6 (>= 2.34), libgcc-s1 (>= 4.2)"
OUT = ROOT / "out" / "mxd"


@pytest.fixture(scope="module")
def cross_packages(cross_build: object) -> tuple[subprocess.CompletedProcess[str], float]:
    """The vector's deb and rpm, and the deb's install check, after the image's chain: a
    smoke_timeout this run has not used, so the install check runs rather than comes back CACHED."""
    env = {"CI": "true", "smoke_timeout": str(random.randint(40, 240))}
    started = time.monotonic()
    result = invoke("bake", "pkg-deb,pkg-deb-install,pkg-rpm", *CROSS, env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    print(f"\ncross packages bake {elapsed:.1f} s")
    return result, elapsed


def test_the_arm64_deb_is_for_arm64_and_installs_runs_and_purges_under_emulation(
    cross_packages: tuple[subprocess.CompletedProcess[str], float],
) -> None:
    result, _ = cross_packages
    debs = sorted((OUT / "pkg-deb" / f"pkg-deb--{VECTOR}").glob("*.deb"))
    assert [d.name for d in debs] == ["mxd_0.1.0-1_arm64.deb"]
    control = packages.deb_control(debs[0])
    assert control["Architecture"] == "arm64"
    assert control["Depends"] == ARM64_DEPENDS

    steps = {}
    for step in progress.parse((_record(result.stdout) / "progress.jsonl").read_text().splitlines()).steps():
        if step.text.startswith("RUN"):
            steps.setdefault(step.stage, []).append(step)
    # The install check ran this time, in the arm64 root under emulation, to the end.
    (install,) = steps["pkg-deb-install"]
    assert install.state == "ran", install.state
    log = "\n".join(install.logs)
    assert "bakery-pkg: pkg-deb-install: running on arm64 (aarch64)" in log, log[-3000:]
    assert "bakery-pkg: pkg-deb-install: installed mxd: 4 files" in log
    assert "bakery-smoke: pkg-deb-install: passed" in log
    assert "bakery-pkg: pkg-deb-install: removed mxd; none of its files is left" in log
    # The packages were built on the build side: when the packager's target step ran here, it
    # added arm64 to the amd64 root's dpkg and installed arm64's C library and binutils.
    for step in steps.get("packager", []):
        if step.state == "ran" and any("dpkg --add-architecture" in line for line in step.logs):
            text = "\n".join(step.logs)
            assert "libc6:arm64" in text and "binutils-aarch64-linux-gnu" in text, text[-2000:]


def test_the_arm64_rpm_is_aarch64(cross_packages: object) -> None:
    rpms = sorted((OUT / "pkg-rpm" / f"pkg-rpm--{VECTOR}").glob("*.rpm"))
    assert [r.name for r in rpms] == ["mxd-0.1.0-1.aarch64.rpm"]
    header = packages.rpm_header_strings(rpms[0])
    assert header[packages.RPMTAG_NAME] == "mxd"
    assert (header[packages.RPMTAG_OS], header[packages.RPMTAG_ARCH]) == ("linux", "aarch64")
