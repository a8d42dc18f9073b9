"""What every command shares: logging, signals and exit codes (docs/exit-codes.md).

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
from typing import Any, NoReturn

from invoke import task
from invoke.exceptions import Exit

from bakery.config import matrix
from bakery.config import settings as settings_module
from bakery.config.settings import Settings
from bakery.engine import process
from bakery.errors import EXIT_SIGINT, BakeryError, Interrupted
from bakery.redact import redact_message

# Help for the options every vector-selecting task shares (one scheme for all of them).
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


def exit_for(exc: BakeryError | KeyboardInterrupt) -> Exit:
    """The one place that decides how a command ends: its exit code and the
    one line it prints (docs/exit-codes.md). Each BakeryError carries its
    code; a child's own exit code passes through only as BakeFailed."""
    if isinstance(exc, Interrupted):
        return Exit(f"bakery: {exc}; cleaned up", code=exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return Exit("bakery: interrupted by SIGINT; cleaned up", code=EXIT_SIGINT)
    return Exit(error_line(exc), code=exc.exit_code)


@contextmanager
def guard() -> Iterator[None]:
    """Run a command: SIGINT and SIGTERM handled, and every BakeryError one
    redacted line and its exit code (exit_for). The invoke program wraps
    every task in it, and so do the nox sessions."""
    try:
        with signals():
            yield
    except (BakeryError, KeyboardInterrupt) as exc:
        raise exit_for(exc) from None


def exit_now(exc: BakeryError) -> NoReturn:
    """Outside invoke's run loop (before a program exists): print the line and exit."""
    ending = exit_for(exc)
    print(ending.message, file=sys.stderr)
    raise SystemExit(ending.code)


# A broken docker/matrix.toml found while tasks.py is imported: the program
# reports it (exit_for) before it parses any task, so it is one line and exit
# 2 for every command, `invoke --list` included.
_definition_error: list[BakeryError] = []


def definition_error() -> BakeryError | None:
    return _definition_error[0] if _definition_error else None


def axis_task(help: Mapping[str, str], **task_options: Any) -> Callable[[Callable[..., Any]], Any]:
    """@task for a command that selects vectors: one long option per axis of
    docker/matrix.toml (--<flag>, with its help), so that adding an axis there
    adds it to every such task. The body takes an `axes`
    parameter: axis name -> the raw option value, or None.

    Automatic short flags are off: with this many options invoke runs out of
    letters and prints broken ones (`--=STRING`)."""
    try:
        axes: tuple[matrix.Axis, ...] = tuple(matrix.load().axes)
    except BakeryError as exc:
        _definition_error[:] = [exc]
        axes = ()

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
    configure_logging(loaded.ci_verbose)
    process.record_to(loaded.seam_log)
    return loaded
