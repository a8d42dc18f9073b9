"""docker/matrix.toml is the one axis definition (docs/tree.md).

In a temporary copy of the repository, add a value to an axis and a whole new
axis that one family (kitchen) uses as a build arg to matrix.toml, run
`invoke generate`, and change nothing else: `invoke bake --print`,
`invoke matrix`, `nox -l` and every `--help` show them. The expected options,
ids, names and values are written here by hand. (tests/plan/test_generate.py
checks the generated tree itself, family by family.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bakery import ROOT
from tests.conftest import VENV_BIN

NEW_AXIS = """
[axes.libc]
description = "C library of the runtime"
values = ["gnu", "musl"]
default = "gnu"
flag = "libc"
help = "C library(s): gnu or musl"
nox = "libc"
used_by = "kitchen"
"""

# Every task that selects vectors, and so takes the axis options.
SELECTING = ("bake", "plan", "matrix", "complement", "system-image")


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    root = tmp_path_factory.mktemp("repo")
    for name in files.splitlines():
        # docs/settings.md: `invoke generate` also rewrites its settings table.
        keep = ("tasks.py", "noxfile.py", "pyproject.toml", "docs/settings.md")
        if name.startswith(("docker/", "bakery/")) or name in keep:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, root / name)
    matrix = root / "docker" / "matrix.toml"
    text = matrix.read_text()
    text = text.replace('values = ["none", "default", "all"]', 'values = ["none", "default", "all", "tiny"]', 1)
    # The new axis goes last among the axes (before the first non-axis table).
    text = text.replace("\n[nox]", NEW_AXIS + "\n[nox]", 1)
    text = text.replace('[matrices.default]\nfeat_set = ["none", "default", "all"]',
                        '[matrices.default]\nfeat_set = ["none", "tiny"]\nlibc = ["gnu", "musl"]', 1)  # fmt: skip
    matrix.write_text(text)
    generated = run(root, str(VENV_BIN / "invoke"), "generate")
    assert generated.returncode == 0, generated.stderr
    assert generated.stdout.splitlines() == [
        f"{root / 'docker' / 'bake.hcl'}: rewritten",
        f"{root / 'docs' / 'settings.md'}: up to date",
    ]
    return root


def run(copy: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(copy), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(argv, cwd=copy, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("task", SELECTING)
def test_every_selecting_task_takes_the_new_axis(copy: Path, task: str):
    result = run(copy, str(VENV_BIN / "invoke"), task, "--help")
    assert result.returncode == 0, result.stderr
    assert "--libc=STRING" in result.stdout
    assert "C library(s): gnu or musl" in result.stdout
    # Long options only: no broken automatic short flags.
    assert "--=" not in result.stdout


def test_invoke_matrix_shows_the_new_value_and_axis(copy: Path):
    result = run(copy, str(VENV_BIN / "invoke"), "matrix", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["feat_set"], r["libc"]) for r in rows] == [
        ("none", "gnu"), ("none", "musl"), ("tiny", "gnu"), ("tiny", "musl"),
    ]  # fmt: skip
    chosen = run(copy, str(VENV_BIN / "invoke"), "matrix", "--format", "json", "--libc", "musl")
    assert [(r["feat_set"], r["libc"]) for r in json.loads(chosen.stdout)] == [("none", "musl"), ("tiny", "musl")]


def test_a_bad_value_of_the_new_axis_is_a_usage_error(copy: Path):
    result = run(copy, str(VENV_BIN / "invoke"), "matrix", "--libc", "uclibc")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "bakery: error: --libc: 'uclibc' is not a valid libc; allowed: one of gnu, musl"
    ]


def test_nox_lists_sessions_with_the_new_axis(copy: Path):
    result = run(copy, str(VENV_BIN / "nox"), "-l", "--json", "-k", "bake")
    assert result.returncode == 0, result.stderr
    ids = [s["session"] for s in json.loads(result.stdout) if s["session"].startswith("bake(")]
    assert ids == [
        "bake(sys=debian,feat=none,libc=gnu)",
        "bake(sys=debian,feat=none,libc=musl)",
        "bake(sys=debian,feat=tiny,libc=gnu)",
        "bake(sys=debian,feat=tiny,libc=musl)",
    ]
    tagged = run(copy, str(VENV_BIN / "nox"), "-l", "--json", "-t", "musl")
    assert [s["session"] for s in json.loads(tagged.stdout)] == [
        "bake(sys=debian,feat=none,libc=musl)",
        "bake(sys=debian,feat=tiny,libc=musl)",
    ]


def test_bake_print_shows_the_new_axis_in_names_and_build_args(copy: Path):
    result = run(copy, str(VENV_BIN / "invoke"), "bake", "--print", "kitchen", "--feat-set", "tiny", "--libc", "musl")
    assert result.returncode == 0, result.stderr
    targets = json.loads(result.stdout)["target"]
    # kitchen sits on the build side's root (docs/decisions/cross-builds.md).
    assert sorted(targets) == [
        "build-system--debian--testing-slim--x86_64-v1-linux-gnu",
        "kitchen--tiny--debian--testing-slim--x86_64-v1-linux-gnu--musl",
    ]
    assert targets["kitchen--tiny--debian--testing-slim--x86_64-v1-linux-gnu--musl"]["args"]["libc"] == "musl"
    assert "libc" not in targets["build-system--debian--testing-slim--x86_64-v1-linux-gnu"].get("args", {})


def test_a_broken_matrix_toml_is_one_line_and_exit_2(tmp_path: Path):
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in files.splitlines():
        if name.startswith(("docker/", "bakery/")) or name in ("tasks.py", "noxfile.py"):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tmp_path / name)
    matrix = tmp_path / "docker" / "matrix.toml"
    matrix.write_text(matrix.read_text().replace('flag = "cargo-profile"', 'flag = "Cargo_Profile"', 1))
    for argv in (("--list",), ("matrix",)):
        result = run(tmp_path, str(VENV_BIN / "invoke"), *argv)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines() == [
            "bakery: error: matrix.toml: axis cargo_profile has flag 'Cargo_Profile'; "
            "allowed: ^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
        ]
