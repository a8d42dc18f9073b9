"""Smoke and adoption settings (docs/adopt.md): validated before bake starts,
layered like every tree setting, and skipped runs named in the run summary."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from invoke import Context
from invoke.exceptions import Exit

import tasks
from bakery.baking import bake, progress
from bakery.cli.common import guard
from bakery.config import settings, variables
from bakery.engine import docker
from bakery.errors import UsageError
from tests.conftest import Recorder


def print_only(seam: Recorder) -> None:
    seam.respond = lambda call: docker.Completed(call.argv, 0, json.dumps({"target": {}}), "")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("smoke_timeout", "-5", "smoke_timeout='-5' is not allowed; allowed: whole seconds from 1 to 3600"),
        ("smoke_timeout", "abc", "smoke_timeout='abc' is not allowed; allowed: whole seconds from 1 to 3600"),
        ("smoke_timeout", "0", "smoke_timeout='0' is out of range; allowed: whole seconds from 1 to 3600"),
        ("smoke_timeout", "3601", "smoke_timeout='3601' is out of range; allowed: whole seconds from 1 to 3600"),
        ("smoke_timeout", "1e3", "smoke_timeout='1e3' is not allowed; allowed: whole seconds from 1 to 3600"),
        ("smoke_ready", "tcp:", "smoke_ready='tcp:' is not allowed; allowed: empty (run to exit), tcp:PORT, or"),
        ("smoke_ready", "tcp:70000", "smoke_ready='tcp:70000' is not allowed"),
        ("smoke_ready", "http://localhost:8080/$(id)", "smoke_ready='http://localhost:8080/$(id)' is not allowed"),
        ("smoke_ready", "http://h/a;reboot", "smoke_ready='http://h/a;reboot' is not allowed"),
        ("smoke_ready", "http://h/a b", "smoke_ready='http://h/a b' is not allowed"),
        ("smoke_ready", "https://h/", "smoke_ready='https://h/' is not allowed"),
        ("expose_ports", "8080,8448", "expose_ports='8080,8448' is not allowed; allowed: space-separated ports"),
        ("expose_ports", "0", "expose_ports='0' is not allowed"),
        ("default_targets", "install", "default_targets='install' is not allowed; allowed: a JSON array"),
        ("default_targets", "[]", "default_targets='[]' is not allowed; allowed: a JSON array"),
        ("default_targets", '["-x"]', "default_targets='[\"-x\"]' is not allowed"),
        ("default_targets", '["a",]', "default_targets='[\"a\",]' is not valid JSON"),
    ],
)
def test_a_bad_smoke_or_adoption_value_exits_2_before_bake(
    seam: Recorder, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(Exit) as info, guard():
        tasks.bake.body(Context())
    assert info.value.code == 2
    assert str(info.value.message).startswith(f"bakery: error: {message}")
    assert "\n" not in str(info.value.message)
    assert seam.calls == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("smoke_timeout", "1"),
        ("smoke_timeout", "3600"),
        ("smoke_ready", "tcp:8080"),
        ("smoke_ready", "tcp:65535"),
        ("smoke_ready", "http://127.0.0.1:8008/_matrix/client/versions"),
        ("smoke_ready", "http://localhost/"),
        ("expose_ports", "8080"),
        ("expose_ports", "8008 8448/tcp 3478/udp"),
        ("default_targets", '["install", "tests-smoke"]'),
    ],
)
def test_a_good_value_is_accepted(name: str, value: str) -> None:
    assert settings.load({}, {name: value}).tree == {name: value}


@pytest.mark.parametrize("name", ["smoke_version_args", "smoke_startup_args", "smoke_ready", "expose_ports"])
def test_an_empty_value_is_kept_where_empty_means_something(seam: Recorder, tmp_path: Path, name: str) -> None:
    """Empty smoke_version_args skips the version run; it must reach bake as
    empty, not fall back to bake.hcl's -V (which other settings do)."""
    dotenv = tmp_path / "project.env"
    dotenv.write_text(f"{name}=\nproject_name=\n")
    loaded = settings.load({}, {"BAKERY_DOTENV": str(dotenv), "NO_BAKE": "1"})
    assert loaded.tree == {name: ""}
    print_only(seam)
    bake.run(loaded, ["tests-smoke"], loaded.vectors(), out=lambda _line: None)
    (call,) = seam.calls
    assert call.env is not None
    assert call.env[name] == ""
    assert "project_name" not in call.env


def test_the_environment_beats_dotenv_even_when_empty(tmp_path: Path) -> None:
    dotenv = tmp_path / "project.env"
    dotenv.write_text("smoke_version_args=--version\nsmoke_ready=tcp:8080\n")
    loaded = settings.load({}, {"BAKERY_DOTENV": str(dotenv), "smoke_version_args": ""})
    assert loaded.tree == {"smoke_version_args": "", "smoke_ready": "tcp:8080"}


def test_check_tree_is_the_one_validator() -> None:
    with pytest.raises(UsageError, match="out of range"):
        variables.check_tree("smoke_timeout", "9999")
    assert variables.check_tree("smoke_timeout", "30") == "30"


def rawjson(digest: str, name: str, log: str = "") -> str:
    status: dict = {"vertexes": [{"digest": digest, "name": name, "started": "t", "completed": "t"}]}
    if log:
        status["logs"] = [{"vertex": digest, "data": base64.b64encode(log.encode()).decode()}]
    return json.dumps(status)


def test_the_run_summary_names_a_skipped_smoke_run() -> None:
    lines = [
        rawjson("sha256:a", "[smoketest-version--v smoketest-version 1/1] RUN sh /usr/local/bin/smoke ..."),
        rawjson("sha256:a", "[smoketest-version--v smoketest-version 1/1] RUN sh /usr/local/bin/smoke ...",
                "bakery-smoke: smoketest-version: skipped (its arguments are empty)\n"),
        rawjson("sha256:b", "[smoketest-startup--v smoketest-startup 1/1] RUN sh /usr/local/bin/smoke ...",
                "bakery-smoke: smoketest-startup: passed\n"),
    ]  # fmt: skip
    tally = progress.Tally()
    tally.add(progress.parse(lines))
    assert tally.lines() == [
        "   0 cached    1 ran  smoketest-startup--v",
        "   0 cached    1 ran  smoketest-version--v",
        "skipped      smoketest-version--v: smoketest-version (its arguments are empty)",
        "   0 cached    2 ran  total (0 failed)",
    ]


def test_a_log_line_cut_across_chunks_is_joined() -> None:
    """BuildKit may cut a line between two log chunks; the skipped line must still be seen."""
    name = "[smoketest-version--v smoketest-version 1/1] RUN sh /usr/local/bin/smoke ..."
    lines = [
        rawjson("sha256:a", name, "bakery-smoke: smoketest-ver"),
        rawjson("sha256:a", name, "sion: skipped (its arguments are empty)\nnext\n"),
    ]
    parsed = progress.parse(lines)
    assert parsed.vertices["sha256:a"].logs == [
        "bakery-smoke: smoketest-version: skipped (its arguments are empty)",
        "next",
    ]
    assert progress.skipped(parsed) == ["smoketest-version--v: smoketest-version (its arguments are empty)"]
