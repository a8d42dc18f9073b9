"""One `docker buildx bake` invocation: its argv (the one place a bake's
argv is built), its run with rawjson progress, and what its failure says
about the engine. bakery.baking.bake runs each invocation of a schedule."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from bakery.argv import options
from bakery.baking import progress
from bakery.config.settings import Settings
from bakery.engine import process
from bakery.errors import EnvironmentNotReady
from bakery.tree import bakefile

# How buildx says the daemon or the builder is gone (a warm probe cache did not see it).
_DAEMON_GONE = ("Cannot connect to the Docker daemon", "error during connect")
_BUILDER_GONE = "no builder"


def bake_argv(
    settings: Settings,
    targets: Sequence[str],
    *,
    builder_name: str,
    allow: Sequence[str],
    allow_supported: bool,
    metadata_file: Path | None,
    progress_mode: str,
    cache_sets: Sequence[str] = (),
    file: Path | None = None,
    attested: bool = False,
) -> list[str]:
    sets = list(cache_sets)
    return [
        "buildx",
        "bake",
        *options(
            builder=builder_name,
            file=str(file or bakefile.bake_file(settings)),
            progress=progress_mode,
            metadata_file=str(metadata_file) if metadata_file else None,
            # An attested push takes its target's `attest` (bakery.baking.attest), which
            # --provenance would override; every other bake attaches none unless asked.
            provenance=None if attested else ("true" if settings.provenance else "false"),
            set=sets or None,
            allow=list(allow) if allow_supported else None,
            secret=list(settings.secrets),
            ssh=list(settings.ssh),
        ),
        *targets,
    ]


def environment_gone(builder_name: str, stderr: str) -> None:
    """The daemon or builder went away after they were probed: forget the
    probe and fail as a cold probe would (exit 3), not as a failed build."""
    from bakery.engine import probe

    # Only buildx's and the docker CLI's own error lines: a step's log (plain
    # progress, "#12 ...") may print the same words and is a build failure.
    own = "\n".join(
        line for line in stderr.splitlines() if line.startswith(("ERROR:", "error:", "Cannot connect", "error during"))
    )
    if any(text in own for text in _DAEMON_GONE):
        probe.forget(builder_name)
        raise probe.daemon_error()
    if _BUILDER_GONE in own and builder_name in own:
        probe.forget(builder_name)
        raise EnvironmentNotReady(f"buildx builder {builder_name!r} not found; create it: invoke builder")


def run_with_progress(
    argv: Sequence[str],
    env: Mapping[str, str],
    progress_log: Path,
    *,
    progress_mode: str,
    silent: bool,
    out: Callable[[str], None],
    append: bool = False,
) -> tuple[progress.Progress, process.Completed]:
    """Run one bake: buildx's rawjson progress read into a Progress and
    written, line-buffered, to `progress_log` (so the record keeps it up to
    the last line even if bakery itself is killed). `auto` renders one line
    per step (the tracker's echo); explicit rawjson and plain pass buildx's
    own output through."""
    import sys

    from bakery import ROOT
    from bakery.engine import docker

    mode = "rawjson" if progress_mode == "auto" else progress_mode
    tracker = progress.Progress(echo=None if silent or progress_mode != "auto" else out)
    with progress_log.open("a" if append else "w", buffering=1) as raw_log:

        def on_stderr(line: str) -> None:
            raw_log.write(line)
            if mode == "rawjson":
                tracker.feed(line)
            if progress_mode in ("rawjson", "plain") and not silent:
                sys.stderr.write(line)

        result = docker.run(argv, env=env, check=False, capture=True, on_stderr=on_stderr, cwd=ROOT)
    return tracker, result
