"""What users ship, built and checked on the engine (docs/packages.md): the
deb and the rpm, installed and run; the apt repository; the static image and
the zstd OCI outputs; and two projects on one engine that keep apart.

Each family runs for the example (mxd) and for hitcount, a project bakery did
not write, from settings alone; the static chain for the default vector only
(it rebuilds the dependencies with other RUSTFLAGS). The install checks take
a smoke_timeout this run has not used, so they run rather than come back
CACHED, and their logs are read from the run record.
"""

from __future__ import annotations

import io
import json
import random
import re
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.baking import progress
from tests.conftest import DEFAULT_NAME, invoke
from tests.support import attestations, packages

pytestmark = pytest.mark.usefixtures("engine")

VECTOR = DEFAULT_NAME
HITCOUNT = {
    "source_location": "tests/fixtures/hitcount",
    "project_name": "hitcount",
    "bin_name": "hitcountd",
    "smoke_version_args": "",
    "smoke_startup_args": "",
    "smoke_ready": "tcp:8080",
    "expose_ports": "8080",
    "pkg_maintainer": "hitcount developers <hitcount@example.invalid>",
    "pkg_description": "HTTP hit counter that serves its count",
}
# project -> the crates its SBOM lists (cargo tree -e normal of the default feature set)
CRATES = {"mxd": {("mxd", "0.1.0"), ("mxd-core", "0.1.0")}, "hitcount": {("hitcount", "0.1.0"), ("itoa", "1.0.1")}}
# project -> (settings, package, binary, the expected start of the package's synopsis)
PROJECTS = {
    "mxd": ({}, "mxd", "mxd", "tiny, dependency-free Matrix-style homeserver"),
    "hitcount": (HITCOUNT, "hitcount", "hitcountd", "HTTP hit counter that serves its count"),
}


