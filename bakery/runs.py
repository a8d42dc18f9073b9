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
