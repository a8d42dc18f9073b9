"""`invoke cache --prune AGE` (docs/cache.md, "Upkeep"): which local caches a host keeps up, the
shared root when it is a directory and every untrusted scope, pruned by bakery/cache/store.py."""

from __future__ import annotations

import time
from pathlib import Path

from bakery.cache.location import Location
from bakery.cache.policy import default_scopes_dir
from bakery.cache.store import prune_root, prune_scopes
from bakery.config.settings import Settings
from bakery.engine.reaper import parse_age


def prune(settings: Settings, age: str, now: float | None = None) -> list[str]:
    """Remove the local entries not published for `age` (7d, 2w, ...); one line per removal,
    or one line saying there was nothing that old."""
    max_age = parse_age(age).total_seconds()
    now = time.time() if now is None else now
    lines = []
    shared = Location.parse(settings.cache_dir) if settings.cache_dir else None
    if shared is not None and shared.kind == "local":
        lines += prune_root(Path(shared.base), max_age, now)
    scopes = settings.cache_scopes_dir or str(default_scopes_dir())
    lines += prune_scopes(Path(scopes), max_age, now)
    return lines or [f"nothing older than {age}"]
