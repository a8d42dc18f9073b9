"""bakery: one unified docker buildx bake tree, driven as a matrix from Python."""

from __future__ import annotations

from pathlib import Path


def _root() -> Path:
    """The repository root: bake runs from here, so relative contexts resolve.
    The package's own checkout when installed editable (the documented way),
    else the nearest directory above the working one that holds the tree."""
    here = Path(__file__).resolve().parent.parent
    if (here / "docker" / "matrix.toml").is_file():
        return here
    cwd = Path.cwd()
    return next((d for d in (cwd, *cwd.parents) if (d / "docker" / "matrix.toml").is_file()), here)


ROOT = _root()
