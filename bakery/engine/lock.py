"""The builder lock: create, remove, prune and append must not overlap
on one builder.

One lock file per builder, in a per-host place every checkout shares: next to
buildx's own store of builders, `$BUILDX_CONFIG` or else `$DOCKER_CONFIG/buildx`
or `~/.docker/buildx` (where buildx looks too), in `bakery-locks/<name>.lock`.
Builder names come from builder.name, which allows only [a-z0-9_-].

The lock is fcntl.flock(LOCK_EX | LOCK_NB), polled until the timeout. flock
belongs to the open file, so the kernel releases it when the holder exits for
any reason (a crash, SIGKILL, a power cut ends every holder): there are no
stale locks to clean up, and nothing is written into the file. The descriptor
is not inherited by the docker children (close-on-exec), so a child that
outlives us cannot keep the lock either. Lock files are left in place when
released; unlinking them would let two callers lock two different files.

Bakes do not take the lock: BuildKit runs concurrent builds on one builder.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bakery.errors import EnvironmentNotReady, LockTimeout

log = logging.getLogger("bakery")

POLL_SECONDS = 0.1


def lock_dir() -> Path:
    """Where the lock files live (see the module docstring)."""
    buildx_config = os.environ.get("BUILDX_CONFIG")
    if buildx_config:
        return Path(buildx_config) / "bakery-locks"
    docker_config = os.environ.get("DOCKER_CONFIG")
    base = Path(docker_config) if docker_config else Path.home() / ".docker"
    return base / "buildx" / "bakery-locks"


def lock_path(name: str) -> Path:
    return lock_dir() / f"{name}.lock"


@contextmanager
def builder_lock(name: str, timeout: float) -> Iterator[Path]:
    """Hold the lock on builder `name`, waiting up to `timeout` seconds (0: try
    once). Raises LockTimeout (exit 6) when another caller keeps it longer."""
    path = lock_path(name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise EnvironmentNotReady(
            f"cannot open the lock file {path}: {exc.strerror}; make it writable or set BUILDX_CONFIG"
        ) from None
    try:
        deadline = time.monotonic() + max(timeout, 0)
        waiting = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LockTimeout(
                        f"builder {name!r} is busy: another create/remove/prune held it for {timeout:g} s; "
                        "retry or raise BAKERY_LOCK_TIMEOUT"
                    ) from None
                if not waiting:
                    log.info("waiting for the lock on builder %s (up to %g s)", name, timeout)
                    waiting = True
                time.sleep(min(POLL_SECONDS, left))
        try:
            yield path
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
