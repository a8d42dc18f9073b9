"""`invoke explain` on the command line: the reasons of real run records
(tests/unit/fixtures/explain), JSON, targets, and the bad-input grid (one
line, exit 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import invoke

FIXTURES = Path(__file__).parent.parent / "unit" / "fixtures" / "explain"
SOURCE = "source--debian--testing-slim--x86_64-v1-linux-gnu"
BEFORE, AFTER = "20261206T195806-7035d2e0", "20261206T195807-2b687014"
FILE = "a file changed: example/crates/mxd/src/main.rs (sha256 4dae5fc18f63… → fe1e6c50d0d5…)"


def explain(run_dir: Path, *args: str):
    return invoke("explain", *args, env={"BAKERY_RUN_DIR": str(run_dir)}, timeout=60)


def test_the_last_run_is_explained_by_default() -> None:
    result = explain(FIXTURES / "edit")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"run {AFTER}, each step against the latest earlier run that had it:",
        f"{SOURCE}:",
        f"  {FILE} (against run {BEFORE})",
        f"    ran   [{SOURCE}.source 1/1] COPY --link --from=src . /usr/src/mxd",
    ]


def test_a_run_targets_against_and_json_in_any_order() -> None:
    result = explain(FIXTURES / "edit", AFTER, "source", "--against", BEFORE, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["run"], data["against"]) == (AFTER, BEFORE)
    assert [(s["instance"], s["reason"], s["text"]) for s in data["steps"]] == [(SOURCE, "file", FILE)]


def test_a_run_in_which_nothing_ran() -> None:
    result = explain(FIXTURES / "edit", BEFORE)
    assert (result.returncode, result.stdout.splitlines()[-1]) == (0, "  no step ran: nothing to explain")


def _no_stream(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "edit" / AFTER, tmp_path / AFTER)
    (tmp_path / AFTER / "progress.jsonl").write_text("")
    return tmp_path


@pytest.mark.parametrize(
    ("where", "args", "message"),
    [
        ("edit", ("20990101T000000-00000000",), "no run record 20990101T000000-00000000 under"),
        ("edit", ("--against", "yesterday"), "'yesterday' is not a run id"),
        ("edit", ("install",), "baked no target install"),
        ("edit", ("--format", "yaml"), "--format='yaml' is not allowed; allowed: text, json"),
        ("older", (), "recorded without an inputs manifest of schema 1"),
        ("empty", (), "no run records under"),
        ("no-stream", (), f"run {AFTER} has no step stream (progress.jsonl)"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, where: str, args: tuple[str, ...], message: str) -> None:
    run_dir = {"empty": tmp_path, "no-stream": None}.get(where, FIXTURES / where)
    result = explain(run_dir or _no_stream(tmp_path), *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert message in line
