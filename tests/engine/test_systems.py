"""The system cells on the engine: the systems matrix of docker/matrix.toml on
Debian testing (x86-64 v1 and v3, and arm64 cross-compiled), and x86-64 v4,
each built and its version smoke run, in its image, on this machine (arm64
under emulation).

The CPU level reaches the compiler: the example's `-V` prints the x86-64
extensions its build was compiled to use (`cfg!(target_feature = ...)`), so
v1 says `baseline`, v3 `avx2` without `avx512f`, v4 `avx512f`.

The matrix's trixie cells are built by the bench (bench/README.md, "The system
cells"), not here: their roots and their emulated arm64 steps cost minutes that
the engine tier's budget does not have (docs/verification.md).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bakery.baking import progress
from tests.conftest import invoke

pytestmark = pytest.mark.usefixtures("engine")

TESTING = ["--matrix", "systems", "--sys-version", "testing-slim"]
NATIVE = "release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim"
CROSS = "release--distro--aarch64-unknown-linux-gnu--default--debian--testing-slim--aarch64-v8-linux-gnu"


def _image(vector: str) -> str:
    return f"mxd/image--{vector}:latest"


def _record(stdout: str) -> Path:
    marker = "(record: "
    line = next(ln for ln in reversed(stdout.splitlines()) if ln.startswith("ACCEPT") and marker in ln)
    return Path(line.split(marker, 1)[1].rstrip(")"))


def _version(image: str, platform: str = "linux/amd64") -> str:
    run = ["docker", "run", "--rm", "--platform", platform, image, "-V"]
    result = subprocess.run(run, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _has_avx512() -> bool:
    flags = next((ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")), "")
    return "avx512f" in flags.split()


TARGETS = "smoketest-version,smoketest-startup,image"
# What v3 and the cross cell share with v1 (bakery.tree.sharing): v3 all
# but the compile and what stands on it, the cross cell its build side.
SHARED_WITH_V1 = {
    "x86_64-v3-linux-gnu": {"build-system", "system", "diner", "kitchen", "cookware", "source", "chef", "ingredients",
                            "preparing", "recipe"},
    "aarch64-v8-linux-gnu": {"build-system", "kitchen"},
}  # fmt: skip


@pytest.fixture(scope="module")
def testing_cells() -> subprocess.CompletedProcess[str]:
    """v1 (the default vector) first, then the three cells in one bake: what
    the others share with v1 is then in the cache, and must not run again."""
    made = invoke("system-image", *TESTING)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    first = invoke("bake", TARGETS, env={"CI": "true"})
    assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-3000:]
    result = invoke("bake", TARGETS, *TESTING, env={"CI": "true"})
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    return result


def test_the_systems_matrix_on_testing_builds_three_cells(testing_cells: subprocess.CompletedProcess[str]) -> None:
    accepted = [ln for ln in testing_cells.stdout.splitlines() if ln.startswith("ACCEPT")]
    assert len(accepted) == 3, accepted
    for target in ("x86_64-v1-linux-gnu", "x86_64-v3-linux-gnu", "aarch64-v8-linux-gnu"):
        assert sum(f" sys_target={target}]" in ln for ln in accepted) == 1, (target, accepted)


def test_the_cpu_level_reached_the_compiler(testing_cells: object) -> None:
    assert _version(_image(f"{NATIVE}--x86_64-v1-linux-gnu")) == (
        "mxd 0.1.0 (features: federation,media) (cpu: baseline)"
    )
    assert _version(_image(f"{NATIVE}--x86_64-v3-linux-gnu")) == (
        "mxd 0.1.0 (features: federation,media) (cpu: sse4.2,avx2)"
    )
    # The arm64 cell lists no x86-64 extension; it runs under emulation.
    assert _version(_image(CROSS), "linux/arm64") == "mxd 0.1.0 (features: federation,media) (cpu: baseline)"


def test_each_cell_pays_only_for_what_differs_from_v1(testing_cells: subprocess.CompletedProcess[str]) -> None:
    """`invoke plan --matrix systems` says which instances are one build
    (tests/plan/test_front.py); the engine agrees: with v1 built, no step of
    what v3 and the cross cell share with it runs again, while each cell's
    own compile is there."""
    record = _record(testing_cells.stdout)
    parsed = progress.parse((record / "progress.jsonl").read_text().splitlines())
    ran: dict[str, set[str]] = {}
    compiled: set[str] = set()
    for step in parsed.steps():
        if step.target is None:
            continue
        family, _, rest = step.target.partition("--")
        cell = rest.rsplit("--", 1)[-1]
        if step.state == "ran":
            ran.setdefault(cell, set()).add(family)
        if family == "build-bins":
            compiled.add(cell)
    assert compiled == {"x86_64-v1-linux-gnu", "x86_64-v3-linux-gnu", "aarch64-v8-linux-gnu"}, compiled
    for cell, shared in SHARED_WITH_V1.items():
        assert not ran.get(cell, set()) & shared, (cell, sorted(ran.get(cell, set())))


def test_x86_64_v4_is_built_and_run_where_the_cpu_has_avx512() -> None:
    v4 = ["--sys-target", "x86_64-v4-linux-gnu"]
    if not _has_avx512():
        if os.environ.get("CI") == "true":
            pytest.fail("this CI machine's CPU has no AVX-512 (no avx512f in /proc/cpuinfo): x86-64-v4 cannot run here")
        pytest.skip("no AVX-512 on this CPU: an x86-64-v4 binary cannot run here")
    made = invoke("system-image", *v4)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    result = invoke("bake", "smoketest-version,image", *v4, env={"CI": "true"})
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert _version(_image(f"{NATIVE}--x86_64-v4-linux-gnu")) == (
        "mxd 0.1.0 (features: federation,media) (cpu: sse4.2,avx2,avx512f)"
    )
