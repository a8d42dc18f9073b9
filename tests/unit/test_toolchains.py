"""The distro toolchain of a release against the project's rust-version
(bakery.config.toolchains), before a bake."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakery import ROOT
from bakery.config import toolchains
from bakery.errors import UsageError
from tests.support.settings import load


def test_the_rust_version_of_a_workspace_and_of_a_package():
    assert toolchains.rust_version(ROOT / "example" / "Cargo.toml") == "1.80"
    assert toolchains.rust_version(ROOT / "tests" / "fixtures" / "hitcount" / "Cargo.toml") == "1.63"
    assert toolchains.rust_version(ROOT / "no-such-dir" / "Cargo.toml") is None


def test_the_table_names_the_released_suites_only():
    assert toolchains.distro_rustc("debian", "bookworm") == "1.63"
    assert toolchains.distro_rustc("debian", "trixie") == "1.85"
    assert toolchains.distro_rustc("debian", "testing") is None
    assert toolchains.distro_rustc("ubuntu", "bookworm") is None


def test_bookworm_cannot_build_the_example_with_its_distro_rustc():
    loaded = load(sys_version="bookworm-slim")
    with pytest.raises(UsageError) as info:
        toolchains.require(loaded, loaded.vectors())
    assert str(info.value) == (
        "mxd needs rust-version 1.80 (its Cargo.toml), but debian bookworm's distro toolchain is rustc 1.63; "
        "leave sys_version=bookworm-slim out or use a rustup toolchain (--rust-toolchain 1.80)"
    )


@pytest.mark.parametrize(
    "settings",
    [
        {"sys_version": "trixie-slim"},
        {"sys_version": "testing-slim"},
        {"sys_version": "bookworm-slim", "rust_toolchain": "1.80"},
        {"sys_version": "bookworm-slim", "source_location": "tests/fixtures/hitcount"},
        {"sys_version": "bookworm-slim", "source_location": "https://example.invalid/mxd.git"},
    ],
)
def test_what_the_release_can_build_passes(settings: dict[str, str]):
    loaded = load(**settings)
    toolchains.require(loaded, loaded.vectors())


def test_the_suite_setting_wins_over_the_tag(tmp_path: Path):
    loaded = load(sys_version="stable-slim", BAKERY_SUITE="bookworm")
    with pytest.raises(UsageError, match=r"debian bookworm's distro toolchain is rustc 1\.63"):
        toolchains.require(loaded, loaded.vectors())
