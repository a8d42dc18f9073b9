"""The package's rooms, lowest first, and its modules by dotted name: what
tests/unit/test_layers.py checks the imports against and tests/unit/test_architecture_doc.py
checks docs/architecture.md against."""

from __future__ import annotations

from pathlib import Path

from bakery import ROOT

# Lowest first. A module may import its own room and any room below it.
LAYERS = (
    ("bakery", "bakery.errors", "bakery.redact", "bakery.argv", "bakery.runs"),
    ("bakery.config",),
    ("bakery.engine",),
    ("bakery.tree",),
    ("bakery.cache",),
    ("bakery.explain",),
    ("bakery.baking",),
    ("bakery.complement",),
    # `python -m bakery` is the command line too.
    ("bakery.cli", "bakery.__main__"),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in (ROOT / "bakery").rglob("*.py")}
