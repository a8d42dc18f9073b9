"""The Python front against the real buildx, at the plan level."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from bakery import ROOT
from tests.conftest import VENV_BIN, invoke

pytestmark = pytest.mark.usefixtures("buildx_cli")


def _json_after_log(stdout: str) -> dict:
    return json.loads(stdout[stdout.index("{") :])


def test_invoke_print_equals_bare_bake_print() -> None:
    env = {"feat_set": "all", "cargo_profile": "test"}
    ours = invoke("bake", "--print", "tests-smoke", env=env)
    assert ours.returncode == 0, ours.stderr
    bare_env = {**os.environ, "feat_sets": '["all"]', "cargo_profiles": '["test"]'}
    bare = subprocess.run(
        ["docker", "buildx", "bake", "-f", "docker/bake.hcl", "--print", "tests-smoke"],
        cwd=ROOT, env=bare_env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert _json_after_log(ours.stdout) == json.loads(bare.stdout)
    assert (
        "smoketest-version--test--distro--x86_64-unknown-linux-gnu--all--debian--testing-slim--x86_64-v1-linux-gnu"
        in ours.stdout
    )


def test_excluded_vectors_are_split_into_cross_product_blocks() -> None:
    # The ci matrix excludes test+stable+none: 11 vectors, never 12.
    result = invoke("bake", "--matrix", "ci", "--print", "install")
    assert result.returncode == 0, result.stderr
    decoder = json.JSONDecoder()
    text, installs, position = result.stdout, set(), 0
    while (start := text.find("{", position)) != -1:
        block, position = decoder.raw_decode(text, start)
        installs |= {n for n in block["target"] if n.startswith("install--")}
    assert len(installs) == 11
    assert (
        "install--test--stable--x86_64-unknown-linux-gnu--none--debian--testing-slim--x86_64-v1-linux-gnu"
        not in installs
    )


def test_nox_lists_one_session_per_vector_of_the_active_matrix() -> None:
    listed = subprocess.run(
        [str(VENV_BIN / "nox"), "-l", "--json", "-k", "bake"], cwd=ROOT, capture_output=True, text=True, check=True,
        env={**os.environ, "BAKERY_MATRIX": "ci"},
    )  # fmt: skip
    names = [s["session"] for s in json.loads(listed.stdout) if s["session"].startswith("bake(")]
    assert names == [
        "bake(sys=debian,feat=none,profile=test,toolchain=nightly)",
        "bake(sys=debian,feat=default,profile=test,toolchain=nightly)",
        "bake(sys=debian,feat=default,profile=test,toolchain=stable)",
        "bake(sys=debian,feat=all,profile=test,toolchain=nightly)",
        "bake(sys=debian,feat=all,profile=test,toolchain=stable)",
        "bake(sys=debian,feat=none,profile=release,toolchain=nightly)",
        "bake(sys=debian,feat=none,profile=release,toolchain=stable)",
        "bake(sys=debian,feat=default,profile=release,toolchain=nightly)",
        "bake(sys=debian,feat=default,profile=release,toolchain=stable)",
        "bake(sys=debian,feat=all,profile=release,toolchain=nightly)",
        "bake(sys=debian,feat=all,profile=release,toolchain=stable)",
    ]


def test_nox_tags_select_by_axis_value() -> None:
    listed = subprocess.run(
        [str(VENV_BIN / "nox"), "-l", "--json", "-t", "all"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    names = [s["session"] for s in json.loads(listed.stdout)]
    assert names == ["bake(sys=debian,feat=all)"]


def test_plan_reports_sharing_against_a_naive_build(tmp_path) -> None:
    result = invoke("plan", "install", "--matrix", "default", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    # 3 vectors over feat_set: the two roots and source shared by all three.
    assert "  3 vectors share system--debian--testing-slim--x86_64-v1-linux-gnu" in result.stdout
    assert "  3 vectors share build-system--debian--testing-slim--x86_64-v1-linux-gnu" in result.stdout
    assert "  3 vectors share source--debian--testing-slim--x86_64-v1-linux-gnu" in result.stdout
    # Per vector: system, build-system, source, diner, kitchen, cookware, chef,
    # ingredients, preparing, recipe, deps-base, deps-build-bins, build-bins, install = 14.
    assert "36 instances for 3 vectors; a naive per-vector build needs 42" in result.stdout
    dot = (tmp_path / "tree.dot").read_text()
    assert dot.startswith("digraph families {")
    # One box per family: its instance count for the selection and its sharing.
    assert '"system" [label="system\\n1 instance\\nshared by 3 of 3 vectors", fillcolor=lightblue];' in dot
    assert '"install" [label="install\\n3 instances\\nnot shared", fillcolor=white];' in dot
    assert '"install" -> "diner";' in dot


def test_plan_shows_what_the_system_cells_share(tmp_path) -> None:
    """The systems matrix: testing and trixie x x86-64 v1, v3 and arm64. No
    instance name is shared (each names its system target), but the roots of
    v1 and v3 are one build, and the build side (build-system, kitchen) is one
    build per suite for all three targets, the cross one included."""
    result = invoke("plan", "install", "--matrix", "systems", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "build-system: 6 instances are 2 builds" in lines
    assert "kitchen: 6 instances are 2 builds" in lines
    # Per suite: one amd64 root for v1 and v3, one arm64 root; so for diner.
    assert "system: 6 instances are 4 builds" in lines
    assert "diner: 6 instances are 4 builds" in lines
    # The x86-64 toolchain is one per suite; the cross one has its own.
    assert "cookware: 6 instances are 4 builds" in lines
    # The compiles differ by target-cpu: no line for deps-*, build-bins or install.
    assert not [line for line in lines if line.startswith(("deps-base:", "build-bins:", "install:"))]
    assert "84 instances for 6 vectors; a naive per-vector build needs 84 (1.00 of naive, 0 shared)" in lines
    assert "60 distinct builds (0.71 of naive): names differ, definitions do not" in lines


def test_plan_can_draw_the_instance_graph(tmp_path) -> None:
    result = invoke("plan", "install", "--instances", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    dot = (tmp_path / "tree.dot").read_text()
    assert dot.startswith("digraph tree {")
    sys = "debian--testing-slim--x86_64-v1-linux-gnu"
    assert f'"source--{sys}" -> "system--{sys}";' in dot


def test_the_family_picture_of_the_ci_matrix_is_legible(tmp_path) -> None:
    """The family picture (docs/commands.md, "invoke plan"): for the ci matrix's default group, SVG and PNG at
    most 4,000 px wide at 96 dpi, every font at least 10 pt, no shrinking."""
    import re
    import shutil
    import struct

    if shutil.which("dot") is None:
        pytest.fail("graphviz is not installed; install it: apt-get install graphviz")
    result = invoke("plan", "--matrix", "ci", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert " instances for 11 vectors; a naive per-vector build needs " in result.stdout
    dot = (tmp_path / "tree.dot").read_text()
    assert not re.search(r"\b(size|ratio)\s*=", dot)
    svg = (tmp_path / "tree.svg").read_text()
    width_pt, height_pt = (float(v) for v in re.search(r'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"', svg).groups())
    # SVG user units are points (1/72 in): px at 96 dpi = pt * 96 / 72.
    assert 0 < width_pt * 96 / 72 <= 4000
    assert height_pt > 0
    assert 'viewBox="0.00 0.00 ' in svg and "scale(1 1)" in svg  # drawn at full size
    sizes = {float(v) for v in re.findall(r'font-size="([0-9.]+)"', svg)}
    assert sizes and min(sizes) >= 10
    assert svg.count('class="node"') == dot.count("[label=")
    png = (tmp_path / "tree.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    png_width, png_height = struct.unpack(">II", png[16:24])
    assert 0 < png_width <= 4000 and png_height > 0
