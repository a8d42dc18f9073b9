"""Run ids and run paths: one id per command run, shared by everything the
run leaves behind (the run record `runs/<id>/`, the cache entries' version,
Complement's container names and labels), so they can be matched."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

# <UTC-less local stamp>-<8 hex>; `.N` for the Nth part of a run, as records before one-way baking had.
RECORD = re.compile(r"^[0-9]{8}T[0-9]{6}-[0-9a-f]{8}(\.[0-9]+)?$")


def new_id() -> str:
    """Sorts by time; unique across concurrent runs."""
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"


def record_dir(run_dir: Path, run_id: str) -> Path:
    """The run record of one bake: `<run_dir>/<id>`, all its invocations."""
    return run_dir / run_id


def records(run_dir: Path) -> list[Path]:
    """The run records under `run_dir`, oldest first (ids sort by time)."""
    if not run_dir.is_dir():
        return []
    return sorted(p for p in run_dir.iterdir() if p.is_dir() and not p.is_symlink() and RECORD.match(p.name))


def sweep(run_dir: Path, keep: int, *, keep_path: Path | None = None) -> list[Path]:
    """Bound the records (docs/commands.md, "invoke explain"): keep the
    newest `keep` of this run directory (one project's), `keep_path` always;
    `keep` 0 keeps every record. Returns what was removed."""
    import shutil

    if keep <= 0:
        return []
    older = [p for p in records(run_dir) if p != keep_path]
    doomed = older[: max(0, len(older) - (keep - 1 if keep_path is not None else keep))]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed
