"""Families that differ only in data share one template in docker/bake.hcl: the seven deps-*
blocks are the same text once their name, description and parent are set aside (their cook
arguments and, without cargo-chef, their cargo command live in the function deps_args)."""

from __future__ import annotations

import re

from bakery import ROOT

DEPS = ["deps-base", "deps-check", "deps-clippy", "deps-build", "deps-build-tests", "deps-build-bins", "deps-static"]
TEMPLATE = """\
  description = DESCRIPTION
  matrix = { v = family_cells["FAMILY"] }
  name = v.id
  inherits = ["_deps"]
  platforms = [v.platform]
  contexts = { input = PARENT }
  args = deps_args("FAMILY", v)
"""


def blocks() -> dict[str, str]:
    text = (ROOT / "docker" / "bake.hcl").read_text()
    return dict(re.findall(r'^target "(deps-[a-z-]+)" \{\n(.*?)^\}\n', text, re.S | re.M))


def test_the_deps_families_are_one_template():
    found = blocks()
    assert list(found) == DEPS
    for family, body in found.items():
        body = re.sub(r'(?m)^  description = ".+"$', "  description = DESCRIPTION", body)
        body = re.sub(r'input = v\.ref(\.recipe|\["deps-base"\])', "input = PARENT", body)
        assert body.replace(f'"{family}"', '"FAMILY"') == TEMPLATE, family


def test_each_deps_family_has_its_cook_and_cargo_arguments_in_deps_args():
    text = (ROOT / "docker" / "bake.hcl").read_text()
    function = re.search(r'^function "deps_args" \{\n(.*?)^\}\n', text, re.S | re.M)
    assert function is not None
    # Three tables (cook_args, deps_cmd, deps_cmd_args), each with every family once, in order.
    tables = re.findall(r"^    (\w+) = \{\n(.*?)^    \}\[family\]$", function[1], re.S | re.M)
    assert [name for name, _ in tables] == ["cook_args", "deps_cmd", "deps_cmd_args"]
    for name, table in tables:
        assert re.findall(r"^      (deps-[a-z-]+) = ", table, re.M) == DEPS, name
