"""`invoke matrix`: the expanded matrix as a table, JSON, or a GitHub Actions
strategy.matrix."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from bakery.config.matrix import Vector
from bakery.config.settings import Settings


def matrix_text(
    settings: Settings, vectors: Sequence[Vector], fmt: str, sessions: Mapping[Vector, str] | None = None
) -> str:
    """`sessions` (vector -> nox session name) adds a `session` key to each
    GitHub row: the workflow runs `nox -s` with it and builds no name itself."""
    names = settings.definition.names
    rows = [{**v.as_dict(), **dict(v.extras)} for v in vectors]
    if fmt == "json":
        return json.dumps(rows, indent=2)
    if fmt == "github":
        # strategy.matrix: an explicit include list keeps excludes applied and
        # every key present in each job.
        if sessions is not None:
            rows = [{**row, "session": sessions[v]} for row, v in zip(rows, vectors, strict=True)]
        return json.dumps({"include": rows}, separators=(",", ":"))
    widths = [max(len(n), *(len(r[n]) for r in rows)) if rows else len(n) for n in names]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True))]
    lines += ["  ".join(r[n].ljust(w) for n, w in zip(names, widths, strict=True)) for r in rows]
    lines.append(f"{len(rows)} vectors (matrix {settings.matrix})")
    return "\n".join(lines)
