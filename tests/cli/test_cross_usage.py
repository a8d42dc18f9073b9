"""Vectors that cannot work are usage errors before anything runs: a
rust_target whose binaries its sys_target cannot run
(docs/decisions/cross-builds.md), and a release whose distro rustc is older
than the project's rust-version (bakery/config/toolchains.py)."""

from __future__ import annotations

import os
import subprocess

from bakery import ROOT
from tests.conftest import VENV_BIN

MESSAGE = (
    "bakery: error: rust_target aarch64-unknown-linux-gnu builds aarch64 binaries, which sys_target "
    "x86_64-v1-linux-gnu (x86_64) cannot run; pair it with a sys_target of that architecture or exclude "
    "the pair (docker/matrix.toml [axes.sys_target.arch.x86_64] rust)"
)


def _invoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "invoke"), *args], cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, check=False
    )


def test_an_aarch64_rust_target_on_an_x86_64_system_is_one_line_and_exit_2():
    for argv in (("bake", "install"), ("bake", "--print", "install"), ("plan",)):
        result = _invoke(*argv, "--rust-target", "aarch64-unknown-linux-gnu")
        assert result.returncode == 2, (argv, result.stderr)
        assert result.stderr.strip().splitlines() == [MESSAGE], argv


def test_the_pair_that_runs_is_accepted():
    result = _invoke("matrix", "--format", "json", "--matrix", "plan72", "--rust-target", "aarch64-unknown-linux-gnu")
    assert result.returncode == 0, result.stderr
    assert '"aarch64-v8-linux-gnu"' in result.stdout and '"x86_64-v1-linux-gnu"' not in result.stdout


def test_a_release_whose_rustc_is_older_than_the_rust_version_is_one_line_before_buildx():
    result = _invoke("bake", "install", "--sys-version", "bookworm-slim")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "bakery: error: mxd needs rust-version 1.80 (its Cargo.toml), but debian bookworm's distro toolchain "
        "is rustc 1.63; leave sys_version=bookworm-slim out or use a rustup toolchain (--rust-toolchain 1.80)"
    ]
    assert result.stdout == ""
