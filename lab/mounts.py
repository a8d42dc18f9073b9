"""A read-only view of a directory, as untrusted runners and a developer's
laptop get the shared cache directory (docs/cache.md): a bind mount,
remounted read-only. A read-only mount stops root too, which `chmod` does
not; a bind mount takes its read-only flag only on a remount (mount(8),
"The bind mount operation").

`mount` and `umount` go through the process seam, argv lists only. Needs root,
as the rest of the lab does.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bakery.engine import process
from bakery.errors import BakeryError


def _mount(argv: Sequence[str]) -> None:
    result = process.run(argv, check=False, quiet=True)
    if result.returncode != 0:
        raise BakeryError(f"lab: {shlex.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")


@contextmanager
def read_only(source: Path, at: Path) -> Iterator[Path]:
    """`source` seen read-only at `at` (created if missing) until the block ends."""
    at.mkdir(parents=True, exist_ok=True)
    _mount(["mount", "--bind", str(source), str(at)])
    try:
        _mount(["mount", "-o", "remount,bind,ro", str(at)])
        yield at
    finally:
        _mount(["umount", str(at)])
