"""The project a run builds, by name: the tree's `project_name` variable.

Engine image tags (`<project_name>/<instance>:latest`), `out/<project_name>/`
paths, cache entry names and `invoke clean` carry it, so two projects built
on one engine never overwrite or delete each other's work (docs/packages.md).
"""

from __future__ import annotations

import re
from pathlib import Path

from bakery.settings import Settings

_DEFAULT = re.compile(r'^variable "project_name" \{ default = "([a-z0-9][a-z0-9_-]{0,63})" \}$', re.M)


def name(settings: Settings) -> str:
    """The set value, else the bake file's default; empty for a bake file
    that declares no project_name (its names then carry none)."""
    return settings.tree.get("project_name") or default(settings.bake_file)


def default(bake_file: Path) -> str:
    if not bake_file.is_file():
        return ""
    found = _DEFAULT.search(bake_file.read_text())
    return found[1] if found else ""


def image(project: str, instance: str) -> str:
    """The engine tag the tree gives an instance."""
    return f"{project}/{instance}:latest" if project else f"{instance}:latest"
