"""A fixture project's vendor/ assembled from Debian's librust-*-dev packages.

tests/fixtures/lookout commits only its own code: its crates are Debian's, so
the repository carries no third-party source and the versions are the ones
Debian testing's rustc builds. `assemble` copies the fixture into a cache
directory, runs tests/support/debian-vendor.sh in a container of the root image
(the root image's apt sources and mirror; the host may be on another Debian
release), which downloads the packages' dependency closure with apt, extracts
/usr/share/cargo/registry/<crate>-<version>/ of each into vendor/ and writes
Cargo.lock offline with Debian's cargo. The result is kept, keyed by the
fixture's files and the package list, so later runs reuse it; delete the
directory to take Debian's newer versions.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from bakery import ROOT
from bakery.engine import docker

FIXTURES = ROOT / "tests" / "fixtures"
SCRIPT = Path(__file__).resolve().parent / "debian-vendor.sh"
ROOT_IMAGE = "debian:testing-slim"
# Part of the cache key: raise it when what `assemble` makes changes.
LAYOUT = "2"

# Each fixture's Debian packages: its direct dependencies; apt adds the closure.
PACKAGES = {
    "lookout": (
        "librust-bytes-dev",
        "librust-http-dev",
        "librust-http-body-util-dev",
        "librust-hyper-dev",
        "librust-hyper-util-dev",
        "librust-regex-dev",
        "librust-serde-dev",
        "librust-serde-derive-dev",
        "librust-serde-json-dev",
        "librust-tokio-dev",
        "librust-tracing-dev",
        "librust-tracing-subscriber-dev",
    ),
}

# Source replacement: the crates registry is served from vendor/ (`cargo vendor` layout).
CARGO_CONFIG = """\
# Written by tests/support/debian_vendor.py: vendor/ holds Debian's crate
# sources, so every cargo step runs offline.
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "vendor"
"""


def cache_root() -> Path:
    """Where assembled fixtures are kept: BAKERY_FIXTURE_CACHE, else ~/.cache/bakery-fixtures
    (not XDG_CACHE_HOME: the tests point that at a fresh directory each)."""
    return Path(os.environ.get("BAKERY_FIXTURE_CACHE") or Path.home() / ".cache" / "bakery-fixtures")


def _key(fixture: Path, packages: tuple[str, ...], image: str) -> str:
    digest = hashlib.sha256()
    for part in (LAYOUT, image, *packages, SCRIPT.read_text()):
        digest.update(part.encode() + b"\0")
    for path in sorted(p for p in fixture.rglob("*") if p.is_file() and "target" not in p.parts):
        digest.update(str(path.relative_to(fixture)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def assemble(name: str = "lookout", *, image: str = ROOT_IMAGE, cache: Path | None = None) -> Path:
    """The fixture `name` with vendor/, .cargo/config.toml and Cargo.lock, ready to build offline.

    Built once per fixture content and package list; a later call returns the kept copy."""
    fixture = FIXTURES / name
    packages = PACKAGES[name]
    cache = cache or cache_root()
    done = cache / f"{name}-{_key(fixture, packages, image)}"
    if (done / "Cargo.lock").is_file():
        return done
    cache.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=cache))
    try:
        shutil.copytree(fixture, stage, dirs_exist_ok=True, ignore=shutil.ignore_patterns("target"))
        (stage / ".cargo").mkdir(exist_ok=True)
        (stage / ".cargo" / "config.toml").write_text(CARGO_CONFIG)
        docker.run(
            [
                "run", "--rm",
                "--volume", f"{SCRIPT}:/usr/local/bin/debian-vendor:ro",
                "--volume", f"{stage}:/mnt/project",
                image,
                "bash", "/usr/local/bin/debian-vendor", "/mnt/project", str(os.getuid()), str(os.getgid()),
                *packages,
            ]
        )  # fmt: skip
        _prune(stage)
        if done.exists():
            shutil.rmtree(stage)
        else:
            stage.replace(done)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return done


def locked(project: Path) -> set[tuple[str, str]]:
    """(name, version) of every package Cargo.lock lists."""
    packages, name = set(), None
    for line in (project / "Cargo.lock").read_text().splitlines():
        if line.startswith("name = "):
            name = line.split('"')[1]
        elif line.startswith("version = ") and name is not None:
            packages.add((name, line.split('"')[1]))
            name = None
    return packages


def _prune(project: Path) -> None:
    """Keep in vendor/ only the crates Cargo.lock lists: apt's closure holds every
    feature's dependencies, most of which this project never builds."""
    keep = {f"{name}-{version}" for name, version in locked(project)}
    for crate in (project / "vendor").iterdir():
        if crate.name not in keep:
            shutil.rmtree(crate)


def crates(project: Path) -> list[str]:
    """The packages Cargo.lock lists, the project's own (path packages, no source) excluded."""
    names, name, has_source = [], None, False
    for line in [*(project / "Cargo.lock").read_text().splitlines(), "[[package]]"]:
        if line == "[[package]]":
            if name is not None and has_source:
                names.append(name)
            name, has_source = None, False
        elif line.startswith("name = "):
            name = line.split('"')[1]
        elif line.startswith("source = "):
            has_source = True
    return names
