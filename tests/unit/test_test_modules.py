"""No test module imports another test module: what several need is in tests/support/ (or a
conftest.py, for fixtures), so a module's tests can change without breaking another's."""

from __future__ import annotations

import ast
from pathlib import Path

from bakery import ROOT

TESTS = ROOT / "tests"


def is_test_module(name: str) -> bool:
    return name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")


def imported_test_modules(path: Path) -> list[str]:
    """The test modules `path` imports, at any depth of its code (function-level imports too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if is_test_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            found += [name for name in names if is_test_module(name)]
    return found


def test_no_test_module_imports_another():
    found = {
        str(path.relative_to(ROOT)): imported
        for path in sorted(TESTS.rglob("test_*.py"))
        if (imported := imported_test_modules(path))
    }
    assert found == {}


def test_the_check_sees_each_form_of_import(tmp_path: Path):
    module = tmp_path / "test_x.py"
    module.write_text(
        "import tests.unit.test_a\n"
        "from tests.unit.test_b import helper\n"
        "from tests.plan import test_c\n"
        "from tests.support import settings\n"
        "def f():\n    from tests.unit.test_d import load\n"
    )
    assert sorted(imported_test_modules(module)) == [
        "tests.plan.test_c",
        "tests.unit.test_a",
        "tests.unit.test_b",
        "tests.unit.test_d",
    ]
