"""Unit tests for bakery.tree.hclgen: bake.hcl's axis variables come from
docker/matrix.toml, and the committed file has not drifted."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.config.matrix import Axis, Definition, load
from bakery.errors import UsageError
from bakery.tree import hclgen

BAKE_HCL = ROOT / "docker" / "bake.hcl"


def test_committed_bake_hcl_has_not_drifted_from_the_definition():
    """The drift test: fix a failure with `invoke generate`."""
    assert hclgen.current(BAKE_HCL) == hclgen.render(load())
    assert hclgen.expected(BAKE_HCL, load()) == BAKE_HCL.read_text()
    assert hclgen.drifted(BAKE_HCL, load()) is False


def test_committed_section_holds_the_default_vector_written_out():
    section = hclgen.current(BAKE_HCL)
    for name, default in [
        ("cargo_profile", "release"),
        ("rust_toolchain", "distro"),
        ("rust_target", "x86_64-unknown-linux-gnu"),
        ("feat_set", "default"),
        ("sys_name", "debian"),
        ("sys_version", "testing-slim"),
        ("sys_target", "x86_64-v1-linux-gnu"),
    ]:
        block = re.search(rf'\n# [^\n]+\nvariable "{name}" {{ default = "([^"]*)" }}\n', section)
        assert block is not None, name
        assert block[1] == default
        assert (f'# JSON array of {name} values\nvariable "{name}s" {{ default = jsonencode([{name}]) }}\n') in section


def test_render_of_a_small_definition():
    definition = Definition(
        (
            Axis("x", 'An "x" axis', "a", values=("a", "b")),
            Axis("y", "Y", "1", pattern=re.compile(r"^[0-9]$")),
        )
    )
    assert hclgen.render(definition) == (
        "\n"
        '# An "x" axis\n'
        'variable "x" { default = "a" }\n'
        "# JSON array of x values\n"
        'variable "xs" { default = jsonencode([x]) }\n'
        "\n"
        "# Y\n"
        'variable "y" { default = "1" }\n'
        "# JSON array of y values\n"
        'variable "ys" { default = jsonencode([y]) }\n'
        "\n"
    )


def _with_default(definition: Definition, axis_name: str, default: str) -> Definition:
    axes = tuple(dataclasses.replace(a, default=default) if a.name == axis_name else a for a in definition.axes)
    return Definition(axes, definition.matrices)


def test_write_rewrites_only_the_generated_section(tmp_path: Path):
    copy = tmp_path / "bake.hcl"
    shutil.copy(BAKE_HCL, copy)
    before = copy.read_text()
    changed = _with_default(load(), "feat_set", "all")

    assert hclgen.write(copy, changed) is True
    after = copy.read_text()

    head_before, rest_before = before.split(hclgen.BEGIN)
    head_after, rest_after = after.split(hclgen.BEGIN)
    assert head_after == head_before
    assert rest_after.split(hclgen.END)[1] == rest_before.split(hclgen.END)[1]
    old_block = '# Cargo feature set, a key of feat_set_cargo_args\nvariable "feat_set" '
    assert old_block + '{ default = "default" }\n' in before
    assert old_block + '{ default = "all" }\n' in after
    # Exactly one line differs.
    diff = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert diff == [('variable "feat_set" { default = "default" }', 'variable "feat_set" { default = "all" }')]
    # A second run finds nothing to do.
    assert hclgen.write(copy, changed) is False
    assert copy.read_text() == after


def test_write_of_an_up_to_date_file_changes_nothing(tmp_path: Path):
    copy = tmp_path / "bake.hcl"
    shutil.copy(BAKE_HCL, copy)
    assert hclgen.write(copy, load()) is False
    assert copy.read_text() == BAKE_HCL.read_text()


@pytest.mark.parametrize(
    "text",
    [
        "no markers at all\n",
        hclgen.BEGIN + "x\n",
        hclgen.BEGIN + "x\n" + hclgen.END + hclgen.BEGIN + hclgen.END,
    ],
)
def test_a_file_without_exactly_one_section_is_refused(tmp_path: Path, text: str):
    path = tmp_path / "bake.hcl"
    path.write_text(text)
    with pytest.raises(UsageError, match=r"expected one generated-axes section"):
        hclgen.current(path)
    with pytest.raises(UsageError):
        hclgen.write(path, load())
    assert path.read_text() == text


def test_bake_hcl_variables_use_only_what_buildx_0_13_1_parses():
    """Our minimum buildx is Debian trixie's 0.13.1 (docs/decisions/buildx-minimum.md). It rejects a
    variable's `description`, `validation` and `type` ("Unsupported argument"),
    so descriptions are comments above each variable."""
    lines = BAKE_HCL.read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("variable ")]
    assert len(starts) > 40
    for i in starts:
        assert lines[i - 1].startswith("# "), f"{lines[i]}: no description comment above it"
        one_line = re.fullmatch(r'variable "[a-z_]+" \{ default = .* \}', lines[i])
        if not one_line:
            end = lines.index("}", i)
            keys = [m[1] for line in lines[i + 1 : end] if (m := re.match(r"  ([a-z_]+) =", line))]
            assert keys == ["default"], lines[i]


SMALL_TREE = """\
target "_common" {
  context = "docker"
}

