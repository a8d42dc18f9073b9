"""One `docker buildx bake` invocation: its argv, and what its failure says
about the engine. Shared by the usual bake (bakery.build.bake) and the
one-solve bake (bakery.build.one_solve)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bakery.argv import options
from bakery.config.settings import Settings
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
) -> list[str]:
    nprocs = settings.nprocs()
    sets = [*([f"*.args.nprocs={nprocs}"] if nprocs else []), *cache_sets]
    return [
        "buildx",
        "bake",
        *options(
            builder=builder_name,
            file=str(file or bakefile.bake_file(settings)),
            progress=progress_mode,
            metadata_file=str(metadata_file) if metadata_file else None,
            provenance="true" if settings.provenance else "false",
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
