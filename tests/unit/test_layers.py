"""The package's rooms and their order: imports only go downwards, and the
import graph (function-level imports included) has no cycle. The table is the
one docs/architecture.md draws (tests/support/rooms.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from bakery import ROOT
from tests.support.rooms import LAYERS, modules


def imports(path: Path, known: set[str]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("bakery")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("bakery"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in known else str(node.module))
    return found


def layer_of(module: str) -> int:
    for index, room in enumerate(LAYERS):
        if module in room or any(module.startswith(f"{r}.") for r in room if r != "bakery"):
            return index
    raise AssertionError(f"{module} belongs to no room of LAYERS")


def graph() -> dict[str, set[str]]:
    known = modules()
    names = set(known)
    return {name: {m for m in imports(path, names) if m in names and m != name} for name, path in known.items()}


def test_every_module_sits_in_one_room():
    assert {layer_of(m) for m in modules()} == set(range(len(LAYERS)))


def test_imports_only_go_downwards():
    upward = [f"{src} -> {dst}" for src, targets in graph().items() for dst in targets if layer_of(dst) > layer_of(src)]
    assert upward == []


def test_the_import_graph_has_no_cycle():
    edges = graph()
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, trail: tuple[str, ...]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join((*trail[trail.index(nxt) :], nxt)) if nxt in trail else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, (*trail, nxt))
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, (start,))
    assert cycles == []


def test_the_lab_and_the_bench_stay_outside_the_runtime_package():
    importers = [m for m, p in modules().items() if {"lab", "bench"} & {i.split(".")[0] for i in _all_imports(p)}]
    assert importers == []
    assert not (ROOT / "bakery" / "lab.py").exists()


def _all_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names
