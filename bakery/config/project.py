"""The project a run builds, by name: the tree's `project_name` variable.

Engine image tags (`<project_name>/<instance>:latest`), `out/<project_name>/`
paths, cache entry names and `invoke clean` carry it, so two projects built
on one engine never overwrite or delete each other's work (docs/packages.md).
"""

from __future__ import annotations

from bakery.config.settings import Settings


def name(settings: Settings) -> str:
    """The set value, else its declared default (docker/variables.toml)."""
    return settings.tree_value("project_name")


def image(project: str, instance: str) -> str:
    """The engine tag the tree gives an instance."""
    return f"{project}/{instance}:latest" if project else f"{instance}:latest"
