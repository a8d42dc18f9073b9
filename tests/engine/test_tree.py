"""The tree on a real engine: the default vector builds, and a
one-line source edit rebuilds only what sits above the source."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.baking import progress
from tests.conftest import DEFAULT_NAME, invoke

DEFAULT = DEFAULT_NAME

pytestmark = pytest.mark.usefixtures("engine")


@pytest.fixture(scope="session")
def default_build() -> subprocess.CompletedProcess[str]:
    """The one build of the default group every engine test reuses (the
    builder is never pruned inside a test)."""
    result = invoke("bake", env={"CI": "true"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _record(stdout: str) -> Path:
    marker = "(record: "
    line = next(ln for ln in reversed(stdout.splitlines()) if ln.startswith("ACCEPT") and marker in ln)
    return Path(line.split(marker, 1)[1].rstrip(")"))


def test_default_group_builds_tests_smoke_and_tests_unit(default_build: subprocess.CompletedProcess[str]) -> None:
    assert "ACCEPT default [" in default_build.stdout
    record = _record(default_build.stdout)
    steps = progress.parse((record / "progress.jsonl").read_text().splitlines()).steps()
    # The default group's stages all appear (cached or run): cargo (check,
    # clippy, build-tests, tests-unit), workspace (fmt), the smoke tests and
    # the testee; and the unit tests' and smoke tests' commands are among them.
    stages = {v.stage for v in steps}
    assert {"cargo", "workspace", "smoketest-version", "smoketest-startup", "smoketest-valgrind"} <= stages
    assert "complement-testee" in stages
    texts = " ".join(" ".join(v.text.split()) for v in steps)
    # Each smoke run goes through docker/scripts/smoke, bounded by smoke_timeout.
    assert "-- valgrind --error-exitcode=1" in texts
    assert 'smoke smoketest-version "30" "" --skip-if-empty "-V" -- /usr/local/bin/entrypoint -V' in texts
    # One metadata file per invocation: the aggregate, then the testee's image.
    assert len(list(record.glob("metadata.*.json"))) == 2
    images = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert f"mxd/complement-testee--{DEFAULT}" in images


def test_version_edit_rebuilds_only_above_the_source(default_build: object, tmp_path: Path) -> None:
    source = tmp_path / "example"
    shutil.copytree(ROOT / "example", source, ignore=shutil.ignore_patterns("target"))
    version = source / "crates" / "mxd" / "src" / "version.rs"
    # A fresh string each run: BuildKit's cache is content-addressed, so a
    # version built before would be CACHED and prove nothing.
    new_version = f"0.1.1-test{uuid.uuid4().hex[:8]}"
    version.write_text(version.read_text().replace('"0.1.0"', f'"{new_version}"'))
    try:
        result = invoke("bake", "tests-smoke,install", env={"source_location": str(source)})
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        steps = progress.parse((_record(result.stdout) / "progress.jsonl").read_text().splitlines()).steps()
        roots = {"system", "build-system"}
        below = [v for v in steps if v.stage in (*roots, "diner", "kitchen", "cookware", "chef")]
        # The roots' own steps: a native vector's system and build-system steps
        # are one vertex, named after either stage.
        assert {v.stage for v in below} >= {"diner", "kitchen", "cookware"}
        assert {v.stage for v in below} & roots
        assert [v.name for v in below if v.state != "cached"] == []
        ran = {v.stage for v in steps if v.state == "ran"}
        assert {"source", "cargo", "smoketest-version"} <= ran
        out = subprocess.run(
            ["docker", "run", "--rm", "--entrypoint", "mxd", f"mxd/install--{DEFAULT}:latest", "-V"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.startswith(f"mxd {new_version} ")
    finally:
        # Put the default vector's images back to the committed source (cached).
        restore = invoke("bake", "tests-smoke,install")
        assert restore.returncode == 0, restore.stderr[-2000:]
    out = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "mxd", f"mxd/install--{DEFAULT}:latest", "-V"],
        capture_output=True,
        text=True,
    )
    assert out.stdout.startswith("mxd 0.1.0 ")


def test_source_outside_the_working_directory_builds_with_plain_progress(default_build: object, tmp_path: Path) -> None:
    # Newer buildx demands --allow fs.read for paths outside the working
    # directory, and rawjson progress would hide its prompt: plain shows it.
    source = tmp_path / "example"
    shutil.copytree(ROOT / "example", source, ignore=shutil.ignore_patterns("target"))
    result = invoke("bake", "smoketest-version", "--progress", "plain", env={"source_location": str(source)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "--allow fs.read=" in result.stderr


def test_root_image_is_present_and_skipped() -> None:
    result = invoke("system-image")
    assert result.returncode == 0, result.stderr
    # The build platform's root and the target platform's name of the same image.
    assert result.stdout.splitlines() == [
        "debian:testing-slim: present; skipped (--refresh rebuilds it)",
        "amd64/debian:testing-slim: present; skipped (--refresh rebuilds it)",
    ]


def test_doctor_passes_on_a_provisioned_engine() -> None:
    result = invoke("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        "ok   docker CLI",
        "ok   daemon",
        "ok   buildx",
        "ok   builder",
        "ok   root image",
        "ok   emulation",
        "ok   free disk",
    ]
    # ci/setup.sh registers qemu-aarch64 with the F flag; the default selection does not need it.
    (emulation,) = [line for line in result.stdout.splitlines() if line.startswith("ok   emulation:")]
    assert emulation.startswith("ok   emulation: not needed by the selection; qemu-aarch64 registered, flags ")
    assert "F" in emulation.rsplit(" ", 1)[1]


def test_the_other_offline_families_build(default_build: object) -> None:
    result = invoke("bake", "cargo,build,docs,book,standalone,image,perf")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ACCEPT cargo build docs book standalone image perf [" in result.stdout
    # image is runnable: its entrypoint is the server binary.
    out = subprocess.run(
        ["docker", "run", "--rm", f"mxd/image--{DEFAULT}:latest", "-V"], capture_output=True, text=True
    )
    assert out.stdout.startswith("mxd 0.1.0 (features: federation,media)")
    # standalone holds the binary alone, FROM scratch.
    created = subprocess.run(
        ["docker", "create", f"mxd/standalone--{DEFAULT}:latest", "/mxd"], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        listing = subprocess.run(["docker", "export", created], capture_output=True, check=True).stdout
    finally:
        subprocess.run(["docker", "rm", created], capture_output=True, check=False)
    # docker export adds the container's own files (.dockerenv, etc/hosts, ...).
    runtime = {".dockerenv", "etc/hosts", "etc/hostname", "etc/resolv.conf", "dev/console"}
    with tarfile.open(fileobj=io.BytesIO(listing)) as tar:
        names = {m.name for m in tar.getmembers() if m.isfile()} - runtime
    assert names == {"mxd"}
