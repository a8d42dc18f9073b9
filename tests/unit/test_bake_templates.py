"""Families that differ only in data share one template in docker/bake.hcl: the six deps-*
blocks are the same text once their name, description and parent are set aside (their cook
arguments live in the function deps_args)."""

from __future__ import annotations

import re

from bakery import ROOT

DEPS = ["deps-base", "deps-check", "deps-clippy", "deps-build", "deps-build-tests", "deps-build-bins"]
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


def test_each_deps_family_has_its_cook_arguments_in_deps_args():
    text = (ROOT / "docker" / "bake.hcl").read_text()
    function = re.search(r'^function "deps_args" \{\n(.*?)^\}\n', text, re.S | re.M)
    assert function is not None
    assert re.findall(r"^      (deps-[a-z-]+) = ", function[1], re.M) == DEPS
