"""The one seam that runs the docker CLI.

Every docker call in bakery goes through `run`. It logs the command with
shlex.join (secrets redacted), and a failure raises DockerError carrying argv,
exit code and stderr. Unit tests swap the process runner with `use_runner`
and see every argv that would have reached docker; nothing else is mocked.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import signal
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from bakery.errors import DockerError, EnvironmentNotReady
from bakery.redact import redact_message

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
    input: str | None = None
    timeout: float | None = None
    # Called with each stderr line as it arrives (bake's rawjson progress).
    on_stderr: Callable[[str], None] | None = None
    # bake resolves relative contexts against its working directory.
    cwd: Path | None = None


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
            stdin=subprocess.PIPE if call.input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE if call.capture else None,
            stderr=subprocess.PIPE if (call.capture or call.on_stderr) else None,
            text=True,
            errors="replace",
        )
    except FileNotFoundError as exc:
        raise EnvironmentNotReady(f"{call.argv[0]} not found on PATH; {PROVISION_HINT}") from exc
    readers = [
        threading.Thread(target=_drain, args=(proc.stdout, out, None), daemon=True),
        threading.Thread(target=_drain, args=(proc.stderr, err, call.on_stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        if call.input is not None and proc.stdin is not None:
            proc.stdin.write(call.input)
            proc.stdin.close()
        proc.wait(timeout=call.timeout)
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
    args: Sequence[str],
    *,
    check: bool = True,
    capture: bool = True,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float | None = None,
    on_stderr: Callable[[str], None] | None = None,
    quiet: bool = False,
    cwd: Path | None = None,
) -> Completed:
    """Run `docker ARGS...`; raise DockerError on failure when check is set."""
    argv = ("docker", *args)
    (log.debug if quiet else log.info)("+ %s", redact_message(shlex.join(argv)))
    _audit(argv)
    result = _runner(Call(argv, env, capture, input, timeout, on_stderr, cwd))
    if check and result.returncode != 0:
        raise DockerError(argv, result.returncode, result.stderr)
    return result


def _audit(argv: Sequence[str]) -> None:
    """With BAKERY_SEAM_LOG set, append each argv as a JSON line: how tests in
    other processes see what reached the seam (issue 7's validation grid)."""
    path = os.environ.get("BAKERY_SEAM_LOG")
    if path:
        with open(path, "a") as log_file:
            log_file.write(json.dumps(list(argv)) + "\n")


def environment(overrides: Mapping[str, str], drop: Sequence[str] = ()) -> dict[str, str]:
    """The process environment without `drop`, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(overrides)
    return env


# Probes. They detect features by trying them, never by version numbers.


def require_cli() -> None:
    result = run(["--version"], check=False, quiet=True)
    if result.returncode != 0:
        raise EnvironmentNotReady(f"docker CLI does not run; {PROVISION_HINT}")


def require_daemon() -> str:
    """The daemon's version; a clear error when it cannot be reached."""
    result = run(["version", "--format", "{{.Server.Version}}"], check=False, quiet=True)
    if result.returncode != 0 or not result.stdout.strip():
        where = os.environ.get("DOCKER_HOST", "the default socket")
        raise EnvironmentNotReady(f"Docker daemon not reachable at {where}; start it: sudo ci/provision-docker.sh")
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


def image_exists(ref: str) -> bool:
    return run(["image", "inspect", "--format", "{{.Id}}", ref], check=False, quiet=True).returncode == 0
