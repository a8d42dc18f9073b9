"""What every command shares: logging, signals and exit codes (issue 3 §7).

`guard` runs a command body: SIGINT and SIGTERM become Interrupted (children
are ended by the docker seam on the way out), and every BakeryError becomes
one line on stderr and its exit code.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import FrameType

from invoke.exceptions import Exit

from bakery import settings as settings_module
from bakery.errors import EXIT_SIGINT, BakeryError, Interrupted
from bakery.redact import redact_message
from bakery.settings import Settings

AXIS_HELP = {
    "cargo_profile": "cargo profile(s), comma-separated or a JSON array",
    "rust_toolchain": "toolchain(s): distro, stable, nightly, 1.xx",
    "rust_target": "Rust target triple(s)",
    "feat_set": "feature set(s): none, default, all",
    "sys_name": "root image name(s)",
    "sys_version": "root image tag(s)",
    "sys_target": "system target(s), e.g. x86_64-v1-linux-gnu",
}


def _raise(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
        force=True,
    )


@contextmanager
def signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted, so the docker seam ends its child
    and cleanup runs (Python's default SIGTERM would just die)."""
    previous = {s: signal.signal(s, _raise) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def error_line(exc: BaseException) -> str:
    return f"bakery: error: {redact_message(str(exc))}"


@contextmanager
def guard() -> Iterator[None]:
    """Run a task body: signals handled, every BakeryError one redacted line
    and its exit code."""
    try:
        with signals():
            yield
    except Interrupted as exc:
        print(f"bakery: {exc}; cleaned up", file=sys.stderr)
        raise Exit(code=exc.exit_code) from None
    except KeyboardInterrupt:
        raise Exit("bakery: interrupted", code=EXIT_SIGINT) from None
    except BakeryError as exc:
        raise Exit(error_line(exc), code=exc.exit_code) from None


def load(flags: Mapping[str, str | None]) -> Settings:
    """Settings from all layers; flags are (setting name -> value or None)."""
    loaded = settings_module.load(flags)
    configure_logging(loaded.flag("CI_VERBOSE"))
    return loaded
