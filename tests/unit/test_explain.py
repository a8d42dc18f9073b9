"""`invoke explain`'s reasons, on run records that real bakes wrote
(tests/unit/fixtures/explain/README.md says how each was made). Where a
reason needs another engine or a pruned builder, the test changes the one
field a second engine or a prune would change, in the test, where it shows."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from bakery import runs
from bakery.errors import UsageError
from bakery.explain import records, report
from bakery.explain.reasons import Explainer
from bakery.explain.records import Record

FIXTURES = Path(__file__).parent / "fixtures" / "explain"
SOURCE = "source--debian--testing-slim--x86_64-v1-linux-gnu"
SYSTEM = "system--debian--testing-slim--x86_64-v1-linux-gnu"
INGREDIENTS = "ingredients--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
COPY_STEP = f"[{SOURCE}.source 1/1] COPY --link --from=src . /usr/src/mxd"
EDIT_BEFORE, EDIT_AFTER = "20261206T195806-7035d2e0", "20261206T195807-2b687014"
TRUSTED, UNTRUSTED = "20261206T195850-ad771390", "20261206T195929-4a7a3590"
ENTRY = "mxd.ingredients--release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"


def explained(scenario: str, run: str | None = None) -> list[tuple[str, str, str]]:
    built = report.build(FIXTURES / scenario, run)
    return [(item.instance, item.reason.kind, item.reason.text) for item in built.steps]


def edited_pair() -> tuple[Record, Record]:
    return records.load(FIXTURES / "edit", EDIT_AFTER), records.load(FIXTURES / "edit", EDIT_BEFORE)


def unedited(current: Record, before: Record) -> Record:
    """The edited run as if its file had not changed: equal inputs, the step ran anyway."""
    data = copy.deepcopy(current.data)
    data["instances"][SOURCE]["files"] = before.instances[SOURCE]["files"]
    data["instances"][SOURCE]["inputs"] = before.instances[SOURCE]["inputs"]
    return Record(current.run, data)


def test_an_edited_file_is_named_with_both_digests() -> None:
    assert explained("edit") == [
        (
            SOURCE,
            "file",
            "a file changed: example/crates/mxd/src/main.rs (sha256 4dae5fc18f63… → fe1e6c50d0d5…)",
        )
    ]


def test_the_step_is_compared_with_the_last_run_that_had_it_cached() -> None:
    (item,) = report.build(FIXTURES / "edit").steps
    assert (item.step, item.state, item.reason.against) == (COPY_STEP, "ran", EDIT_BEFORE)


def test_a_changed_build_arg_is_named_with_both_values() -> None:
    assert explained("arg") == [(SOURCE, "arg", "a build arg changed: `project_name`: `mxd` → `demo`")]


def test_a_new_axis_value_is_compared_with_the_same_family_in_the_last_run() -> None:
    """No earlier run had the feat_set=none instances: the last run's one
    instance of the same family (feat_set=default) says what differs."""
    deps = "deps-base--release--distro--x86_64-unknown-linux-gnu--none--debian--testing-slim--x86_64-v1-linux-gnu"
    found = {(i, kind, text) for i, kind, text in explained("axis") if i == deps}
    assert found == {(deps, "arg", "a build arg changed: `feat_cargo_args`: `` → `--no-default-features`")}


def test_a_fresh_builder_without_a_shared_cache() -> None:
    assert explained("fresh") == [
        (
            SOURCE,
            "no-import",
            "no cache import on this runner: a fresh builder with no shared cache set "
            "(and no earlier run of source here)",
        )
    ]


def test_a_shared_cache_without_the_entry() -> None:
    entry = ENTRY.replace("ingredients", "source")
    assert explained("noentry") == [
        (SOURCE, "no-entry", f"the shared cache had no entry for this instance: {entry} in /tmp/fx/emptycache")
    ]


def test_an_untrusted_run_after_a_trusted_one_names_the_trust_scope() -> None:
    assert explained("scope") == [
        (
            INGREDIENTS,
            "scope",
            f"the trust scope differs: this run (untrusted, scope bakery-dev-o-r-feature, cache_scope "
            f"bakery-dev-o-r-feature) could not use the steps of run {TRUSTED} (trusted, shared keys): "
            "scoped keys remain in this stage",
        )
    ]


def test_a_fresh_run_directory_explains_against_the_run_that_exported_the_entry(tmp_path: Path) -> None:
    # The record names where the imported entry's manifest lay; here it lies in tmp_path.
    shutil.copytree(FIXTURES / "exporter", tmp_path / "runs")
    beside = tmp_path / "bakery-inputs.json"
    shutil.copy(FIXTURES / "beside" / "bakery-inputs.json", beside)
    inputs = next((tmp_path / "runs").glob("*/inputs.json"))
    data = json.loads(inputs.read_text())
    for row in data["vectors"][0]["imports"]:
        row["manifest"] = str(beside) if row["location"] == "/tmp/fx/shared" else ""
    inputs.write_text(json.dumps(data))
    built = report.build(tmp_path / "runs")
    file = "a file changed: example/crates/mxd/src/main.rs (sha256 4dae5fc18f63… → 5c834a2e5f71…)"
    assert sorted({(i.instance, i.reason.text, i.reason.against, i.reason.origin) for i in built.steps}) == [
        (
            INGREDIENTS,
            f"the parent {SOURCE} ran; the first cause, in {SOURCE}: {file}",
            TRUSTED,
            f"the cache entry {ENTRY}",
        ),
        (SOURCE, file, TRUSTED, f"the cache entry {ENTRY}"),
    ]


def test_a_step_that_did_not_run_is_never_explained_nor_blamed() -> None:
    built = report.build(FIXTURES / "edit")
    assert SYSTEM not in {i.instance for i in built.steps}
    assert all(SYSTEM not in i.reason.text for i in built.steps)


def test_equal_inputs_on_the_same_builder_mean_the_result_is_gone() -> None:
    current, before = edited_pair()
    (item,) = Explainer(unedited(current, before), [before]).explain()
    assert (item.reason.kind, item.reason.text) == (
        "pruned",
        "the inputs are unchanged but the result is gone: the builder `default` was pruned "
        f"(or its garbage collection removed the step) since run {EDIT_BEFORE}",
    )


def test_a_changed_engine_version_is_named() -> None:
    current, before = edited_pair()
    upgraded = unedited(current, before)
    upgraded.data["engine"] = "29.0.0"
    (item,) = Explainer(upgraded, [before]).explain()
    assert item.reason.text == "the engine, BuildKit or builder changed: engine `28.5.2+dfsg4` → `29.0.0`"


def test_another_engine_with_the_entry_imported_means_the_entry_lost_the_step() -> None:
    current, before = edited_pair()
    elsewhere = unedited(current, before)
    elsewhere.data["daemon"] = "runner-b"
    elsewhere.data["vectors"][0]["imports"] = [
        {"location": "/srv/cache", "kind": "local", "entry": "mxd.source", "found": True, "error": ""}
    ]
    (item,) = Explainer(elsewhere, [before]).explain()
    assert item.reason.kind == "evicted"
    assert item.reason.text.startswith("the inputs are unchanged but the result is gone: the cache entry mxd.source")


def test_another_engine_whose_import_failed_gives_the_error() -> None:
    current, before = edited_pair()
    elsewhere = unedited(current, before)
    elsewhere.data["daemon"] = "runner-b"
    refused = "failed to configure registry cache importer: dial tcp 127.0.0.1:5000: connect: connection refused"
    elsewhere.data["vectors"][0]["imports"] = [
        {
            "location": "127.0.0.1:5000/cache",
            "kind": "registry",
            "entry": "mxd.source",
            "found": False,
            "error": refused,
        }
    ]
    (item,) = Explainer(elsewhere, [before]).explain()
    assert item.reason.text == f"the import of mxd.source from 127.0.0.1:5000/cache failed: {refused}"


def test_a_registry_without_the_tag_is_a_missing_entry() -> None:
    # Runner B importing from the lab's registries, neither holding the entry (BuildKit's error, as recorded).
    (item, *_) = [i for i in report.build(FIXTURES / "registry").steps if i.reason.kind != "parent"]
    entry = ENTRY.replace("ingredients", "source")
    assert (item.reason.kind, item.reason.text) == (
        "no-entry",
        f"the shared cache had no entry for this instance: {entry} in 127.0.0.1:41267/bakery/cache "
        "(the registry answered: not found)",
    )


def test_another_engine_without_imports_is_a_fresh_builder() -> None:
    current, before = edited_pair()
    elsewhere = unedited(current, before)
    elsewhere.data["daemon"] = "runner-b"
    (item,) = Explainer(elsewhere, [before]).explain()
    assert item.reason.text == "no cache import on this runner: a fresh builder with no shared cache set"


def test_a_base_image_the_engine_resolved_anew_is_named() -> None:
    current, before = edited_pair()
    rebuilt = unedited(current, before)
    rebuilt.data["instances"][SOURCE]["bases"] = {"docker.io/library/debian:testing-slim": "sha256:" + "ab" * 32}
    before = Record(before.run, copy.deepcopy(before.data))
    before.data["instances"][SOURCE]["bases"] = {"docker.io/library/debian:testing-slim": "sha256:" + "cd" * 32}
    (item,) = Explainer(rebuilt, [before]).explain()
    assert item.reason.text == (
        "the base image changed: docker.io/library/debian:testing-slim (sha256 cdcdcdcdcdcd… → abababababab…)"
    )


def test_against_a_run_without_the_instance_is_unknown_with_the_differing_fields() -> None:
    current = records.load(FIXTURES / "scope", UNTRUSTED)
    other = records.load(FIXTURES / "edit", EDIT_BEFORE)
    (item,) = Explainer(current, [], against=other).explain()
    assert item.reason.kind == "unknown"
    assert item.reason.details == ("cache_scope", "scope", f"instances ({INGREDIENTS} in one record only)")


def test_against_a_given_run_compares_every_step_with_it() -> None:
    built = report.build(FIXTURES / "edit", EDIT_AFTER, EDIT_BEFORE)
    assert [(i.reason.kind, i.reason.against) for i in built.steps] == [("file", EDIT_BEFORE)]


def test_targets_narrow_the_steps_and_an_unknown_target_is_refused() -> None:
    assert report.build(FIXTURES / "edit", targets=["system"]).steps == ()
    assert len(report.build(FIXTURES / "edit", targets=["source"]).steps) == 1
    with pytest.raises(UsageError, match="baked no target install"):
        report.build(FIXTURES / "edit", targets=["install"])


def test_text_and_json() -> None:
    built = report.build(FIXTURES / "edit")
    assert report.text(built) == [
        f"run {EDIT_AFTER}, each step against the latest earlier run that had it:",
        f"{SOURCE}:",
        "  a file changed: example/crates/mxd/src/main.rs (sha256 4dae5fc18f63… → fe1e6c50d0d5…) "
        f"(against run {EDIT_BEFORE})",
        f"    ran   {COPY_STEP}",
    ]
    data = json.loads(report.as_json(built))
    assert data["steps"][0]["reason"] == "file"
    assert data["steps"][0]["against"] == EDIT_BEFORE


def test_the_job_summary_names_the_top_reasons() -> None:
    assert report.summary_lines(FIXTURES / "scope", UNTRUSTED) == [
        "",
        "Why steps ran (`invoke explain`), top reasons:",
        "",
        f"- 1 step: {INGREDIENTS}: the trust scope differs: this run (untrusted, scope bakery-dev-o-r-feature, "
        f"cache_scope bakery-dev-o-r-feature) could not use the steps of run {TRUSTED} (trusted, shared keys): "
        "scoped keys remain in this stage",
        "",
    ]
    assert report.summary_lines(FIXTURES / "scope", TRUSTED)[1] == "Why steps ran (`invoke explain`), top reasons:"


@pytest.mark.parametrize(
    ("scenario", "run", "message"),
    [
        ("edit", "20990101T000000-00000000", "no run record 20990101T000000-00000000 under"),
        ("edit", "latest", "'latest' is not a run id"),
        ("older", "20261206T194725-9d23ec62", "recorded without an inputs manifest of schema 1"),
    ],
)
def test_bad_runs_are_one_line(scenario: str, run: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        records.load(FIXTURES / scenario, run)


def test_a_run_without_a_step_stream_is_refused(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "edit" / EDIT_AFTER, tmp_path / EDIT_AFTER)
    (tmp_path / EDIT_AFTER / "progress.jsonl").unlink()
    with pytest.raises(UsageError, match=f"run {EDIT_AFTER} has no step stream"):
        records.load(tmp_path, EDIT_AFTER)


def test_an_older_record_is_skipped_as_history_never_read(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "edit" / EDIT_AFTER, tmp_path / EDIT_AFTER)
    shutil.copytree(FIXTURES / "edit" / EDIT_BEFORE, tmp_path / EDIT_BEFORE)
    older = json.loads((tmp_path / EDIT_BEFORE / "inputs.json").read_text())
    (tmp_path / EDIT_BEFORE / "inputs.json").write_text(json.dumps({**older, "schema": 0}))
    assert records.earlier(tmp_path, EDIT_AFTER) == []
    assert [i.reason.kind for i in report.build(tmp_path).steps] == ["no-import"]


def test_no_records_at_all() -> None:
    with pytest.raises(UsageError, match="no run records under"):
        records.last(FIXTURES / "missing")


def test_the_sweep_keeps_the_newest_records_and_nothing_else_is_touched(tmp_path: Path) -> None:
    ids = [f"2026120{d}T000000-0000000{d}" for d in range(1, 6)]
    for name in [*ids, "plan", "builders"]:
        (tmp_path / name).mkdir()
    current = tmp_path / ids[0]  # the running one is kept whatever its id
    removed = runs.sweep(tmp_path, 3, keep_path=current)
    assert [p.name for p in removed] == ids[1:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([ids[0], *ids[3:], "plan", "builders"])
    assert runs.sweep(tmp_path, 0) == []


def test_a_prune_on_runner_b_after_a_cold_run_means_the_result_is_gone() -> None:
    # Runner B (lab/runners.py): a cold bake, the build cache pruned, the same bake again.
    before, after = "20261206T201907-2f70c57f", "20261206T201910-6bd6dfcf"
    system = "system--debian--testing-slim--x86_64-v1-linux-gnu"
    gone = (
        "the inputs are unchanged but the result is gone: the builder `default` was pruned "
        f"(or its garbage collection removed the step) since run {before}"
    )
    assert sorted(set(explained("pruned", after))) == [
        (SOURCE, "parent", f"the parent {system} ran; the first cause, in {system}: {gone}"),
        (system, "pruned", gone),
    ]
    assert {(i.reason.kind, i.reason.against) for i in report.build(FIXTURES / "pruned", before).steps} == {
        ("no-import", ""),
        ("parent", ""),
    }
