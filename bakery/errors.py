"""Typed errors and the exit codes they map to (docs/exit-codes.md)."""

from __future__ import annotations

from collections.abc import Sequence

# Documented in docs/exit-codes.md; tests assert these numbers.
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3  # docker CLI, daemon, buildx, builder or root image missing
EXIT_DISK = 4  # free-space gate refused to start a bake
EXIT_INFRA = 5  # complement tester died or exited outside its 0/1 contract
EXIT_LOCKED = 6  # another caller held the builder lock past BAKERY_LOCK_TIMEOUT
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class BakeryError(Exception):
    """An error with a one-line message and an exit code."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        # One line, always: multi-line text from tools goes to the logs instead.
        super().__init__(" ".join(message.split()))
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(BakeryError):
    """Bad input: an unknown value, malformed JSON, a bad flag. Exit 2."""

    exit_code = EXIT_USAGE


class EnvironmentNotReady(BakeryError):
    """Something the run needs is missing; the message names the fix."""

    exit_code = EXIT_ENVIRONMENT


class DiskSpaceError(BakeryError):
    """The free-space gate refused to start."""

    exit_code = EXIT_DISK


class LockTimeout(BakeryError):
    """Another create, remove or prune held the builder past the timeout."""

    exit_code = EXIT_LOCKED


class InfraError(BakeryError):
    """The Complement tester failed outside its pass/fail contract."""

    exit_code = EXIT_INFRA


class Interrupted(BakeryError):
    """SIGINT or SIGTERM arrived; children were ended and cleanup ran."""

    def __init__(self, signum: int) -> None:
        name = "SIGINT" if signum == 2 else "SIGTERM" if signum == 15 else f"signal {signum}"
        super().__init__(f"interrupted by {name}", exit_code=128 + signum)
        self.signum = signum


class ProcessError(BakeryError):
    """A program run through the process seam (bakery.engine.process) failed.
    Carries argv, exit code and stderr; the message is its last stderr line."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        from bakery.redact import redact_message

        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr
        last = next((ln for ln in reversed(stderr.strip().splitlines()) if ln.strip()), "")
        head = " ".join(self.argv[:3])
        super().__init__(
            redact_message(f"{head} failed with exit code {returncode}: {last or 'no output'}"),
        )


class BakeFailed(BakeryError):
    """bake itself failed: its exit code is the command's (a bake killed by a
    signal exits 128 + N, as a shell would). The one child whose code passes
    through; other programs' failures exit 1, so their 2 or 3 never reads as
    bakery's own usage or environment error."""

    def __init__(self, message: str, returncode: int) -> None:
        super().__init__(message, exit_code=returncode if returncode > 0 else 128 - returncode)
        self.returncode = returncode


class DockerError(ProcessError):
    """A docker command failed (bakery.engine.docker.run)."""
