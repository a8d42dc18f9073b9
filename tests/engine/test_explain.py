"""`invoke explain` names the cause of real reruns on the main engine
(docs/why-rebuild.md): an edited file, a changed build arg, an untrusted run
after a trusted one, and a fresh run directory that explains against the
manifest the trusted export left beside its entry.

The source is a copy of the example with a fresh edit per run (BuildKit's
cache is content-addressed), and each test has its own run directory. The
claim volumes the trusted and untrusted runs make are removed afterwards
when they were not there before.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bakery import ROOT
from tests.conftest import invoke

pytestmark = pytest.mark.usefixtures("engine")

SOURCE = "source--debian--testing-slim--x86_64-v1-linux-gnu"
INGREDIENTS = "ingredients--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
CLAIMS = ["docker", "volume", "ls", "-q", "--filter", "label=io.bakery.shared-keys"]


def _claims() -> set[str]:
    return set(subprocess.run(CLAIMS, capture_output=True, text=True, check=True).stdout.split())


@pytest.fixture
def own_claims() -> Iterator[None]:
    before = _claims()
    yield
    made = sorted(_claims() - before)
    if made:
        subprocess.run(["docker", "volume", "rm", "--force", *made], capture_output=True, check=False)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    copy = tmp_path / "example"
    shutil.copytree(ROOT / "example", copy, ignore=shutil.ignore_patterns("target"))
    _edit(copy)
    return copy


def _edit(source: Path) -> str:
    main = source / "crates" / "mxd" / "src" / "main.rs"
    main.write_text(main.read_text() + f"// {uuid.uuid4().hex}\n")
    return str(main)


def _bake(target: str, env: dict[str, str]) -> str:
    result = invoke("bake", target, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def _explain(run_dir: Path, *args: str) -> dict:
    result = invoke("explain", "--format", "json", *args, env={"BAKERY_RUN_DIR": str(run_dir)})
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_an_edited_file_is_named(tmp_path: Path, source: Path) -> None:
    env = {"source_location": str(source), "BAKERY_RUN_DIR": str(tmp_path / "runs")}
    _bake("source", env)
    edited = _edit(source)
    _bake("source", env)
    steps = _explain(tmp_path / "runs")["steps"]
    assert [(s["instance"], s["reason"]) for s in steps] == [(SOURCE, "file")]
    assert steps[0]["text"].startswith(f"a file changed: {edited} (sha256 ")


def test_a_changed_build_arg_is_named(tmp_path: Path, source: Path) -> None:
    env = {"source_location": str(source), "BAKERY_RUN_DIR": str(tmp_path / "runs")}
    _bake("source", env)
    name = f"p{uuid.uuid4().hex[:10]}"
    _bake("source", {**env, "project_name": name})
    steps = _explain(tmp_path / "runs")["steps"]
    assert [(s["instance"], s["text"]) for s in steps] == [
        (SOURCE, f"a build arg changed: `project_name`: `mxd` → `{name}`")
    ]


@pytest.mark.usefixtures("own_claims")
def test_untrusted_after_trusted_and_a_fresh_run_directory_against_the_exporter(tmp_path: Path, source: Path) -> None:
    ref = f"explain-{uuid.uuid4().hex[:8]}"
    common = {
        "source_location": str(source),
        "BAKERY_CACHE_DIR": str(tmp_path / "shared"),
        "BAKERY_CACHE_SCOPES_DIR": str(tmp_path / "scopes"),
        "GITHUB_ACTOR": "dev",
        "GITHUB_REPOSITORY": "o/r",
    }
    trusted = {**common, "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main"}
    untrusted = {
        **common,
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_REF": "refs/pull/1/merge",
        "GITHUB_REF_NAME": ref,
    }
    runs = tmp_path / "runs"
    _bake("ingredients", {**trusted, "BAKERY_RUN_DIR": str(runs)})
    # The trusted export carries its inputs manifest beside the entry.
    (beside,) = (tmp_path / "shared" / ".versions").glob("*/*/bakery-inputs.json")
    exporter = json.loads(beside.read_text())["run"]

    _bake("ingredients", {**untrusted, "BAKERY_RUN_DIR": str(runs)})
    steps = _explain(runs, INGREDIENTS)["steps"]
    assert steps, "the untrusted run's fetch step ran"
    assert {(s["reason"], s["against"]) for s in steps} == {("scope", exporter)}
    assert steps[0]["text"].startswith(f"the trust scope differs: this run (untrusted, scope bakery-dev-o-r-{ref}")

    # A runner with no records of its own: it explains against the exporter's manifest.
    edited = _edit(source)
    _bake("ingredients", {**untrusted, "BAKERY_RUN_DIR": str(tmp_path / "fresh")})
    found = {(s["instance"], s["reason"], s["against"]) for s in _explain(tmp_path / "fresh")["steps"]}
    assert (SOURCE, "file", exporter) in found
    assert all(against == exporter for _, _, against in found)
    text = next(s["text"] for s in _explain(tmp_path / "fresh", "source")["steps"])
    assert text.startswith(f"a file changed: {edited} (sha256 ")
