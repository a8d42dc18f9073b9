"""A project we did not write, built from settings alone (docs/adopt.md).

tests/fixtures/hitcount is a single crate whose package (hitcount) and binary
(hitcountd) differ, with one dependency (itoa) vendored for offline builds. Its
server only listens: no -V, no self-test flag. Nothing in docker/ or bakery/
names it; only settings do. Build containers cannot reach the crates registry,
so a passing build proves the vendored source reached every cargo step.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.baking import progress
from tests.conftest import invoke

pytestmark = pytest.mark.usefixtures("engine")

VECTOR = "release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
SETTINGS = {
    "source_location": "tests/fixtures/hitcount",
    "project_name": "hitcount",
    "bin_name": "hitcountd",
    "smoke_version_args": "",
    "smoke_startup_args": "",
    "smoke_ready": "tcp:8080",
    "expose_ports": "8080",
    "CI": "true",
}


def _record(output: str) -> Path:
    match = re.search(r"\(record: ([^)]+)\)", output)
    assert match, output[-3000:]
    return Path(match.group(1))


def _seconds(stamp: str) -> float:
    # BuildKit writes nanoseconds; fromisoformat takes at most microseconds.
    trimmed = re.sub(r"(\.\d{6})\d*", r"\1", stamp).replace("Z", "+00:00")
    return datetime.fromisoformat(trimmed).timestamp()


def _smoke_steps(record: Path) -> dict[str, progress.Vertex]:
    steps = progress.parse((record / "progress.jsonl").read_text().splitlines()).vertices.values()
    return {v.stage: v for v in steps if v.stage and v.text.startswith("RUN") and "sh /usr/local/bin/smoke " in v.text}


def _duration(vertex: progress.Vertex) -> float:
    assert vertex.started and vertex.completed, vertex.name
    return _seconds(vertex.completed) - _seconds(vertex.started)


def test_hitcount_builds_and_smokes_from_settings_alone() -> None:
    # A smoke_timeout this run has not used before: the smoke steps' cache key
    # changes, so they run (and are timed) rather than come back CACHED.
    timeout = str(random.randint(40, 240))
    started = time.monotonic()
    result = invoke(
        "bake", "check,clippy,tests-unit,install,image,tests-smoke", env={**SETTINGS, "smoke_timeout": timeout}
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    record = _record(result.stdout)

    smoke = _smoke_steps(record)
    assert set(smoke) == {"smoketest-version", "smoketest-startup", "smoketest-valgrind"}
    assert all(v.state == "ran" for v in smoke.values()), {k: v.state for k, v in smoke.items()}
    logs = {stage: "\n".join(v.logs) for stage, v in smoke.items()}
    assert "bakery-smoke: smoketest-version: skipped (its arguments are empty)" in logs["smoketest-version"]
    for stage in ("smoketest-startup", "smoketest-valgrind"):
        assert f"bakery-smoke: {stage}: ready after" in logs[stage]
        assert f"bakery-smoke: {stage}: passed" in logs[stage], logs[stage]
    assert f"(timeout {int(timeout) * 10}s, polled every 0.2 s)" in logs["smoketest-valgrind"]
    # The run summary names the skipped run.
    assert f"skipped      smoketest-version--{VECTOR}: smoketest-version (its arguments are empty)" in result.stdout

    # tests-unit ran the fixture's unit test (this time, or in the build its CACHED step came from).
    steps = progress.parse((record / "progress.jsonl").read_text().splitlines()).steps()
    units = [v for v in steps if v.target == f"tests-unit--{VECTOR}" and v.stage == "cargo" and "RUN" in v.text]
    assert units and all(v.state in ("ran", "cached") for v in units)
    if any(v.state == "ran" for v in units):
        assert any("test tests::response_carries_the_count ... ok" in line for v in units for line in v.logs)

    # The binary is the package's [[bin]], installed under its own name.
    out = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .Config.ExposedPorts}}", f"hitcount/image--{VECTOR}:latest"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == {"8080/tcp": {}}
    listing = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "ls", f"hitcount/install--{VECTOR}:latest", "/usr/bin/hitcountd"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert listing.returncode == 0, listing.stderr
    timings = {stage: round(_duration(v), 2) for stage, v in sorted(smoke.items())}
    print(f"\nhitcount: bake {elapsed:.1f} s; smoke step durations (s): {timings}")


def test_a_server_that_never_gets_ready_fails_its_smoke_within_the_timeout() -> None:
    """smoke_ready names a port the server never opens: the startup run fails
    once smoke_timeout has passed, with a clear line, instead of hanging."""
    timeout = 3
    # A fresh startup argument keeps this step out of the cache (the server ignores it).
    nonce = f"{random.randint(10000, 65000)}"
    env = {**SETTINGS, "smoke_ready": "tcp:9", "smoke_timeout": str(timeout), "smoke_startup_args": nonce}
    started = time.monotonic()
    result = invoke("bake", "smoketest-startup", env=env)
    elapsed = time.monotonic() - started
    assert result.returncode != 0, result.stdout[-3000:]
    output = result.stdout + result.stderr
    assert (
        f"bakery-smoke: smoketest-startup: FAILED: not ready after {timeout}s (smoke_timeout): tcp:9 never answered"
        in output
    )
    step = _smoke_steps(_record(output))["smoketest-startup"]
    assert step.state == "error"
    duration = _duration(step)
    # Bounded by the timeout (whole seconds) plus one probe (2 s) and the 5 s stop grace.
    assert timeout - 1 <= duration <= timeout + 8, duration
    print(f"\nnever-ready: smoke step {duration:.2f} s for smoke_timeout={timeout}; whole bake {elapsed:.1f} s")


# The page "Use it for your project": its fenced sh blocks run verbatim,
# except those that say they are not run by the tests.
ADOPT = ROOT / "docs" / "adopt.md"
TITLE = "# Use it for your project\n"
NOT_RUN = "# Not run by the tests:"
_COPY_IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "runs", "results", "out", "target", "__pycache__", ".mypy_cache", ".ruff_cache", ".nox"
)


def doc_blocks() -> list[str]:
    text = ADOPT.read_text()
    assert text.startswith(TITLE), "docs/adopt.md does not start with its title 'Use it for your project'"
    return re.findall(r"^```sh\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


def test_the_adopt_doc_has_blocks_to_run_and_says_which_it_skips() -> None:
    blocks = doc_blocks()
    skipped = [b for b in blocks if b.startswith(NOT_RUN)]
    assert len(skipped) == 1 and "bash ci/setup.sh" in skipped[0]
    assert len(blocks) - len(skipped) >= 3


def test_the_adopt_doc_commands_pass_verbatim(tmp_path: Path) -> None:
    """A folder with bakery/ and hitcount/ side by side, as a user lays it
    out. bakery/ is a copy of this checkout (its own ROOT, so ../hitcount
    resolves beside it); the .venv is this checkout's, and PYTHONPATH makes it
    import the copy's package."""
    bakery_dir = tmp_path / "bakery"
    shutil.copytree(ROOT, bakery_dir, ignore=_COPY_IGNORE)
    (bakery_dir / ".venv").symlink_to(ROOT / ".venv")
    shutil.copytree(ROOT / "tests" / "fixtures" / "hitcount", tmp_path / "hitcount", ignore=_COPY_IGNORE)
    env = {k: v for k, v in os.environ.items() if k != "BAKERY_DOTENV"}
    env.update({"PYTHONPATH": str(bakery_dir), "CI": "true"})
    ran = []
    for block in doc_blocks():
        if block.startswith(NOT_RUN):
            continue
        started = time.monotonic()
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=bakery_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        assert result.returncode == 0, f"{block}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        ran.append((block.splitlines()[-1][:60], round(time.monotonic() - started, 1), result.stdout))
    settings_file = tmp_path / "hitcount" / "ci" / "bakery.env"
    assert "smoke_ready=tcp:8080" in settings_file.read_text()
    # The last block built the default group from the file: the project's own targets, in the copy.
    build_output = ran[-1][2]
    assert "ACCEPT default [" in build_output
    assert f"(record: {bakery_dir}/runs/" in build_output
    print(f"\nadopt doc blocks (last line, seconds): {[r[:2] for r in ran]}")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=bakery@example.invalid", "-c", "user.name=bakery", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_a_git_source_builds_the_ref_it_names(tmp_path: Path) -> None:
    """source_location as a git URL and git_checkout as a ref.
    A local `git daemon` serves the fixture: the tag v0.1.0 builds, while the
    branch head after it does not compile, so a pass proves the ref was used."""
    repo = tmp_path / "hitcount"
    shutil.copytree(ROOT / "tests" / "fixtures" / "hitcount", repo, ignore=_COPY_IGNORE)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "hitcount")
    _git(repo, "tag", "v0.1.0")
    (repo / "src" / "main.rs").write_text("fn main() { this does not compile }\n")
    _git(repo, "commit", "-q", "-am", "broken")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    daemon = subprocess.Popen(
        ["git", "daemon", f"--base-path={tmp_path}", "--export-all", "--listen=127.0.0.1", f"--port={port}", str(repo)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["git", "ls-remote", f"git://127.0.0.1:{port}/hitcount"], capture_output=True).returncode:
            assert time.monotonic() < deadline, "git daemon did not start"
            time.sleep(0.2)
        env = {**SETTINGS, "source_location": f"git://127.0.0.1:{port}/hitcount", "git_checkout": "v0.1.0"}
        result = invoke("bake", "check,install", env=env)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "ACCEPT check install [" in result.stdout
        broken = invoke("bake", "check", env={**env, "git_checkout": "main"})
        assert broken.returncode != 0
        assert "this does not compile" in broken.stdout + broken.stderr
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
