"""Unit tests for bakery.tree.plan: one `--print` for the whole selection, each
vector's instances as its closure over the links, and the family picture."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakery.config.matrix import Vector
from bakery.engine import process
from bakery.errors import BakeryError
from bakery.tree import plan
from tests.conftest import Recorder


def vector(profile: str, sys: str) -> Vector:
    return Vector((("cargo_profile", profile), ("sys_name", sys)))


# What `--print install` gives for profiles p, q x systems a, b: the full cross
# product, although the selection below excludes (q, b).
DEFINITION = {
    "group": {
        "default": {"targets": ["install"]},
        "install": {"targets": ["install--p--a", "install--p--b", "install--q--a", "install--q--b"]},
    },
    "target": {
        "system--a": {},
        "system--b": {},
        "source": {},
        **{
            f"install--{p}--{s}": {"contexts": {"input": f"target:system--{s}", "src": "target:source"}}
            for p in "pq"
            for s in "ab"
        },
    },
}
SELECTION = [vector("p", "a"), vector("p", "b"), vector("q", "a")]


def test_each_vector_counts_only_its_own_closure():
    found = plan.from_definition(DEFINITION, ["install"], SELECTION)
    assert found.users == {
        "install--p--a": {"cargo_profile=p,sys_name=a"},
        "install--p--b": {"cargo_profile=p,sys_name=b"},
        "install--q--a": {"cargo_profile=q,sys_name=a"},
        "system--a": {"cargo_profile=p,sys_name=a", "cargo_profile=q,sys_name=a"},
        "system--b": {"cargo_profile=p,sys_name=b"},
        "source": {"cargo_profile=p,sys_name=a", "cargo_profile=p,sys_name=b", "cargo_profile=q,sys_name=a"},
    }
    assert "install--q--b" not in found.users  # printed, but excluded from the selection
    assert found.per_vector == {
        "cargo_profile=p,sys_name=a": 3,
        "cargo_profile=p,sys_name=b": 3,
        "cargo_profile=q,sys_name=a": 3,
    }
    assert (found.total, found.naive) == (6, 9)
    assert plan.report(found)[-1] == (
        "6 instances for 3 vectors; a naive per-vector build needs 9 (0.67 of naive, 2 shared)"
    )


def test_groups_expand_to_instances():
    found = plan.from_definition(DEFINITION, ["default"], [vector("q", "b")])
    assert sorted(found.users) == ["install--q--b", "source", "system--b"]


def test_the_family_graph_has_one_box_per_family():
    found = plan.from_definition(DEFINITION, ["install"], SELECTION)
    assert found.families() == {
        "install": ["install--p--a", "install--p--b", "install--q--a"],
        "source": ["source"],
        "system": ["system--a", "system--b"],
    }
    assert found.sharing("install") == "not shared"
    assert found.sharing("source") == "shared by 3 of 3 vectors"
    assert found.sharing("system") == "shared by 1-2 of 3"
    assert found.family_dot() == (
        "digraph families {\n"
        "  rankdir=RL;\n"
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=12];\n'
        "  edge [arrowsize=0.7];\n"
        '  "install" [label="install\\n3 instances\\nnot shared", fillcolor=white];\n'
        '  "source" [label="source\\n1 instance\\nshared by 3 of 3 vectors", fillcolor=lightblue];\n'
        '  "system" [label="system\\n2 instances\\nshared by 1-2 of 3", fillcolor=lightblue];\n'
        '  "install" -> "source";\n'
        '  "install" -> "system";\n'
        "}\n"
    )


def test_equal_sharing_says_each():
    found = plan.from_definition(
        DEFINITION, ["install"], [vector("p", "a"), vector("q", "a"), vector("p", "b"), vector("q", "b")]
    )
    assert found.sharing("system") == "each shared by 2 of 4"


def test_a_graphviz_failure_is_one_line_bakery_error(seam: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "dot").write_text("#!/bin/sh\nexit 1\n")
    (tmp_path / "bin" / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    seam.respond = lambda call: process.Completed(call.argv, 1, "", "Error: <stdin>: syntax error in line 3\n")
    found = plan.from_definition(DEFINITION, ["install"], SELECTION)
    with pytest.raises(BakeryError) as info:
        plan.write_graph(found, tmp_path)
    assert str(info.value) == (
        f"graphviz could not draw {tmp_path / 'tree.dot'} as svg (exit 1: Error: <stdin>: syntax error in line 3)"
    )
    # SVG and PNG are drawn concurrently; the first failure in that order is reported.
    assert sorted(seam.argvs) == [
        ("dot", "-Tpng", str(tmp_path / "tree.dot"), "-o", str(tmp_path / "tree.png")),
        ("dot", "-Tsvg", str(tmp_path / "tree.dot"), "-o", str(tmp_path / "tree.svg")),
    ]


def test_family_axes_from_the_tree_where_two_axes_share_a_value():
    """`diner` varies over sys_name only. In the first vector cargo_profile
    has the same value, so learning positions from names alone would take
    the wrong axis and lose diner from the second vector."""
    definition = {"target": {"diner--a": {}, "diner--b": {}}, "group": {}}
    selection = [vector("a", "a"), vector("q", "b")]
    found = plan.from_definition(definition, ["diner--a", "diner--b"], selection, {"diner": (1,)})
    assert found.users == {"diner--a": {"cargo_profile=a,sys_name=a"}, "diner--b": {"cargo_profile=q,sys_name=b"}}
    guessed = plan.from_definition(definition, ["diner--a", "diner--b"], selection)
    assert "diner--b" not in guessed.users  # the guess this replaces
