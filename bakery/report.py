"""Text renderings shared by the commands: matrix tables and JSON, and the
entitlements the whole tree declares."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from bakery import bake
from bakery.matrix import Vector
from bakery.settings import Settings


def matrix_text(settings: Settings, vectors: Sequence[Vector], fmt: str) -> str:
    names = settings.definition.names
    rows = [{**v.as_dict(), **dict(v.extras)} for v in vectors]
    if fmt == "json":
        return json.dumps(rows, indent=2)
    if fmt == "github":
        # strategy.matrix: an explicit include list keeps excludes applied and
        # every key present in each job.
        return json.dumps({"include": rows}, separators=(",", ":"))
    widths = [max(len(n), *(len(r[n]) for r in rows)) if rows else len(n) for n in names]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True))]
    lines += ["  ".join(r[n].ljust(w) for n, w in zip(names, widths, strict=True)) for r in rows]
    lines.append(f"{len(rows)} vectors (matrix {settings['BAKERY_MATRIX']})")
    return "\n".join(lines)


def tree_targets(settings: Settings) -> tuple[str, ...]:
    """Every target the bake file declares (abstract `_` targets excluded)."""
    text = bake.bake_file(settings).read_text()
    return tuple(n for n in re.findall(r'^target "([^"]+)"', text, re.MULTILINE) if not n.startswith("_"))


def tree_entitlements(settings: Settings) -> tuple[str, ...]:
    """All entitlements the tree declares, plus network.host, which buildx
    grants by default only while no entitlement is configured."""
    vector = settings.definition.default_vector()
    env = bake.bake_env(settings, {k: (v,) for k, v in vector.items})
    definition = bake.print_definition(settings, tree_targets(settings), env)
    found = {e for t in definition.get("target", {}).values() for e in t.get("entitlements") or ()}
    return tuple(sorted(found | {"network.host"}))
