"""Reap scoped builders that have been idle too long.

Scoped builders (`bakery-...`, see builder.sanitize) pile up: one per actor,
branch or runner. The reaper removes those idle longer than a given age.

The idle signal is buildx's own: `docker buildx ls --format json` reports
`LastActivity` for each builder (buildx 0.29; buildx keeps it in
~/.docker/buildx/activity/<name> and updates it when the builder is created
and whenever a build starts on it). A builder without that time (older buildx,
or a zero time) is never reaped: we remove only what we can show is idle.

Never reaped: names outside the `bakery-` prefix, builders on the `docker`
driver (the engine's own builder cannot be removed), and names in `keep`.
Each removal takes the builder lock (bakery.engine.lock) without waiting: a builder
that another create, remove or prune holds is busy, so it is skipped this time
and said so, not counted as a failure.
Everything goes through the docker seam.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bakery.engine import docker
from bakery.engine.lock import builder_lock
from bakery.errors import BakeryError, EnvironmentNotReady, LockTimeout, UsageError

PREFIX = "bakery-"
_AGE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_FRACTION = re.compile(r"(\.\d{1,6})\d*")


@dataclass(frozen=True)
class Builder:
    name: str
    driver: str
    last_activity: datetime | None


def parse_age(text: str) -> timedelta:
    """`90s`, `30m`, `12h`, `7d` or `2w`."""
    match = _AGE.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"age {text!r} is not allowed; give a positive number and a unit: 90s, 30m, 12h, 7d, 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    text = _FRACTION.sub(r"\1", value.replace("Z", "+00:00"))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def list_builders() -> list[Builder]:
    """Every builder buildx knows, with its last activity time."""
    result = docker.run(["buildx", "ls", "--format", "json"], check=False, quiet=True)
    if result.returncode != 0:
        raise EnvironmentNotReady(
            "docker buildx ls --format json failed (the reaper needs a buildx that reports LastActivity): "
            + (result.stderr.strip().splitlines() or ["no output"])[-1]
        )
    builders = []
    for line in result.stdout.splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        builders.append(Builder(entry.get("Name", ""), entry.get("Driver", ""), _time(entry.get("LastActivity"))))
    return builders


def select(
    builders: Iterable[Builder], max_age: timedelta, now: datetime, keep: Iterable[str] = ()
) -> tuple[list[Builder], list[str]]:
    """(builders to remove, one line per builder kept and why)."""
    kept = set(keep)
    chosen, notes = [], []
    for b in builders:
        if not b.name.startswith(PREFIX):
            continue
        if b.name in kept:
            notes.append(f"keep {b.name}: asked to keep")
        elif b.driver == "docker":
            notes.append(f"keep {b.name}: docker driver (the engine's own builder)")
        elif b.last_activity is None:
            notes.append(f"keep {b.name}: buildx reports no last activity")
        elif now - b.last_activity <= max_age:
            notes.append(f"keep {b.name}: idle {_span(now - b.last_activity)}")
        else:
            chosen.append(b)
    return chosen, notes


def reap(
    max_age: timedelta,
    *,
    keep: Sequence[str] = (),
    now: datetime | None = None,
    dry_run: bool = False,
    out: Callable[[str], None] = print,
) -> list[str]:
    """Remove scoped builders idle longer than max_age, saying what happened.
    Returns the names removed; raises once at the end if any removal failed."""
    now = now or datetime.now(UTC)
    chosen, notes = select(list_builders(), max_age, now, keep)
    for note in notes:
        out(note)
    removed, failed, busy = [], [], []
    for b in chosen:
        idle = _span(now - b.last_activity) if b.last_activity else "?"
        if dry_run:
            out(f"would reap {b.name}: idle {idle}")
            continue
        try:
            with builder_lock(b.name, timeout=0):
                result = docker.run(["buildx", "rm", b.name], check=False)
        except LockTimeout:
            busy.append(b.name)
            out(f"skipped {b.name}: busy (another create/remove/prune holds its lock); not reaped this time")
            continue
        if result.returncode == 0:
            removed.append(b.name)
            out(f"reaped {b.name}: idle {idle}")
        else:
            failed.append(b.name)
            out(f"failed to reap {b.name}: {(result.stderr.strip().splitlines() or ['no output'])[-1]}")
    scoped = len(chosen) + sum(1 for note in notes if note.startswith("keep "))
    verb, count = ("would reap", len(chosen)) if dry_run else ("reaped", len(removed))
    skipped = f"; skipped {len(busy)} busy" if busy else ""
    out(f"{verb} {count} of {scoped} scoped builders (idle longer than {_span(max_age)}){skipped}")
    if failed:
        raise BakeryError(f"could not remove {len(failed)} builder(s): {', '.join(failed)}")
    return removed


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d{hours}h" if days else f"{hours}h{rest // 60}m" if hours else f"{rest // 60}m{rest % 60}s"
