"""What every command shares: logging, signals and exit codes (issue 3 §7).

`guard` runs a command body: SIGINT and SIGTERM become Interrupted (children
are ended by the docker seam on the way out), and every BakeryError becomes
one line on stderr and its exit code.
"""

from __future__ import annotations

import inspect
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import FrameType
from typing import Any

from invoke import task
from invoke.exceptions import Exit

from bakery.config import matrix
from bakery.config import settings as settings_module
from bakery.config.settings import Settings
from bakery.errors import EXIT_SIGINT, BakeryError, Interrupted
from bakery.redact import redact_message

# Help for the options every vector-selecting task shares (one scheme, issue 10).
SELECTION_HELP = {
    "targets": "targets or groups, comma-separated (default: the default group)",
    "matrix": "take the vectors of this named matrix (docker/matrix.toml) instead of the default vector",
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


def axis_task(help: Mapping[str, str], **task_options: Any) -> Callable[[Callable[..., Any]], Any]:
    """@task for a command that selects vectors: one long option per axis of
    docker/matrix.toml (--<flag>, with its help), so that adding an axis there
    adds it to every such task (issue 10 deliver 1). The body takes an `axes`
    parameter: axis name -> the raw option value, or None.

    Automatic short flags are off: with this many options invoke runs out of
    letters and prints broken ones (`--=STRING`)."""
    try:
        axes = matrix.load().axes
    except BakeryError as exc:
        # tasks.py is being imported, outside any guard(): a bad matrix.toml
        # must still be one line and exit 2, for every command.
        print(error_line(exc), file=sys.stderr)
        raise SystemExit(exc.exit_code) from None

    def wrap(body: Callable[..., Any]) -> Any:
        signature = inspect.signature(body)
        params = [p for p in signature.parameters.values() if p.name != "axes"]
        taken = {p.name for p in params}
        clash = [a.flag for a in axes if a.option in taken]
        if clash:
            raise RuntimeError(f"{body.__name__}: axis flag --{clash[0]} clashes with a task option")
        extra = [inspect.Parameter(a.option, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None) for a in axes]

        def run(c: Any, *args: Any, **kwargs: Any) -> Any:
            chosen = {a.name: kwargs.pop(a.option, None) for a in axes}
            return body(c, *args, axes=chosen, **kwargs)

        run.__name__, run.__doc__, run.__module__ = body.__name__, body.__doc__, body.__module__
        run.__signature__ = signature.replace(parameters=[*params, *extra])  # type: ignore[attr-defined]
        axis_help = {a.option: a.help or a.description for a in axes}
        return task(help={**help, **axis_help}, auto_shortflags=False, **task_options)(run)

    return wrap


def selection(axes: Mapping[str, str | None], matrix_name: str | None) -> tuple[dict[str, str | None], bool]:
    """Settings flags and use_matrix for the shared options: `--matrix NAME`
    takes that matrix's vectors (filtered by the axis options); without it,
    the axis options' cross product over the default vector."""
    return {**axes, "BAKERY_MATRIX": matrix_name}, matrix_name is not None


def load(flags: Mapping[str, str | None]) -> Settings:
    """Settings from all layers; flags are (setting name -> value or None)."""
    loaded = settings_module.load(flags)
    configure_logging(loaded.flag("CI_VERBOSE"))
    return loaded
