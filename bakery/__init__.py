"""bakery: one unified docker buildx bake tree, driven as a matrix from Python."""

from __future__ import annotations

from pathlib import Path

#: The repository root: bake runs from here, so relative contexts resolve.
ROOT = Path(__file__).resolve().parent.parent