def _bake(targets: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = invoke("bake", targets, env={"CI": "true", **env})
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result, elapsed


def _logs(result: subprocess.CompletedProcess[str]) -> dict[str, progress.Vertex]:
    """The RUN steps of the run, by stage, from its record."""
    match = re.search(r"\(record: ([^)]+)\)", result.stdout)
    assert match, result.stdout[-3000:]
    lines = (Path(match.group(1)) / "progress.jsonl").read_text().splitlines()
    return {v.stage: v for v in progress.parse(lines).vertices.values() if v.stage and v.text.startswith("RUN")}


def _text(vertex: progress.Vertex) -> str:
    return "\n".join(vertex.logs)


@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_deb_and_rpm_are_built_installed_run_and_removed(project: str) -> None:
    settings, package, binary, synopsis = PROJECTS[project]
    timeout = str(random.randint(40, 240))
    result, elapsed = _bake(
        "pkg-deb,pkg-deb-install,apt-repo-install,pkg-rpm,pkg-rpm-install", {**settings, "smoke_timeout": timeout}
    )

    # The deb in out/<project>/: dpkg-deb's archive, control from the settings
    # and Cargo.toml, Depends computed by dpkg-shlibdeps (libc6 for any Rust binary).
    debs = sorted((ROOT / "out" / project / "pkg-deb" / f"pkg-deb--{VECTOR}").glob("*.deb"))
    assert [d.name for d in debs] == [f"{package}_0.1.0-1_amd64.deb"]
    control = packages.deb_control(debs[0])
    assert control["Package"] == package and control["Version"] == "0.1.0-1"
    assert control["Architecture"] == "amd64"
    assert control["Description"].startswith(synopsis)
    assert re.search(r"(^|, )libc6 \(>= [0-9.]+\)", control["Depends"]), control["Depends"]
    assert packages.deb_files(debs[0]) == {
        f"usr/bin/{binary}",
        f"usr/share/doc/{package}/copyright",
        f"usr/share/doc/{package}/changelog.Debian.gz",
        f"usr/share/lintian/overrides/{package}",
    }
    rpms = sorted((ROOT / "out" / project / "pkg-rpm" / f"pkg-rpm--{VECTOR}").glob("*.rpm"))
    assert [r.name for r in rpms] == [f"{package}-0.1.0-1.x86_64.rpm"]
    assert rpms[0].read_bytes()[:4] == b"\xed\xab\xee\xdb"  # rpm's lead
    # Beside each package, its SBOM: SPDX 2.3, the crates the binary was compiled from
    # (docs/attestations.md); hitcount's vendored itoa with its version and Cargo.lock's checksum.
    for built in (debs[0], rpms[0]):
        sbom = json.loads(built.with_name(built.name + ".spdx.json").read_text())
        assert attestations.spdx_problems(sbom) == []
        assert attestations.crates(sbom) == CRATES[project]
        assert sbom["packages"][0]["name"] == package
    if project == "hitcount":
        (itoa,) = [p for p in sbom["packages"] if p["name"] == "itoa"]
        assert itoa["versionInfo"] == "1.0.1"
        assert itoa["checksums"][0]["checksumValue"] == (
            "1aab8fc367588b89dcee83ab0fd66b72b50b72fa1904d7095045ace2b0c81c35"
        )

    steps = _logs(result)
    # The install checks ran this time (a fresh smoke_timeout), each to the end.
    for stage in ("pkg-deb-install", "apt-repo-install"):
        assert steps[stage].state == "ran", (stage, steps[stage].state)
        log = _text(steps[stage])
        assert f"bakery-pkg: {stage}: installed {package}: 4 files" in log
        assert f"bakery-smoke: {stage}: passed" in log
        assert f"bakery-pkg: {stage}: removed {package}; none of its files is left" in log
    assert "deb [trusted=yes] file:/srv/apt-repo ./" in _text(steps["apt-repo-install"])
    rpm_log = _text(steps["pkg-rpm-install"])
    assert steps["pkg-rpm-install"].state == "ran"
    assert re.search(rf"^Name\s+: {package}$", rpm_log, re.M), rpm_log[-2000:]
    assert "bakery-smoke: pkg-rpm-install: passed" in rpm_log
    # lintian ran on the deb and passed (this time, or in the build its CACHED step came from).
    deb_step = steps["deb"]
    assert deb_step.state in ("ran", "cached")
    if deb_step.state == "ran":
        assert f"O: {package}: no-manual-page [usr/bin/{binary}]" in _text(deb_step)
        assert "bakery-pkg: deb: built" in _text(deb_step)
    print(f"\n{project}: packages bake {elapsed:.1f} s")


def _oci_layout(directory: Path) -> tuple[bytes, list[str]]:
    """The layout as a tarball, and its image's layer media types."""
    index = json.loads((directory / "index.json").read_text())
    (manifest,) = index["manifests"]
    digest = manifest["digest"].split(":", 1)[1]
    layers = json.loads((directory / "blobs" / "sha256" / digest).read_text())["layers"]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in ("oci-layout", "index.json", "blobs"):
            tar.add(directory / name, arcname=name)
    return buffer.getvalue(), [layer["mediaType"] for layer in layers]


def _run(image: str, *args: str, entrypoint: str | None = None) -> subprocess.CompletedProcess[str]:
    argv = ["docker", "run", "--rm", "--network", "none"]
    if entrypoint:
        argv += ["--entrypoint", entrypoint]
    return subprocess.run([*argv, image, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_static_image_and_zstd_oci_outputs(project: str) -> None:
    settings, _, binary, _ = PROJECTS[project]
    result, elapsed = _bake("static,tests-static,oci", {**settings, "smoke_timeout": str(random.randint(40, 240))})
    steps = _logs(result)
    startup = _text(steps["smoketest-static-startup"])
    # file(1) on the binary the static image carries: no interpreter, no shared libraries.
    assert re.search(rf"/opt/static/{binary}: ELF 64-bit .*(static-pie|statically) linked", startup), startup
    assert "bakery-smoke: smoketest-static-startup: passed" in startup
    version = _text(steps["smoketest-static"])
    if project == "mxd":
        assert "bakery-smoke: smoketest-static: running /usr/local/bin/entrypoint -V" in version
        assert "bakery-smoke: smoketest-static: passed" in version
    else:
        assert "bakery-smoke: smoketest-static: skipped (its arguments are empty)" in version

    # The static image holds the binary, its entrypoint link and the CA bundle, nothing else.
    static = f"{project}/static--{VECTOR}:latest"
    created = subprocess.run(["docker", "create", static], capture_output=True, text=True, check=True).stdout.strip()
    try:
        exported = subprocess.run(["docker", "export", created], capture_output=True, check=True).stdout
    finally:
        subprocess.run(["docker", "rm", created], capture_output=True, check=False)
    # docker export adds the container's own files (.dockerenv, etc/hosts, the etc/mtab link, ...).
    runtime = {".dockerenv", "etc/hosts", "etc/hostname", "etc/resolv.conf", "dev/console", "etc/mtab"}
    with tarfile.open(fileobj=io.BytesIO(exported)) as tar:
        files = {m.name for m in tar.getmembers() if m.isfile() or m.issym()} - runtime
    assert files == {f"usr/bin/{binary}", "usr/local/bin/entrypoint", "etc/ssl/certs/ca-certificates.crt"}

    # Both OCI layouts: zstd layers, loaded into the engine and run.
    for family in ("oci-image", "oci-static"):
        layout = ROOT / "out" / project / family / f"{family}--{VECTOR}"
        tarball, media_types = _oci_layout(layout)
        assert media_types and all(t.endswith("+zstd") for t in media_types), media_types
        loaded = subprocess.run(["docker", "load"], input=tarball, capture_output=True, check=False)
        assert loaded.returncode == 0, loaded.stderr
        tag = f"{project}/{family}--{VECTOR}:latest"
        assert f"Loaded image: {tag}" in loaded.stdout.decode()
        try:
            if project == "mxd":
                out = _run(tag, "-V")
                # mxd's own version line, not the exact version: every checkout of the project
                # shares the no-chef cargo target cache mount, and cargo judges freshness by
                # mtime, so an older checkout's build can reuse a newer edited copy's binary.
                assert out.returncode == 0 and re.match(r"mxd \S+ \(features: ", out.stdout), out.stdout + out.stderr
            elif family == "oci-image":
                out = _listen_briefly(tag, binary)
                assert "hitcountd: listening on port 0" in out.stderr, out.stderr
            else:
                # scratch has no timeout(1): run detached, read the first line, remove it.
                out = _detached_output(tag, "0")
                assert "hitcountd: listening on port 0" in out.stderr, out.stderr
        finally:
            subprocess.run(["docker", "image", "rm", tag], capture_output=True, check=False)
    print(f"\n{project}: static and OCI bake {elapsed:.1f} s")


def _listen_briefly(image: str, binary: str) -> subprocess.CompletedProcess[str]:
    """hitcountd only listens: it says so on stderr, and keeps listening until
    timeout(1) ends it (exit 124). timeout runs under sh: as the container's
    PID 1 it exits 125 before starting anything."""
    out = _run(image, "-c", f"timeout 2 /usr/bin/{binary} 0", entrypoint="sh")
    assert out.returncode == 124, (out.returncode, out.stderr)
    return out


def _detached_output(image: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A server in a scratch image (no timeout binary in it): run detached,
    read its first line, then remove it."""
    started = subprocess.run(
        ["docker", "run", "-d", "--network", "none", image, *args], capture_output=True, text=True, check=True
    )
    container = started.stdout.strip()
    try:
        deadline = time.monotonic() + 20
        while True:
            logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True, check=False)
            if logs.stderr.strip() or time.monotonic() > deadline:
                return logs
            time.sleep(0.2)
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)


def test_two_projects_on_one_engine_keep_their_own_images() -> None:
    """Same instance names, one engine: the tags carry the project, so the
    second bake does not replace the first one's image."""
    _bake("install", {})
    _bake("install", HITCOUNT)
    mxd = _run(f"mxd/install--{VECTOR}:latest", "-V", entrypoint="/usr/bin/mxd")
    assert mxd.returncode == 0 and re.match(r"mxd \S+ \(features: ", mxd.stdout), mxd.stdout + mxd.stderr
    hitcount = _listen_briefly(f"hitcount/install--{VECTOR}:latest", "hitcountd")
    assert "hitcountd: listening on port 0" in hitcount.stderr, hitcount.stderr
    missing = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "ls", f"hitcount/install--{VECTOR}:latest",
         "/usr/bin/mxd"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert missing.returncode != 0, "hitcount's image carries mxd"