target "root" {
  matrix = { v = family_cells["root"] }
  name = v.id
}

target "mid" {
  matrix = { v = family_cells["mid"] }
  contexts = { input = v.ref.root }
}

target "side" {
  matrix = { v = family_cells["side"] }
  contexts = { input = v.ref.root }
}

target "leaf-x" {
  matrix = { v = family_cells["leaf-x"] }
  contexts = { input = v.ref.mid, other = v.ref["side"], again = v.ref.mid }
}
"""


def _small(**used_by: str) -> Definition:
    return Definition(
        tuple(
            Axis(name, name.upper(), "a", values=("a", "b"), used_by=(family,), build_arg=name != "p")
            for name, family in used_by.items()
        )
    )


def test_families_are_read_from_the_blocks_with_their_parents_in_order():
    assert hclgen.families(SMALL_TREE) == [
        hclgen.Family("root", ()),
        hclgen.Family("mid", ("root",)),
        hclgen.Family("side", ("root",)),
        hclgen.Family("leaf-x", ("mid", "side")),
    ]


def test_family_axes_are_its_own_and_its_parents_in_axis_order():
    definition = _small(p="root", q="mid", r="side", s="leaf-x")
    axes = hclgen.family_axes(definition, hclgen.families(SMALL_TREE))
    assert axes == {"root": ("p",), "mid": ("p", "q"), "side": ("p", "r"), "leaf-x": ("p", "q", "r", "s")}


def test_render_tree_writes_axes_parents_and_build_args():
    text = hclgen.render_tree(_small(p="root", q="mid"), hclgen.families(SMALL_TREE))
    assert 'result = ["p", "q"]' in text
    assert "jsondecode(ps), jsondecode(qs)" in text
    assert '    { for f in [\n      "root", "side"\n    ] : f => ["p"] },\n' in text
    assert '    { for f in [\n      "mid", "leaf-x"\n    ] : f => ["p", "q"] }\n' in text
    assert 'root = [], mid = ["root"], side = ["root"], leaf-x = ["mid", "side"]' in text
    # p is passed by hand (build_arg false); q reaches mid alone as a build arg.
    assert 'function "family_args" {\n  params = []\n  result = {\n    mid = ["q"]\n  }\n}' in text


@pytest.mark.parametrize(
    ("tree", "used_by", "message"),
    [
        (SMALL_TREE, {"p": "nowhere"}, r"used_by = 'nowhere' is not a family of bake.hcl"),
        (SMALL_TREE.replace("v.ref.root }\n}\n\ntarget \"side\"", "v.ref.ghost }\n}\n\ntarget \"side\""),
         {"p": "root"}, r"mid links to 'ghost', which is not a family"),
        (SMALL_TREE.replace('name = v.id', 'contexts = { input = v.ref["leaf-x"] }'), {"p": "root"},
         r"families link in a cycle: root -> leaf-x -> mid -> root"),
    ],
)  # fmt: skip
def test_a_broken_tree_is_refused_with_one_line(tree: str, used_by: dict[str, str], message: str):
    with pytest.raises(UsageError, match=message):
        hclgen.family_axes(_small(**used_by), hclgen.families(tree))


def test_a_family_reading_another_familys_cells_is_refused():
    with pytest.raises(UsageError, match=r'target "mid" reads family_cells\["root"\]'):
        hclgen.families(SMALL_TREE.replace('family_cells["mid"]', 'family_cells["root"]'))


def test_the_docs_settings_table_is_generated_from_the_declarations(tmp_path):
    from bakery.config import reference

    page = tmp_path / "settings.md"
    page.write_text("# Settings\n\n" + reference.BEGIN + "old\n" + reference.END + "\nAfter.\n")
    assert reference.drifted(page) is True
    assert reference.write(page) is True
    text = page.read_text()
    assert "| `BAKERY_MIN_FREE_GB` | whole number | `5` |" in text
    assert "| `smoke_timeout` | `30` | whole seconds from 1 to 3600 |" in text
    assert text.startswith("# Settings\n\n") and text.endswith("\nAfter.\n")
    assert reference.write(page) is False


def test_the_committed_settings_page_has_not_drifted():
    from bakery.config import reference

    assert reference.drifted() is False
