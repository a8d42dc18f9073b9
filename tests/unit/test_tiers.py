"""Test tiers come from the directory only (tests/conftest.py marks each test by it), so a test
cannot sit in one directory and run in another tier's session."""

from __future__ import annotations

import re
import tomllib

import pytest

from bakery import ROOT

TIERS = {"unit", "cli", "plan", "engine"}
TIER_MARK = re.compile(r"\bmark\.(unit|cli|plan|engine)\b")


def test_no_test_file_sets_a_tier_marker_of_its_own():
    setting = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for match in TIER_MARK.finditer(path.read_text())
        if path.name != "test_tiers.py"
    ]
    assert setting == []


def test_each_tier_is_a_declared_marker_and_a_directory():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    assert {line.split(":")[0] for line in declared} == TIERS
    # tests/support is shared code (the tests' and the benchmarks'), not a tier: it holds no tests.
    packages = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages - {"support"} == TIERS
    assert not list((ROOT / "tests" / "support").glob("test_*.py"))


def test_this_test_carries_its_directory_marker_only(request: pytest.FixtureRequest):
    assert [tier for tier in sorted(TIERS) if request.node.get_closest_marker(tier)] == ["unit"]
