"""Generate bake.hcl's axis variables from docker/matrix.toml (issue 3).

The singular defaults are the default vector; the plural JSON arrays default
to the singular value. `invoke generate` rewrites the marked section and a
unit test fails when the file has drifted from the definition.
"""

from __future__ import annotations

import json
from pathlib import Path

from bakery.errors import UsageError
from bakery.matrix import Definition

BEGIN = "# BEGIN GENERATED AXES (invoke generate; source: docker/matrix.toml)\n"
END = "# END GENERATED AXES\n"


def render(definition: Definition) -> str:
    blocks = []
    for axis in definition.axes:
        blocks.append(
            f"# {_line(axis.description)}\n"
            f'variable "{axis.name}" {{ default = {json.dumps(axis.default)} }}\n'
            f"# JSON array of {axis.name} values\n"
            f'variable "{axis.plural}" {{ default = jsonencode([{axis.name}]) }}\n'
        )
    return "\n" + "\n".join(blocks) + "\n"


def _line(text: str) -> str:
    # Descriptions are comments, not `description` attributes: buildx 0.13.1
    # (Debian trixie, our minimum) rejects a variable's `description` (issue 10).
    return " ".join(text.split())


def _split(text: str, path: Path) -> tuple[str, str, str]:
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise UsageError(f"{path}: expected one generated-axes section between its BEGIN and END markers")
    head, rest = text.split(BEGIN)
    body, tail = rest.split(END)
    return head + BEGIN, body, END + tail


def current(path: Path) -> str:
    return _split(path.read_text(), path)[1]


def write(path: Path, definition: Definition) -> bool:
    """Rewrite the section; True when the file changed."""
    head, body, tail = _split(path.read_text(), path)
    fresh = render(definition)
    if body == fresh:
        return False
    path.write_text(head + fresh + tail)
    return True
