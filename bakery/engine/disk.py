"""The free-space gate: a bake does not start below BAKERY_MIN_FREE_GB."""

from __future__ import annotations

import shutil
from pathlib import Path

from bakery.config.settings import Settings
from bakery.errors import DiskSpaceError


def free_space(root_dir: str) -> tuple[Path, float]:
    """Free GB where the engine keeps its data (its root dir when that is on
    this machine, else / : a remote daemon's disk cannot be seen). The root
    dir comes from the (cached) probe, so the gate runs no docker call."""
    probe = Path(root_dir) if root_dir and Path(root_dir).exists() else Path("/")
    return probe, shutil.disk_usage(probe).free / 1e9


def gate(settings: Settings, root_dir: str) -> str:
    where, free_gb = free_space(root_dir)
    need = settings.min_free_gb or 0
    if free_gb < need:
        raise DiskSpaceError(
            f"only {free_gb:.1f} GB free under {where}, below BAKERY_MIN_FREE_GB={need}; "
            "free space (invoke builder --prune) or lower the threshold"
        )
    return f"{free_gb:.1f} GB free under {where} (gate: {need} GB)"
