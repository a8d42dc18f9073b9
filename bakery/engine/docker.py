"""The docker CLI on the process seam (bakery.engine.process): `run` prefixes
`docker` and raises DockerError (argv, exit code, stderr); and the probes that
detect what the installed docker and buildx offer, by trying them, never by
version numbers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bakery.engine.process import PROVISION_HINT, Call, Completed, Runner, environment, use_runner
from bakery.errors import DockerError, EnvironmentNotReady

# The seam's types, so tests and callers that speak of docker need one import.
__all__ = ["Call", "Completed", "Runner", "environment", "use_runner", "run", "PROVISION_HINT"]


def run(
    args: Sequence[str],
    *,
    check: bool = True,
    capture: bool = True,
    env: Mapping[str, str] | None = None,
    on_stderr: Callable[[str], None] | None = None,
    quiet: bool = False,
    cwd: Path | None = None,
) -> Completed:
    """Run `docker ARGS...` through the process seam; DockerError on failure
    when check is set."""
    from bakery.engine import process

    return process.run(
        ("docker", *args), check=check, capture=capture, env=env, on_stderr=on_stderr, quiet=quiet, cwd=cwd,
        error=DockerError,
    )  # fmt: skip


# Probes. They detect features by trying them, never by version numbers.


def require_cli() -> None:
    result = run(["--version"], check=False, quiet=True)
    if result.returncode != 0:
        raise EnvironmentNotReady(f"docker CLI does not run; {PROVISION_HINT}")


def require_daemon(*, env: Mapping[str, str] | None = None) -> str:
    """The daemon's version; a clear error when it cannot be reached."""
    result = run(["version", "--format", "{{.Server.Version}}"], check=False, quiet=True, env=env)
    if result.returncode != 0 or not result.stdout.strip():
        from bakery.engine import probe

        raise probe.daemon_error()
    return result.stdout.strip()


@dataclass(frozen=True)
class Buildx:
    version: str
    bake_flags: frozenset[str]

    @property
    def allow(self) -> bool:
        return "--allow" in self.bake_flags

    @property
    def call(self) -> bool:
        return "--call" in self.bake_flags

    @property
    def list(self) -> bool:
        return "--list" in self.bake_flags


def require_buildx() -> str:
    """The buildx version line; a clear error when the plugin is missing."""
    version = run(["buildx", "version"], check=False, quiet=True)
    if version.returncode != 0:
        raise EnvironmentNotReady(f"docker buildx plugin not found; {PROVISION_HINT}")
    return version.stdout.strip()


def buildx() -> Buildx:
    """The installed buildx and the bake flags its --help offers."""
    version = require_buildx()
    help_text = run(["buildx", "bake", "--help"], check=False, quiet=True).stdout
    flags = frozenset(word.rstrip(",") for word in help_text.split() if word.startswith("--"))
    return Buildx(version, flags)


def image_exists(ref: str, *, env: Mapping[str, str] | None = None) -> bool:
    return run(["image", "inspect", "--format", "{{.Id}}", ref], check=False, quiet=True, env=env).returncode == 0
