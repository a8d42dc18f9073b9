"""The settings table of docs/settings.md, written from the declarations
(Options and docker/variables.toml) by `invoke generate`, so the docs cannot
drift from what bakery accepts."""

from __future__ import annotations

from pathlib import Path

from bakery import ROOT
from bakery.config.options import SPECS
from bakery.config.variables import tree_variables
from bakery.errors import UsageError

DOCS = ROOT / "docs" / "settings.md"
BEGIN = "<!-- BEGIN generated: settings -->\n"
END = "<!-- END generated: settings -->\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _prose(text: str) -> str:
    # `<name>` would be read as an HTML tag.
    return _cell(text).replace("<", "&lt;")


_KINDS = {"bool": "true, false, 1, 0", "str": "text", "int": "whole number", "optional-int": "whole number or empty"}


def _code(text: str) -> str:
    return f"`{text}`" if text else "empty"


def table() -> str:
    """Two markdown tables: bakery's own settings, then the tree's variables."""
    lines = [
        "bakery's own settings (environment, `.env`, or the flag a task names):",
        "",
        "| setting | kind | default | what it does |",
        "|---|---|---|---|",
    ]
    for spec in SPECS:
        kind = "one of " + ", ".join(spec.choices) if spec.choices else _KINDS.get(spec.kind, "JSON array of text")
        lines.append(f"| `{spec.name}` | {_cell(kind)} | {_cell(_code(spec.default_text))} | {_prose(spec.help)} |")
    lines += [
        "",
        "The tree's variables (`docker/variables.toml`; environment or `.env`, validated before bake):",
        "",
        "| variable | default | allowed | what it does |",
        "|---|---|---|---|",
    ]
    for v in tree_variables().values():
        allowed = _prose(v.allowed) if v.allowed else _cell(f"matches `{v.pattern}`")
        lines.append(f"| `{v.name}` | {_cell(_code(v.default))} | {allowed} | {_prose(v.help)} |")
    return "\n".join(lines) + "\n"


def expected(path: Path = DOCS) -> str:
    text = path.read_text()
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise UsageError(f"{path}: expected one generated settings table between its BEGIN and END markers")
    head, rest = text.split(BEGIN)
    tail = rest.split(END)[1]
    return head + BEGIN + table() + END + tail


def drifted(path: Path = DOCS) -> bool:
    return expected(path) != path.read_text()


def write(path: Path = DOCS) -> bool:
    fresh = expected(path)
    if fresh == path.read_text():
        return False
    path.write_text(fresh)
    return True
