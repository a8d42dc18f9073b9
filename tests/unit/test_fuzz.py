"""Property-based fuzzing of every setting and axis.

For any string in any setting or axis, given through the environment, a .env
file or a command-line flag, a command ends with exit 0, or exit 2 with one
line that a UsageError produced: never a traceback, never another exit code,
and never a build. The task bodies run in-process (tasks.bake, tasks.matrix)
under the docker seam, which answers `bake --print` with a small definition;
any bake without --print that reaches the seam fails the test.

Examples: FUZZ_EXAMPLES in total per run (at least 2,000), derandomized when
CI=true so CI runs are repeatable.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invoke import Context
from invoke.exceptions import Exit

import tasks
from bakery.cli.common import guard
from bakery.config import settings as settings_module
from bakery.config.matrix import load as load_definition
from bakery.config.options import SPECS
from bakery.config.variables import tree_variables
from bakery.engine import docker
from bakery.errors import UsageError
from tests.conftest import IN_CI, Recorder

AXES = [a.name for a in load_definition().axes]
# BAKERY_SEAM_LOG names a file that every program run is appended to: fuzzed
# values would write files wherever they point. Its own tests are in test_docker_seam.
SETTINGS = sorted(
    {s.name for s in SPECS if s.name != "BAKERY_SEAM_LOG"} | set(tree_variables()) | set(AXES) | {a + "s" for a in AXES}
)
# Values near the edges of what the validators accept, so examples reach the
# accepting paths too, not only the rejecting ones.
EDGES = [
    "", " ", "0", "1", "-1", "30", "3600", "3601", "true", "false", "[]", '["a"]', '["default"]', "{}",
    "tcp:", "tcp:8080", "tcp:0", "http://localhost:8080/x", "http://h/a;b", "8008 8448", "8080/udp",
    "default", "none", "all", "release", "distro", "debian", "testing-slim", "x86_64-v1-linux-gnu",
    "x86_64-unknown-linux-gnu", "1.97", "12.5", "12_5", "a--b", "-x", "$(id)", "`id`", "a\nb", "é", "\t",
    '{"none": "", "default": "", "all": ""}', "/srv/cache", "ghcr.io/o/c", "https://example.invalid/p.git",
]  # fmt: skip
# Any text an environment variable can hold: no NUL, no lone surrogates.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=80)
VALUES = st.one_of(TEXT, st.sampled_from(EDGES))

# Split across the five properties below: 1000 + 600 + 400 + 400 + 400 = 2800 per run.
FUZZ_EXAMPLES = 2800
PROFILE = settings(
    derandomize=IN_CI,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_PRINTED = json.dumps({"group": {"default": {"targets": ["check"]}}, "target": {}})


def answer(call: docker.Call) -> docker.Completed:
    """The seam: `bake --print` gets a definition, anything else succeeds with
    no output. A bake without --print would be a build: it fails the test."""
    argv = call.argv
    if "bake" in argv and "--print" not in argv:
        pytest.fail(f"a build reached the docker seam: {argv}")
    return docker.Completed(argv, 0, _PRINTED if "bake" in argv else "", "")


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


class ReachedBuild(BaseException):
    """The run went past `bake --print` towards a build (no task catches it)."""


def stop_before_build(call: docker.Call) -> docker.Completed:
    if "bake" in call.argv and "--print" in call.argv:
        return answer(call)
    raise ReachedBuild(call.argv)


def outcome(body: Callable[[], object], respond: Callable[[docker.Call], docker.Completed] = answer) -> tuple[int, str]:
    """Run a task body in-process; (exit code, message). Anything but invoke's
    Exit propagates, and so fails the test with its traceback."""
    recorder = Recorder(respond=respond)
    sink = io.StringIO()
    with docker.use_runner(recorder), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            with guard():  # as the invoke program runs every task
                body()
        except Exit as exc:
            code, message = exc.code, str(exc.message or "")
            if code == 2:
                # Exit 2 only from a usage error (exit_for maps it).
                assert isinstance(exc.__context__, UsageError), repr(exc.__context__)
            return code, message
    return 0, ""


def check(code: int, message: str) -> None:
    assert code in (0, 2), (code, message)
    if code == 2:
        assert message.startswith("bakery: error: "), message
        assert "\n" not in message and "Traceback" not in message, message


def bake_print() -> None:
    tasks.bake.body(Context(), print=True)


def matrix_json() -> None:
    tasks.matrix.body(Context(), format="json")


@settings(PROFILE, max_examples=1000)
@given(name=st.sampled_from(SETTINGS), value=VALUES, task=st.sampled_from([bake_print, matrix_json]))
def test_any_value_in_the_environment(name: str, value: str, task: Callable[[], None]) -> None:
    with environment({name: value}):
        check(*outcome(task))


@settings(PROFILE, max_examples=600)
@given(values=st.dictionaries(st.sampled_from(SETTINGS), VALUES, min_size=2, max_size=4))
def test_any_values_together(values: dict[str, str]) -> None:
    with environment(values):
        check(*outcome(bake_print))


@settings(PROFILE, max_examples=400)
@given(name=st.sampled_from(SETTINGS), value=VALUES)
def test_any_value_in_a_dotenv_file(tmp_path: Path, name: str, value: str) -> None:
    dotenv = tmp_path / "fuzz.env"
    dotenv.write_text(f"{name}={value}\n")
    with environment({"BAKERY_DOTENV": str(dotenv)}):
        check(*outcome(bake_print))


@settings(PROFILE, max_examples=400)
@given(axis=st.sampled_from(AXES), value=st.one_of(VALUES, st.text(max_size=40)), targets=st.one_of(st.none(), VALUES))
def test_any_axis_flag_and_targets(axis: str, value: str, targets: str | None) -> None:
    def body() -> None:
        tasks.bake.body(Context(), targets=targets, print=True, **{axis: value})

    check(*outcome(body))


@settings(PROFILE, max_examples=400)
@given(values=st.dictionaries(st.sampled_from(SETTINGS), VALUES, min_size=1, max_size=3))
def test_a_build_starts_only_for_accepted_values(values: dict[str, str]) -> None:
    """`invoke bake` without --print: the seam stops the run at its first step
    past `bake --print` (the daemon probe that precedes every build). Only a
    selection the settings accept may get there; a rejected one exits 2 first."""
    with environment(values):
        try:
            code, message = outcome(lambda: tasks.bake.body(Context()), respond=stop_before_build)
        except ReachedBuild:
            settings_module.load({})  # accepted: raises nothing
            return
        check(code, message)
        if code == 0:
            assert settings_module.load({}).no_bake, "exit 0 without a build needs NO_BAKE"
