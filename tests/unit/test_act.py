"""The act runner (bakery/cli/act.py) and the stand-in actions (ci/actions).

Every `uses:` pin of the shipped workflows must have a stand-in, read here
from the workflow files themselves, so that bumping or adding a pin cannot
silently skip the act runs. act's command line goes through the process
seam; these tests read it there.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bakery import ROOT
from bakery.cli import act
from bakery.engine import process
from bakery.errors import EnvironmentNotReady, UsageError
from tests.support import act_log

WORKFLOWS = sorted((ROOT / "ci" / "workflows").glob("*.yml"))
SHA = "3d3c42e5aac5ba805825da76410c181273ba90b1"


def missing_stand_ins(workflows: list[Path]) -> list[str]:
    """`owner/repo@sha` pins that have no stand-in (ci/actions/owner/repo/action.yml)."""
    return [
        f"{action}@{sha}"
        for path in workflows
        for action, sha in act.pins(path.read_text())
        if not (act.stand_in(action) / "action.yml").is_file()
    ]


def uses(path: Path) -> list[tuple[str, dict]]:
    """(uses, with) of every step, from the parsed YAML."""
    workflow = YAML(typ="safe").load(path.read_text())
    return [
        (step["uses"], step.get("with") or {})
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if "uses" in step
    ]


def test_the_workflows_use_the_four_actions_with_stand_ins() -> None:
    actions = {u.split("@")[0] for path in WORKFLOWS for u, _ in uses(path)}
    assert actions == {"actions/checkout", "actions/setup-python", "actions/upload-artifact", "docker/login-action"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_pin_has_a_stand_in_that_takes_its_inputs(path: Path) -> None:
    for ref, given in uses(path):
        action, sha = ref.split("@")
        assert re.fullmatch(r"[0-9a-f]{40}", sha), ref
        stand_in = ROOT / "ci" / "actions" / action / "action.yml"
        assert stand_in.is_file(), f"{path.name}: {ref} has no stand-in at {stand_in.relative_to(ROOT)}"
        declared = YAML(typ="safe").load(stand_in.read_text())
        assert declared["runs"]["using"] == "composite"
        assert set(given) <= set(declared.get("inputs", {})), f"{ref}: inputs the stand-in does not declare"
    assert missing_stand_ins([path]) == []


def test_a_pin_without_a_stand_in_is_reported(tmp_path: Path) -> None:
    workflow = tmp_path / "w.yml"
    workflow.write_text(
        "jobs:\n  a:\n    steps:\n"
        f"      - uses: actions/checkout@{SHA} # v7.0.1\n"
        f"      - uses: actions/cache@{'0' * 40} # v5.0.0\n"
    )
    assert act.pins(workflow.read_text()) == [("actions/checkout", SHA), ("actions/cache", "0" * 40)]
    assert missing_stand_ins([workflow]) == [f"actions/cache@{'0' * 40}"]
    run = act.Run(workflow=workflow, event="push", source=tmp_path, out=tmp_path / "out")
    with pytest.raises(UsageError, match="no stand-in for actions/cache@0000"):
        act.argv(run)


class Record:
    def __init__(self) -> None:
        self.calls: list[process.Call] = []

    def __call__(self, call: process.Call) -> process.Completed:
        self.calls.append(call)
        lines = [
            {"job": "ci/init", "jobID": "init", "matrix": {}, "msg": "⭐ Run Main install bakery"},
            {"job": "ci/init", "jobID": "init", "jobResult": "success", "matrix": {}, "msg": "🏁  Job succeeded"},
            {"job": "ci/lint a b-2   ", "jobID": "lint", "matrix": {"f": "b"}, "msg": "  | error[E0425]"},
            {"job": "ci/lint a b-2   ", "jobID": "lint", "matrix": {"f": "b"}, "stepResult": "failure", "msg": "❌"},
            {"job": "ci/lint a b-2   ", "jobID": "lint", "jobResult": "failure", "matrix": {"f": "b"}, "msg": "🏁"},
            # Another entry of the same matrix: its steps passed, act still says "failure".
            {"job": "ci/lint a c-3   ", "jobID": "lint", "matrix": {"f": "c"}, "stepResult": "success", "msg": "✅"},
            {"job": "ci/lint a c-3   ", "jobID": "lint", "jobResult": "failure", "matrix": {"f": "c"}, "msg": "🏁"},
            {"job": "ci/publish a b-1", "jobID": "publish", "jobResult": "skipped", "matrix": {"f": "b"}, "msg": ""},
        ]
        return process.Completed(call.argv, 1, "".join(json.dumps(line) + "\n" for line in lines), "")


def test_act_runs_on_the_host_with_every_stand_in_and_secrets_by_name(tmp_path: Path) -> None:
    run = act.Run(
        workflow=ROOT / "ci" / "workflows" / "ci.yml",
        event="pull_request",
        source=tmp_path / "src",
        out=tmp_path / "out",
        payload=act.event_payload("pull_request", repository="o/r", branch="b", fork=True, number=3),
        variables={"BAKERY_MATRIX": "default", "BAKERY_RUNS_ON_UNTRUSTED": '["untrusted"]'},
        secrets={"GITHUB_TOKEN": "s3cret-value"},
    )
    record = Record()
    with process.use_runner(record):
        act.execute(run)
    (call,) = record.calls
    argv = list(call.argv)
    assert argv[1] == "pull_request"
    assert "--no-skip-checkout" in argv and "--no-cache-server" in argv
    pairs = {(argv[i], argv[i + 1]) for i in range(len(argv) - 1)}
    for label in ("self-hosted", "linux", "untrusted"):
        assert ("--platform", f"{label}=-self-hosted") in pairs
    stand_ins = ROOT / "ci" / "actions"
    assert ("--local-repository", f"actions/checkout@{SHA}={stand_ins / 'actions/checkout'}") in pairs
    assert sum(1 for a in argv if a == "--local-repository") == 4
    assert ("--var", "BAKERY_MATRIX=default") in pairs
    # The secret's name is on the command line, its value only in act's environment.
    assert ("--secret", "GITHUB_TOKEN") in pairs
    assert not any("s3cret-value" in a for a in argv)
    assert call.env is not None and call.env["GITHUB_TOKEN"] == "s3cret-value"
    assert ("--env", "PIP_NO_INDEX=1") in pairs
    assert ("--env", f"BAKERY_ACT_SOURCE={tmp_path / 'src'}") in pairs
    # The event payload act reads: a fork's pull request.
    payload = json.loads((tmp_path / "out" / "event.json").read_text())
    assert payload["pull_request"]["head"]["repo"]["fork"] is True
    assert payload["number"] == 3
    # Results by the jobs' rendered names (act pads them and numbers matrix jobs).
    assert act_log.jobs(run.log.read_text()) == {
        "init": act_log.Job("init", "init", "success"),
        "lint a b": act_log.Job("lint a b", "lint", "failure"),
        "lint a c": act_log.Job("lint a c", "lint", "success"),
        "publish a b": act_log.Job("publish a b", "publish", "skipped"),
    }
    assert act_log.job_log(run.log.read_text(), "lint a b") == ["  | error[E0425]", "❌", "🏁"]


def test_act_is_found_by_the_seam_and_a_missing_act_says_how_to_install_it(tmp_path: Path) -> None:
    run = act.Run(workflow=ROOT / "ci" / "workflows" / "ci.yml", event="push", source=tmp_path, out=tmp_path)
    record = Record()
    with process.use_runner(record):
        act.execute(run)
    assert record.calls[0].argv[0] in ("act", str(Path(sys.executable).parent / "act"))
    assert record.calls[0].install_hint == act.ACT_HINT
    # The real runner, on a program that is not there: no process starts.
    with pytest.raises(EnvironmentNotReady, match=re.escape(f"not found on PATH; {act.ACT_HINT}")):
        process.run([str(tmp_path / "act")], install_hint=act.ACT_HINT)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"event": "release"}, "event 'release' is not supported"),
        ({"variables": {"BAD-NAME": "x"}}, "'BAD-NAME' is not a variable name"),
        ({"variables": {"BAKERY_RUNS_ON": "self-hosted"}}, "BAKERY_RUNS_ON='self-hosted' is not a JSON list"),
    ],
)
def test_bad_input_is_one_usage_error(tmp_path: Path, change: dict, message: str) -> None:
    fields = {"workflow": ROOT / "ci" / "workflows" / "ci.yml", "event": "push", "source": tmp_path, "out": tmp_path}
    run = act.Run(**{**fields, **change})
    with pytest.raises(UsageError, match=re.escape(message)):
        act.argv(run)


def _command(tmp_path: Path, **change: object) -> act.Run:
    options: dict = {
        "event": "push",
        "workflow": None,
        "branch": "main",
        "fork": False,
        "variables": [],
        "secrets": [],
        "job": None,
        "out": tmp_path,
        "repository": "example/mxd",
    }
    return act.command(**{**options, **change})


def test_invoke_act_picks_the_workflow_by_event_and_reads_secrets_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _command(tmp_path).workflow == ROOT / "ci" / "workflows" / "ci.yml"
    assert _command(tmp_path, event="schedule").workflow == ROOT / "ci" / "workflows" / "maintenance.yml"
    monkeypatch.setenv("MY_TOKEN", "t0ken")
    run = _command(tmp_path, variables=["BAKERY_MATRIX=default", "EMPTY="], secrets=["MY_TOKEN"])
    assert run.variables == {"BAKERY_MATRIX": "default", "EMPTY": ""}
    assert run.secrets == {"MY_TOKEN": "t0ken"}
    assert run.payload["ref"] == "refs/heads/main"
    assert run.source == ROOT


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fork": True}, "--fork applies to pull_request only"),
        ({"secrets": ["NOT_SET_ANYWHERE"]}, "secret NOT_SET_ANYWHERE is not set"),
        ({"variables": ["NOVALUE"]}, "--var 'NOVALUE' must be NAME=VALUE"),
        ({"workflow": "ci/workflows/nope.yml"}, "workflow ci/workflows/nope.yml does not exist"),
        ({"repository": "just-a-name"}, "--repository 'just-a-name' must be OWNER/NAME"),
    ],
)
def test_invoke_act_bad_input_is_one_usage_error(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        _command(tmp_path, **change)
