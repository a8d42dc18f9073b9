"""What a cache directory holds, to show that a run left it unchanged."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def hashes(root: Path) -> dict[str, str]:
    """Every file and symlink under a cache root: relative path -> sha256, or
    the link's target. Importing takes and drops a lock file, so *.lock is left
    out (bakery/cache/store.py)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.name.endswith(".lock"):
            continue
        if path.is_symlink():
            found[str(path.relative_to(root))] = "-> " + os.readlink(path)
        elif path.is_file():
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found
