"""How one `invoke bake` becomes several invocations of one generated
Dockerfile (bakery/baking/schedule.py): the entry key, the order of the
invocations, their bake targets under the trust rules, and one summary."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from bakery.baking import flatten, progress, schedule
from bakery.cache import policy as cache
from bakery.config import settings
from bakery.config.matrix import Vector
from tests.conftest import DEFAULT_VECTOR

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "flat"
RUN = "20260101T000000-run"


def _flat(names: list[str]) -> tuple[flatten.Flat, dict]:
    definition = json.loads((FIXTURE / "print.json").read_text())
    return flatten.flatten(definition, names, lambda c, d: (FIXTURE / c / d).read_text()), definition


def test_the_entry_key_is_the_job_targets_and_vector() -> None:
    vector = Vector(tuple(DEFAULT_VECTOR.items()))
    assert schedule.entry_key(["install"], vector) == (
        "install--release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
    )
    dotted = Vector((("sys_name", "ubuntu"), ("sys_version", "24.04")))
    assert schedule.entry_key(["check", "clippy"], dotted) == "check_clippy--ubuntu--24_04"


def test_the_aggregate_runs_first_and_exports_then_each_output_imports() -> None:
    flat, definition = _flat(["all"])
    steps = schedule.invocations(flat, definition, ["all"])
    assert [(s.name, s.stage, s.exports) for s in steps] == [
        ("bakery-all", "bakery-all", True),
        ("leaf-files", "leaf-files.leaf-files", False),
        # Another frontend (the labs one): the documented route, last.
        ("leaf-labs", None, False),
    ]


def test_one_requested_target_is_one_invocation_with_its_output() -> None:
    flat, definition = _flat(["leaf-files"])
    (step,) = schedule.invocations(flat, definition, [])
    assert (step.name, step.exports) == ("leaf-files", True)
    body = step.target(
        flat, Path("/runs/r/0.Dockerfile"), cache.CachePlan(False, "", "local", run_id=RUN), "k", export=True
    )
    assert body == {
        "target": {
            "leaf-files": {
                "context": ".",
                "dockerfile": "/runs/r/0.Dockerfile",
                "target": "leaf-files.leaf-files",
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
    aggregate, output, _ = schedule.invocations(flat, definition, [])
    dockerfile = tmp_path / "0.Dockerfile"
    first = aggregate.target(flat, dockerfile, plan, "all--v", export=True)["target"]["bakery-all"]
    assert first["cache-from"] == ["type=registry,ref=127.0.0.1:5000/c:all--v"]
    assert first["cache-to"] == ["type=registry,ref=127.0.0.1:5000/c:all--v,mode=max"]
    assert first["output"] == ["type=cacheonly"]
    then = output.target(flat, dockerfile, plan, "all--v", export=False)["target"]["leaf-files"]
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
    aggregate = schedule.invocations(flat, definition, [])[0]
    body = aggregate.target(flat, tmp_path / "0.Dockerfile", plan, "all--v", export=True)["target"]["bakery-all"]
    assert body["cache-from"] == [f"type=local,src={shared}/all--v"]
    assert body["cache-to"] == [f"type=local,dest={tmp_path}/scopes/local/.versions/all--v/{RUN},mode=max"]


def test_the_entry_carries_the_project_name_as_prepare_and_publish_do(tmp_path: Path) -> None:
    plan = cache.cache_plan(
        event="push", ref="refs/heads/main", shared=str(tmp_path / "c"), run_id=RUN, project="hitcount"
    )
    flat, definition = _flat(["all"])
    aggregate = schedule.invocations(flat, definition, [])[0]
    body = aggregate.target(flat, tmp_path / "0.Dockerfile", plan, "all--v", export=True)["target"]["bakery-all"]
    assert body["cache-to"] == [f"type=local,dest={tmp_path}/c/.versions/hitcount.all--v/{RUN},mode=max"]


def test_an_output_invocation_asks_for_what_any_stage_of_the_file_declares(tmp_path: Path) -> None:
    flat, definition = _flat(["all"])
    flat = dataclasses.replace(flat, entitlements=("network.host",))
    output = schedule.invocations(flat, definition, [])[1]
    body = output.target(
        flat, tmp_path / "0.Dockerfile", cache.CachePlan(False, "", "local", run_id=RUN), "k", export=True
    )
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
    summary = progress.Tally()
    owners = {"root": "root", "branch": "branch", "leaf-run": "leaf-run", "leaf-files": "leaf-files"}
    summary.add(first, owners, flatten.AGGREGATE)
    summary.add(second, owners, flatten.AGGREGATE)
    # The aggregate's step joins the leaves and is nobody's work: not counted.
    summary.add(
        progress.parse([_status("sha256:e", "[bakery-all 2/2] RUN --mount=type=bind,from=leaf-run true", False)]),
        owners,
        flatten.AGGREGATE,
    )
    assert summary.lines() == [
        "   0 cached    1 ran  branch",
        "   0 cached    1 ran  leaf-files",
        "   0 cached    1 ran  leaf-run",
        "   1 cached    0 ran  root",
        "   1 cached    3 ran  total (0 failed)",
    ]


def test_without_a_generated_file_the_selection_is_one_linked_invocation() -> None:
    (step,) = schedule.invocations(None, {"target": {}}, ["smoketest-perf", "install"])
    assert (step.targets, step.stage, step.linked, step.exports) == (("smoketest-perf", "install"), None, True, False)


def test_instances_left_out_of_the_file_come_last_as_linked_targets() -> None:
    flat, definition = _flat(["all"])
    flat = dataclasses.replace(flat, left_out=("perf",))
    steps = schedule.invocations(flat, definition, ["all"])
    assert [(s.targets, s.linked) for s in steps] == [
        (("bakery-all",), False),
        (("leaf-files",), False),
        (("perf",), True),
    ]


def _settings(**environ: str) -> settings.Settings:
    return settings.load(None, {"BAKERY_DOTENV": "/nonexistent/bakery-test.env", **environ})
