"""Code paths that depend on the environment, each tested with
CI=true and with CI unset, whatever the environment the suite runs in
(.ci/run sets CI=true; a developer usually does not).

`invoke complement` attached versus detached is covered by
tests/unit/test_complement.py and tests/engine/test_complement.py. Here:
bake's progress rendering (CI_SILENT_BAKE) and CI_PRINT_BAKE, through the
docker seam with a scripted engine that answers bake's probes, returns a
small `--print` definition and streams rawjson progress for the bake call.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.baking import bake
from bakery.engine import docker
from tests.support.docker_fakes import ScriptedDocker
from tests.support.settings import for_bake

DEFINITION = {
    "group": {"default": {"targets": ["tiny"]}},
    "target": {"tiny": {"context": "docker", "dockerfile": "Dockerfile.install"}},
}


def vertex(digest: str, name: str, **state: object) -> str:
    return json.dumps({"vertexes": [{"digest": digest, "name": name, **state}]}) + "\n"


T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"
# Four steps: a FROM (never reported), one cached RUN, one RUN that ran with
# a log line, one COPY that ran; and an [internal] vertex, which is no step.
RAWJSON = [
    vertex("sha256:i", "[internal] load local bake definitions", started=T0, completed=T1),
    vertex("sha256:a", "[tiny base 1/4] FROM docker.io/library/debian:testing-slim", started=T0, completed=T1),
    vertex("sha256:b", "[tiny base 2/4] RUN apt-get update", started=T0, completed=T1, cached=True),
    vertex("sha256:c", "[tiny base 3/4] RUN make", started=T0),
    json.dumps({"logs": [{"vertex": "sha256:c", "data": base64.b64encode(b"compiling\n").decode()}]}) + "\n",
    vertex("sha256:c", "[tiny base 3/4] RUN make", started=T0, completed=T1),
    vertex("sha256:d", "[tiny base 4/4] COPY out /out", started=T0, completed=T1),
]
STEP_LINES = [
    "CACHED  [tiny base 2/4] RUN apt-get update",
    "RAN     [tiny base 3/4] RUN make",
    "RAN     [tiny base 4/4] COPY out /out",
]
SUMMARY = ["   1 cached    2 ran  tiny", "   1 cached    2 ran  total (0 failed)"]


ALLOW_HELP = "      --allow stringArray   Allow build to access specified resources\n"


def tiny_engine() -> ScriptedDocker:
    """Answers one bake's docker calls (the tiny tree, its rawjson); records calls and output in order."""
    return ScriptedDocker(definition=DEFINITION, progress=RAWJSON, driver_status="[]", bake_help=ALLOW_HELP)


def run_bake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ci: str | None, **environ: str) -> ScriptedDocker:
    monkeypatch.chdir(ROOT)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
        environ["CI"] = ci
    engine = tiny_engine()
    loaded = for_bake(tmp_path, **environ)
    assert loaded.ci is (ci == "true")
    with docker.use_runner(engine):
        bake.run(loaded, [], [loaded.definition.default_vector()], out=engine.out)
    return engine


def accept(tmp_path: Path) -> str:
    (record,) = (tmp_path / "runs").iterdir()
    return (
        "ACCEPT default [cargo_profile=release rust_toolchain=distro rust_target=x86_64-unknown-linux-gnu "
        f"feat_set=default sys_name=debian sys_version=testing-slim sys_target=x86_64-v1-linux-gnu] (record: {record})"
    )


def progress_flag(argv: tuple[str, ...]) -> str:
    return argv[argv.index("--progress") + 1]


@pytest.mark.parametrize("ci", ["true", None], ids=["CI=true", "CI-unset"])
def test_default_rendering_prints_one_line_per_step(ci: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    engine = run_bake(tmp_path, monkeypatch, ci)
    assert engine.lines == [*STEP_LINES, *SUMMARY, accept(tmp_path)]
    assert progress_flag(engine.bake_call) == "rawjson"


@pytest.mark.parametrize("ci", ["true", None], ids=["CI=true", "CI-unset"])
def test_silent_bake_prints_no_step_lines(ci: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    engine = run_bake(tmp_path, monkeypatch, ci, CI_SILENT_BAKE="1")
    assert engine.lines == [*SUMMARY, accept(tmp_path)]
    assert not [line for line in engine.lines if line.startswith(("CACHED ", "RAN ", "ERROR  "))]
    # Progress is still recorded in full, and still rawjson (the summary needs it).
    assert progress_flag(engine.bake_call) == "rawjson"
    (record,) = (tmp_path / "runs").iterdir()
    assert (record / "progress.jsonl").read_text() == "".join(RAWJSON)


@pytest.mark.parametrize("ci", ["true", None], ids=["CI=true", "CI-unset"])
def test_print_bake_prints_the_definition_before_baking(
    ci: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    engine = run_bake(tmp_path, monkeypatch, ci, CI_PRINT_BAKE="1")
    definition = json.dumps(DEFINITION, indent=2)
    assert engine.lines == [definition, *STEP_LINES, *SUMMARY, accept(tmp_path)]
    assert engine.events.index(("out", definition)) < engine.events.index(("seam", engine.bake_call))


@pytest.mark.parametrize("ci", ["true", None], ids=["CI=true", "CI-unset"])
def test_without_print_bake_the_definition_is_not_printed(
    ci: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    engine = run_bake(tmp_path, monkeypatch, ci, CI_PRINT_BAKE="0")
    assert json.dumps(DEFINITION, indent=2) not in engine.lines
    assert not any(line.lstrip().startswith("{") for line in engine.lines)


def test_ci_does_not_change_the_bake_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    in_ci = run_bake(tmp_path / "ci", monkeypatch, "true").bake_call
    local = run_bake(tmp_path / "local", monkeypatch, None).bake_call

    def without_record(argv: tuple[str, ...]) -> tuple[str, ...]:
        # The run record's paths (the generated bake file, the metadata file) differ per run.
        return tuple("<record>" if "/runs/" in part else part for part in argv)

    assert without_record(in_ci) == without_record(local)
