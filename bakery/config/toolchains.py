"""Which Rust a `distro` vector gets, checked against the project's
`rust-version` before a bake.

A Debian release ships one rustc: bookworm 1.63, trixie 1.85 (the versions
of its `rustc` package, packages.debian.org). A project whose `rust-version`
is newer fails inside cargo on such a vector, deep in `cargo fetch`; the
table in docker/matrix.toml ([distro_rustc]) lets the bake stop first, with
one line. Suites that move (testing, sid) are not listed and not checked.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from bakery import ROOT
from bakery.config.matrix import DEFINITION, Vector
from bakery.config.settings import Settings
from bakery.errors import UsageError

_REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://|^git@")


def suite_for(settings: Settings, sys_version: str) -> str:
    """The Debian suite: the BAKERY_SUITE setting, else the tag without the
    image variant (testing-slim -> testing, bookworm-slim -> bookworm)."""
    return settings.suite or sys_version.removesuffix("-slim")


def distro_rustc(sys_name: str, suite: str, path: Path = DEFINITION) -> str | None:
    """The rustc version of a release's distro toolchain, when the table has it."""
    table = tomllib.loads(path.read_text()).get("distro_rustc", {})
    value = table.get(sys_name, {}).get(suite)
    return str(value) if value is not None else None


def rust_version(manifest: Path) -> str | None:
    """`rust-version` of a Cargo.toml: its package's, else its workspace's."""
    try:
        data = tomllib.loads(manifest.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    package: Mapping[str, object] = data.get("package") or {}
    workspace: Mapping[str, object] = (data.get("workspace") or {}).get("package") or {}
    for table in (package, workspace):
        value = table.get("rust-version")
        if isinstance(value, str):
            return value
    return None


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def require(settings: Settings, vectors: Iterable[Vector]) -> None:
    """A UsageError naming the toolchain and the rust-version when a distro
    vector's release ships a rustc older than the project needs."""
    source = settings.tree_value("source_location")
    if _REMOTE.match(source):
        return  # a git source: its Cargo.toml is not here to read
    needed = rust_version(ROOT / source / "Cargo.toml")
    if needed is None:
        return
    for vector in vectors:
        values = vector.as_dict()
        if values.get("rust_toolchain") != "distro" or "sys_version" not in values:
            continue
        suite = suite_for(settings, values["sys_version"])
        have = distro_rustc(values.get("sys_name", ""), suite)
        if have is not None and _version(have) < _version(needed):
            raise UsageError(
                f"{settings.tree_value('project_name')} needs rust-version {needed} (its Cargo.toml), but "
                f"{values['sys_name']} {suite}'s distro toolchain is rustc {have}; leave sys_version="
                f"{values['sys_version']} out or use a rustup toolchain (--rust-toolchain {needed})"
            )
