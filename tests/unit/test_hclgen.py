"""Unit tests for bakery.hclgen: bake.hcl's axis variables come from
docker/matrix.toml, and the committed file has not drifted."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from bakery import ROOT, hclgen
from bakery.errors import UsageError
from bakery.matrix import Axis, Definition, load

pytestmark = pytest.mark.unit

BAKE_HCL = ROOT / "docker" / "bake.hcl"


def test_committed_bake_hcl_has_not_drifted_from_the_definition():
    """The drift test (issue 3 §1): fix a failure with `invoke generate`."""
    assert hclgen.current(BAKE_HCL) == hclgen.render(load())


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
        block = re.search(rf'variable "{name}" {{\n  description = "[^"]*"\n  default = "([^"]*)"\n}}\n', section)
        assert block is not None, name
        assert block[1] == default
        assert (
            f'variable "{name}s" {{\n  description = "JSON array of {name} values"\n'
            f"  default = jsonencode([{name}])\n}}\n"
        ) in section


def test_render_of_a_small_definition():
    definition = Definition(
        (
            Axis("x", 'An "x" axis', "a", values=("a", "b")),
            Axis("y", "Y", "1", pattern=re.compile(r"^[0-9]$")),
        )
    )
    assert hclgen.render(definition) == (
        "\n"
        'variable "x" {\n'
        '  description = "An \\"x\\" axis"\n'
        '  default = "a"\n'
        "}\n"
        'variable "xs" {\n'
        '  description = "JSON array of x values"\n'
        "  default = jsonencode([x])\n"
        "}\n"
        "\n"
        'variable "y" {\n'
        '  description = "Y"\n'
        '  default = "1"\n'
        "}\n"
        'variable "ys" {\n'
        '  description = "JSON array of y values"\n'
        "  default = jsonencode([y])\n"
        "}\n"
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
    old_block = 'variable "feat_set" {\n  description = "Cargo feature set, a key of feat_set_cargo_args"\n'
    assert old_block + '  default = "default"\n}\n' in before
    assert old_block + '  default = "all"\n}\n' in after
    # Exactly one line differs.
    diff = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert diff == [('  default = "default"', '  default = "all"')]
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
