"""Container lifecycle for `invoke complement`, through the docker seam.

Waiting for an exit code, and the steps that must run however a run ends:
stop, copy files out, save logs, remove, and sweep everything that carries a
run label. The cleanup steps never raise on a docker failure: one step that
fails must not stop the others, so each logs a warning and carries on.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from bakery.engine import docker
from bakery.errors import Interrupted

log = logging.getLogger("bakery")


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def wait(name: str) -> int | None:
    """The container's exit code once it has stopped; None if it does not exist."""
    result = docker.run(["wait", name], check=False, quiet=True)
    if result.returncode != 0:
        return None
    try:
        return int(result.stdout.split()[-1])
    except (ValueError, IndexError):
        return None


def stop(name: str, timeout: int) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds (a no-op once it exited)."""
    docker.run(["stop", "--time", str(timeout), name], check=False)


def copy_out(name: str, source: str, dest: Path) -> bool:
    """`docker cp NAME:SOURCE DEST`; works on a stopped container too."""
    result = docker.run(["cp", f"{name}:{source}", str(dest)], check=False)
    if result.returncode != 0:
        log.warning("could not copy %s out of %s: %s", source, name, last_line(result.stderr))
    return result.returncode == 0


def save_logs(name: str, dest: Path) -> bool:
    """Write the container's whole log to `dest`, stdout and stderr merged."""
    result = docker.run(["logs", "--timestamps", name], check=False, quiet=True)
    if result.returncode != 0:
        log.warning("could not save the logs of %s: %s", name, last_line(result.stderr))
        return False
    # docker logs hands stdout and stderr back separately; their timestamps
    # (fixed-width RFC 3339) restore the order. The sort is stable.
    lines = [line + "\n" for line in result.stdout.splitlines() + result.stderr.splitlines()]
    lines.sort(key=lambda line: line.split(" ", 1)[0])
    dest.write_text("".join(lines), encoding="utf-8")
    return True


def remove(*names: str) -> None:
    if names:
        docker.run(["rm", "--force", "--volumes", *names], check=False)


def labelled(label: str) -> tuple[list[str], list[str]]:
    """(container ids, network ids) carrying `label` (key=value)."""
    containers = docker.run(["ps", "-aq", "--filter", f"label={label}"], check=False, quiet=True)
    networks = docker.run(["network", "ls", "-q", "--filter", f"label={label}"], check=False, quiet=True)
    return containers.stdout.split(), networks.stdout.split()


def sweep(label: str) -> list[str]:
    """Remove every container, then every network, carrying `label`.
    Containers first: a network cannot go while something is attached.
    Returns what is still there afterwards (normally nothing)."""
    containers, networks = labelled(label)
    remove(*containers)
    if networks:
        docker.run(["network", "rm", *networks], check=False)
    if not (containers or networks):
        return []
    containers, networks = labelled(label)
    left = [f"container {c}" for c in containers] + [f"network {n}" for n in networks]
    if left:
        log.warning("left behind with label %s: %s", label, ", ".join(left))
    return left


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while cleanup runs, then raise Interrupted.

    A CI runner sends SIGINT and, a few seconds later, SIGTERM: the second
    signal must not cut the cleanup short. If the body raises, its exception
    wins; otherwise a signal that arrived meanwhile is raised at the end.
    """
    received: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    try:
        previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: Python delivers no signals here anyway
        previous = {}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        raise Interrupted(received[0])
