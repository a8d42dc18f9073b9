"""How one `invoke bake` becomes several invocations of one generated
Dockerfile (bakery/baking/one_solve.py): the entry key, the order of the
invocations, their bake targets under the trust rules, and one summary."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bakery.baking import flatten, one_solve, progress
from bakery.cache import policy as cache
from bakery.config import settings
from bakery.config.matrix import Vector
from bakery.errors import UsageError
from tests.conftest import DEFAULT_VECTOR

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "flat"
RUN = "20260101T000000-run"


def _flat(names: list[str]) -> tuple[flatten.Flat, dict]:
    definition = json.loads((FIXTURE / "print.json").read_text())
    return flatten.flatten(definition, names, lambda c, d: (FIXTURE / c / d).read_text()), definition


def test_the_entry_key_is_the_job_targets_and_vector() -> None:
    vector = Vector(tuple(DEFAULT_VECTOR.items()))
    assert one_solve.entry_key(["install"], vector) == (
        "install--release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
    )
    dotted = Vector((("sys_name", "ubuntu"), ("sys_version", "24.04")))
    assert one_solve.entry_key(["check", "clippy"], dotted) == "check_clippy--ubuntu--24_04"


def test_the_aggregate_runs_first_and_exports_then_each_output_imports() -> None:
    flat, definition = _flat(["all"])
    steps = one_solve.invocations(flat, definition)
    assert [(s.name, s.stage, s.exports) for s in steps] == [
        ("bakery-all", "bakery-all", True),
        ("leaf-files", "leaf-files", False),
    ]


def test_one_requested_target_is_one_invocation_with_its_output() -> None:
    flat, definition = _flat(["leaf-files"])
    (step,) = one_solve.invocations(flat, definition)
    assert (step.name, step.exports) == ("leaf-files", True)
    body = step.target(flat, Path("/runs/r/0.Dockerfile"), cache.CachePlan(False, "", "local", run_id=RUN), "k")
    assert body == {
        "target": {
            "leaf-files": {
                "context": ".",
                "dockerfile": "/runs/r/0.Dockerfile",
                "target": "leaf-files",
                "contexts": {"notes": "notes"},
                "platforms": [],
                "output": [{"type": "docker"}],
                "tags": ["leaf-files:latest"],
            }
        }
    }


def test_trusted_imports_and_exports_the_shared_entry(tmp_path: Path) -> None:
    plan = cache.cache_plan(event="push", ref="refs/heads/main", shared="127.0.0.1:5000/c", run_id=RUN)
    flat, definition = _flat(["all"])
    aggregate, output = one_solve.invocations(flat, definition)
    dockerfile = tmp_path / "0.Dockerfile"
    first = aggregate.target(flat, dockerfile, plan, "all--v")["target"]["bakery-all"]
    assert first["cache-from"] == ["type=registry,ref=127.0.0.1:5000/c:all--v"]
    assert first["cache-to"] == ["type=registry,ref=127.0.0.1:5000/c:all--v,mode=max"]
    assert first["output"] == ["type=cacheonly"]
    then = output.target(flat, dockerfile, plan, "all--v")["target"]["leaf-files"]
    assert then["cache-from"] == ["type=registry,ref=127.0.0.1:5000/c:all--v"]
    assert "cache-to" not in then


def test_untrusted_imports_shared_then_its_scope_and_exports_only_its_scope(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "all--v").mkdir(parents=True)
    (shared / "all--v" / "index.json").write_text("{}")
    plan = cache.cache_plan(
        event="pull_request", ref="refs/pull/7/merge", shared=str(shared), scopes_dir=tmp_path / "scopes", run_id=RUN
    )
    flat, definition = _flat(["all"])
    aggregate = one_solve.invocations(flat, definition)[0]
    body = aggregate.target(flat, tmp_path / "0.Dockerfile", plan, "all--v")["target"]["bakery-all"]
    assert body["cache-from"] == [f"type=local,src={shared}/all--v"]
    assert body["cache-to"] == [f"type=local,dest={tmp_path}/scopes/local/.versions/all--v/{RUN},mode=max"]


def test_the_entry_carries_the_project_name_as_prepare_and_publish_do(tmp_path: Path) -> None:
    plan = cache.cache_plan(
        event="push", ref="refs/heads/main", shared=str(tmp_path / "c"), run_id=RUN, project="hitcount"
    )
    flat, definition = _flat(["all"])
    aggregate = one_solve.invocations(flat, definition)[0]
    body = aggregate.target(flat, tmp_path / "0.Dockerfile", plan, "all--v")["target"]["bakery-all"]
    assert body["cache-to"] == [f"type=local,dest={tmp_path}/c/.versions/hitcount.all--v/{RUN},mode=max"]


def test_an_output_invocation_asks_for_what_any_stage_of_the_file_declares(tmp_path: Path) -> None:
    flat, definition = _flat(["all"])
    flat = dataclasses.replace(flat, entitlements=("network.host",))
    output = one_solve.invocations(flat, definition)[1]
    body = output.target(flat, tmp_path / "0.Dockerfile", cache.CachePlan(False, "", "local", run_id=RUN), "k")
    assert body["target"]["leaf-files"]["entitlements"] == ["network.host"]


def _status(digest: str, name: str, cached: bool) -> str:
    vertex = {"digest": digest, "name": name, "started": "2026-01-01T00:00:00Z", "completed": "2026-01-01T00:00:01Z"}
    if cached:
        vertex["cached"] = True
    return json.dumps({"vertexes": [vertex]})


def test_the_summary_counts_each_step_once_over_the_invocations() -> None:
    first = progress.parse(
        [
            _status("sha256:a", "[root 2/2] RUN echo root > /root.txt", True),
            _status("sha256:b", "[branch.words 2/2] RUN --mount=type=bind,from=notes,target=/notes <<EOF", False),
            _status("sha256:c", "[leaf-run 1/1] RUN cat /words.txt", False),
        ]
    )
    # The output invocation finds the same steps CACHED, under other digests
    # (its own local-context session): they still ran once.
    second = progress.parse(
        [
            _status("sha256:a2", "[root 2/2] RUN echo root > /root.txt", True),
            _status("sha256:b2", "[branch.words 2/2] RUN --mount=type=bind,from=notes,target=/notes <<EOF", True),
            _status("sha256:d", "[leaf-files 1/1] COPY --from=branch /words.txt /", False),
        ]
    )
    summary = one_solve.Summary()
    owners = {"root": "root", "branch": "branch", "leaf-run": "leaf-run", "leaf-files": "leaf-files"}
    summary.add(first, owners)
    summary.add(second, owners)
    # The aggregate's step joins the leaves and is nobody's work: not counted.
    summary.add(
        progress.parse([_status("sha256:e", "[bakery-all 2/2] RUN --mount=type=bind,from=leaf-run true", False)]),
        owners,
    )
    assert summary.lines() == [
        "   0 cached    1 ran  branch",
        "   0 cached    1 ran  leaf-files",
        "   0 cached    1 ran  leaf-run",
        "   1 cached    0 ran  root",
        "   1 cached    3 ran  total (0 failed)",
    ]


def _settings(**environ: str) -> settings.Settings:
    return settings.load(None, {"BAKERY_DOTENV": "/nonexistent/bakery-test.env", **environ})


def test_one_solve_is_chosen_when_a_shared_cache_is_set_unless_told_otherwise() -> None:
    none = cache.CachePlan(False, "", "local", run_id=RUN)
    shared = cache.cache_plan(event="push", ref="refs/heads/main", shared="127.0.0.1:5000/c", run_id=RUN)
    assert one_solve.wanted(_settings(), shared) is True
    assert one_solve.wanted(_settings(), none) is False
    assert one_solve.wanted(_settings(BAKERY_ONE_SOLVE="never"), shared) is False
    assert one_solve.wanted(_settings(BAKERY_ONE_SOLVE="always"), none) is True


def test_a_bad_one_solve_value_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as info:
        _settings(BAKERY_ONE_SOLVE="sometimes")
    assert info.value.exit_code == 2
    assert "BAKERY_ONE_SOLVE" in str(info.value) and "always" in str(info.value)
