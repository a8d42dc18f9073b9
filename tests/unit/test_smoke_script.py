"""docker/scripts/smoke on the host: the same script the smoke
stages bind-mount, run with sh against small servers written here in Python.
No docker: the script needs only sh, coreutils' timeout and bash's /dev/tcp."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time

import pytest

from bakery import ROOT

SMOKE = ROOT / "docker" / "scripts" / "smoke"

# Listens on the port given, answers every connection with an HTTP status line.
SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
while True:
    c, _ = s.accept(); c.recv(1024); c.sendall(b"HTTP/1.0 204 No Content\\r\\n\\r\\n"); c.close()
"""
# The same server, deaf to SIGTERM.
STUBBORN = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + SERVER


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def smoke(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(["sh", str(SMOKE), *args], capture_output=True, text=True, timeout=60, check=False)
    return result, time.monotonic() - started


@pytest.mark.parametrize("kind", ["tcp", "http"])
def test_a_server_that_gets_ready_passes_and_is_stopped(kind: str) -> None:
    port = free_port()
    ready = f"tcp:{port}" if kind == "tcp" else f"http://127.0.0.1:{port}/health"
    result, elapsed = smoke("startup", "10", ready, "--", sys.executable, "-c", SERVER, str(port))
    assert result.returncode == 0, result.stderr
    assert re.search(rf"^bakery-smoke: startup: ready after \d+s \({re.escape(ready)} answered\)$", result.stderr, re.M)
    assert result.stderr.rstrip().endswith("bakery-smoke: startup: passed")
    assert "WARNING" not in result.stderr
    assert elapsed < 5
    # SIGTERM stopped it: the port is free again.
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))


def test_a_server_that_never_gets_ready_fails_within_the_timeout() -> None:
    port, other = free_port(), free_port()
    result, elapsed = smoke("startup", "2", f"tcp:{other}", "--", sys.executable, "-c", SERVER, str(port))
    assert result.returncode == 1
    assert f"bakery-smoke: startup: FAILED: not ready after 2s (smoke_timeout): tcp:{other} never answered" in (
        result.stderr
    )
    assert 1 <= elapsed < 5


def test_a_server_that_exits_before_it_is_ready_fails() -> None:
    result, elapsed = smoke("startup", "10", f"tcp:{free_port()}", "--", "sh", "-c", "exit 3")
    assert result.returncode == 1
    assert "FAILED: exited with status 3 before tcp:" in result.stderr
    assert elapsed < 5


def test_needing_sigkill_is_a_warning_not_a_failure() -> None:
    port = free_port()
    result, elapsed = smoke("startup", "10", f"tcp:{port}", "--", sys.executable, "-c", STUBBORN, str(port))
    assert result.returncode == 0, result.stderr
    assert "bakery-smoke: startup: WARNING: still running 5 s after SIGTERM; sent SIGKILL" in result.stderr
    assert 5 <= elapsed < 10


def test_run_to_exit_is_bounded_by_the_timeout() -> None:
    result, elapsed = smoke("version", "1", "", "--", "sleep", "30")
    assert result.returncode == 1
    assert "FAILED: still running after 1s (smoke_timeout); a server that only listens needs smoke_ready" in (
        result.stderr
    )
    assert elapsed < 4


def test_the_factor_stretches_the_timeout() -> None:
    result, _ = smoke("valgrind", "1", "", "--factor", "3", "--", "sleep", "2")
    assert result.returncode == 0, result.stderr
    assert "(timeout 3s)" in result.stderr


def test_empty_arguments_skip_the_run() -> None:
    result, _ = smoke("smoketest-version", "30", "", "--skip-if-empty", "", "--", "false")
    assert result.returncode == 0
    assert result.stderr == "bakery-smoke: smoketest-version: skipped (its arguments are empty)\n"


@pytest.mark.parametrize(
    ("timeout", "ready", "message"),
    [
        ("0", "", "smoke_timeout=0 is not between 1 and 3600"),
        ("-1", "", "smoke_timeout=-1 is not whole seconds from 1 to 3600"),
        ("x", "", "smoke_timeout=x is not whole seconds from 1 to 3600"),
        ("5", "tcp:", "smoke_ready=tcp: has no port"),
        ("5", "http://h:8/a;b", "smoke_ready=http://h:8/a;b has characters outside"),
        ("5", "udp:53", "smoke_ready=udp:53 is not tcp:PORT or an http:// URL"),
    ],
)
def test_the_script_checks_its_values_again(timeout: str, ready: str, message: str) -> None:
    """For `docker buildx bake` run without bakery, which validates first."""
    result, _ = smoke("s", timeout, ready, "--", "true")
    assert result.returncode == 1
    assert f"bakery-smoke: s: FAILED: {message}" in result.stderr
