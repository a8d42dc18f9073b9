"""Settings for a test, from the given environment alone: bakery.config.settings.load with no
flags unless given, and no .env file unless BAKERY_DOTENV names one."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bakery.config import settings
from bakery.config.settings import Settings

NO_DOTENV = "/nonexistent/bakery-test.env"


def load(flags: Mapping[str, str | None] | None = None, /, **environ: str) -> Settings:
    """Settings from `flags` (setting name -> value or None) and `environ` as the whole environment."""
    return settings.load(flags, {"BAKERY_DOTENV": NO_DOTENV, **environ})


def for_bake(tmp_path: Path, **environ: str) -> Settings:
    """Settings for a whole bake through the seam: its run records in tmp, no free-space floor
    (unless `environ` sets them)."""
    return load(**{"BAKERY_RUN_DIR": str(tmp_path / "runs"), "BAKERY_MIN_FREE_GB": "0", **environ})
