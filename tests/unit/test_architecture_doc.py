"""docs/architecture.md draws the package's rooms: the same rooms, in the
order tests/unit/test_layers.py declares, naming every module of the package."""

from __future__ import annotations

import re

from bakery import ROOT
from tests.support.rooms import LAYERS, modules

DOC = ROOT / "docs" / "architecture.md"


def rooms_in_doc() -> list[tuple[str, list[str]]]:
    """(room, modules) per row of the rooms table, in the page's order."""
    rows = []
    for line in DOC.read_text("utf-8").splitlines():
        match = re.match(r"^\| `(bakery(?:\.[a-z_]+)?)`[^|]*\| ([^|]*) \|", line)
        if match:
            rows.append((match.group(1), re.findall(r"`([a-z_/.]+)`", match.group(2))))
    return rows


def test_the_rooms_are_the_layers_in_their_order():
    assert [room for room, _ in rooms_in_doc()] == [layer[0] for layer in LAYERS]


def test_every_module_of_the_package_is_named_in_its_room():
    named = set()
    for room, names in rooms_in_doc():
        for name in names:
            if name.endswith(".py"):  # a file named by path, e.g. bakery/__main__.py
                named.add(name.removesuffix(".py").replace("/", "."))
            else:
                named.add(f"{room}.{name}")
    # Every module but the packages' own __init__.py.
    expected = {name for name, path in modules().items() if path.name != "__init__.py"}
    assert len(expected) > 30
    assert named == expected
