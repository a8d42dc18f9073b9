"""The cache trust rules (docs/cache.md): every event and ref combination mapped to
its exact cache flags, plus scope naming, locations and local publishing."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from bakery.cache import policy as cache
from bakery.cache import store as cache_store
from bakery.config.settings import load
from bakery.engine.builder import sanitize
from bakery.errors import UsageError

ACTOR, REPO, RUN = "alice", "o/r", "20260101T000000-run"
# The literal trust table. import/export: "S" is the shared cache, "own" the
# run's own scope directory D/<scope>; "-" is nothing.
TABLE = [
    # event                  ref                      import     export
    ("push",                 "refs/heads/main",       "S",       "S"),
    ("push",                 "refs/tags/v1.0.0",      "S",       "S"),
    ("push",                 "refs/heads/feature/x",  "S+own",   "own"),
    ("push",                 "refs/pull/7/merge",     "S+own",   "own"),
    ("push",                 "",                      "S+own",   "own"),
    ("schedule",             "refs/heads/main",       "S",       "S"),
    ("schedule",             "refs/tags/v1.0.0",      "S",       "S"),
    ("schedule",             "refs/heads/feature/x",  "S+own",   "own"),
    ("schedule",             "refs/pull/7/merge",     "S+own",   "own"),
    ("schedule",             "",                      "S+own",   "own"),
    ("workflow_dispatch",    "refs/heads/main",       "S",       "S"),
    ("workflow_dispatch",    "refs/tags/v1.0.0",      "S",       "S"),
    ("workflow_dispatch",    "refs/heads/feature/x",  "S+own",   "own"),
    ("workflow_dispatch",    "refs/pull/7/merge",     "S+own",   "own"),
    ("workflow_dispatch",    "",                      "S+own",   "own"),
    ("release",              "refs/heads/main",       "S",       "S"),
    ("release",              "refs/tags/v1.0.0",      "S",       "S"),
    ("release",              "refs/heads/feature/x",  "S+own",   "own"),
    ("release",              "refs/pull/7/merge",     "S+own",   "own"),
    ("release",              "",                      "S+own",   "own"),
    ("pull_request",         "refs/heads/main",       "S+own",   "own"),
    ("pull_request",         "refs/tags/v1.0.0",      "S+own",   "own"),
    ("pull_request",         "refs/heads/feature/x",  "S+own",   "own"),
    ("pull_request",         "refs/pull/7/merge",     "S+own",   "own"),
    ("pull_request",         "",                      "S+own",   "own"),
    ("pull_request_target",  "refs/heads/main",       "S+own",   "own"),
    ("pull_request_target",  "refs/tags/v1.0.0",      "S+own",   "own"),
    ("pull_request_target",  "refs/heads/feature/x",  "S+own",   "own"),
    ("pull_request_target",  "refs/pull/7/merge",     "S+own",   "own"),
    ("pull_request_target",  "",                      "S+own",   "own"),
    ("merge_group",          "refs/heads/main",       "S+own",   "own"),
    ("merge_group",          "refs/tags/v1.0.0",      "S+own",   "own"),
    ("merge_group",          "refs/heads/feature/x",  "S+own",   "own"),
    ("merge_group",          "refs/pull/7/merge",     "S+own",   "own"),
    ("merge_group",          "",                      "S+own",   "own"),
    ("workflow_run",         "refs/heads/main",       "S+own",   "own"),
    ("workflow_run",         "refs/tags/v1.0.0",      "S+own",   "own"),
    ("workflow_run",         "refs/heads/feature/x",  "S+own",   "own"),
    ("workflow_run",         "refs/pull/7/merge",     "S+own",   "own"),
    ("workflow_run",         "",                      "S+own",   "own"),
    ("issue_comment",        "refs/heads/main",       "S+own",   "own"),
    ("issue_comment",        "refs/tags/v1.0.0",      "S+own",   "own"),
    ("issue_comment",        "refs/heads/feature/x",  "S+own",   "own"),
    ("issue_comment",        "refs/pull/7/merge",     "S+own",   "own"),
    ("issue_comment",        "",                      "S+own",   "own"),
    ("",                     "refs/heads/main",       "S+own",   "own"),
    ("",                     "refs/tags/v1.0.0",      "S+own",   "own"),
    ("",                     "refs/heads/feature/x",  "S+own",   "own"),
    ("",                     "refs/pull/7/merge",     "S+own",   "own"),
    ("",                     "",                      "S+own",   "own"),
]  # fmt: skip
EVENTS = ["push", "schedule", "workflow_dispatch", "release", "pull_request", "pull_request_target",
          "merge_group", "workflow_run", "issue_comment", ""]  # fmt: skip
REFS = ["refs/heads/main", "refs/tags/v1.0.0", "refs/heads/feature/x", "refs/pull/7/merge", ""]


def ref_name(ref: str) -> str:
    return ref.removeprefix("refs/heads/").removeprefix("refs/tags/").removeprefix("refs/")


def entry(root: Path, instance: str) -> Path:
    """A published local cache entry (an index.json is what makes it importable)."""
    (root / instance).mkdir(parents=True, exist_ok=True)
    (root / instance / "index.json").write_text("{}")
    return root / instance


def test_the_table_covers_every_event_and_ref_once() -> None:
    assert sorted((e, r) for e, r, _, _ in TABLE) == sorted((e, r) for e in EVENTS for r in REFS)


@pytest.mark.parametrize(("event", "ref", "imports", "export"), TABLE)
def test_trust_table_gives_the_exact_cache_flags(tmp_path: Path, event: str, ref: str, imports: str, export: str):
    shared, scopes = tmp_path / "shared", tmp_path / "scopes"
    trusted = export == "S"
    scope = "trusted" if trusted else sanitize(ACTOR, REPO, ref_name(ref))
    own = scopes / scope
    entry(shared, "leaf")
    entry(own, "leaf")
    plan = cache.cache_plan(
        event=event, ref=ref, shared=str(shared), scopes_dir=scopes, actor=ACTOR, repository=REPO,
        ref_name=ref_name(ref), default_branch="main", run_id=RUN,
    )  # fmt: skip
    roots = {"S": [shared], "S+own": [shared, own]}[imports]
    dest = shared if export == "S" else own
    assert plan.trusted is trusted
    assert plan.scope == scope
    assert plan.set_values(["leaf"]) == [
        *(f"leaf.cache-from=type=local,src={root}/leaf" for root in roots),
        f"leaf.cache-to=type=local,dest={dest}/.versions/leaf/{RUN},mode=max",
    ]
    # Untrusted runs never name the shared directory as a destination.
    if not trusted:
        assert all(str(shared) not in v for v in plan.set_values(["leaf"]) if ".cache-to=" in v)


def test_trust_rule_reasons_name_the_deciding_fact() -> None:
    assert cache.trust("push", "refs/heads/main") == (True, "push on the default branch main")
    assert cache.trust("push", "refs/tags/v2") == (True, "push of tag v2")
    assert cache.trust("push", "refs/heads/dev")[0] is False
    assert "pull_request_target" in cache.trust("pull_request_target", "refs/heads/main")[1]
    assert "local runs" in cache.trust("", "refs/heads/main")[1]


def test_the_default_branch_is_a_parameter() -> None:
    assert cache.trust("push", "refs/heads/master", default_branch="master")[0] is True
    assert cache.trust("push", "refs/heads/main", default_branch="master")[0] is False
    # An empty default branch trusts no branch, only tags.
    assert cache.trust("push", "refs/heads/", default_branch="")[0] is False
    assert cache.trust("push", "refs/tags/")[0] is False  # no tag name
    assert cache.trust("push", "refs/heads/main/evil")[0] is False


def test_without_a_shared_cache_there_are_no_flags_only_a_scope(tmp_path: Path) -> None:
    for event, ref in (("push", "refs/heads/main"), ("pull_request", "refs/pull/7/merge")):
        plan = cache.cache_plan(event=event, ref=ref, scopes_dir=tmp_path, actor=ACTOR, repository=REPO)
        assert plan.set_values(["leaf"]) == []
        assert plan.imports == () and plan.export is None
    assert cache.cache_plan(event="pull_request", ref="r", actor="a").scope == "bakery-a"
    assert cache.cache_plan(event="", ref="").scope == "local"  # bake.hcl's cache_scope default


def test_missing_local_entries_are_not_imported(tmp_path: Path) -> None:
    plan = cache.cache_plan(event="push", ref="refs/heads/main", shared=str(tmp_path / "s"), run_id=RUN)
    assert plan.set_values(["a"]) == [f"a.cache-to=type=local,dest={tmp_path}/s/.versions/a/{RUN},mode=max"]


def test_registry_location_gets_one_tag_per_instance(tmp_path: Path) -> None:
    trusted = cache.cache_plan(event="push", ref="refs/tags/v1", shared="ghcr.io/o/cache", run_id=RUN)
    assert trusted.set_values(["b", "a"]) == [
        "a.cache-from=type=registry,ref=ghcr.io/o/cache:a",
        "a.cache-to=type=registry,ref=ghcr.io/o/cache:a,mode=max",
        "b.cache-from=type=registry,ref=ghcr.io/o/cache:b",
        "b.cache-to=type=registry,ref=ghcr.io/o/cache:b,mode=max",
    ]
    untrusted = cache.cache_plan(
        event="pull_request", ref="refs/pull/1/merge", shared="ghcr.io/o/cache", scopes_dir=tmp_path,
        actor="Mallory", repository="o/r", ref_name="1/merge", run_id=RUN,
    )  # fmt: skip
    assert untrusted.set_values(["a"]) == [
        "a.cache-from=type=registry,ref=ghcr.io/o/cache:a",
        f"a.cache-to=type=local,dest={tmp_path}/bakery-mallory-o-r-1-merge/.versions/a/{RUN},mode=max",
    ]
    long = "x" * 200
    tag = cache.registry_tag(long)
    assert len(tag) == 128 and tag != cache.registry_tag("x" * 199) and cache.registry_tag("short") == "short"


@pytest.mark.parametrize(
    "value", ["relative/dir", "user/repo", "ghcr.io/o/cache:tag", "GHCR.io/Upper", "", "http://x/y", "ghcr.io"]
)
def test_bad_locations_are_usage_errors(value: str) -> None:
    with pytest.raises(UsageError, match="BAKERY_CACHE_DIR"):
        cache.Location.parse(value)


def test_scope_directory_may_not_overlap_the_shared_cache(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="overlap"):
        cache.cache_plan(event="pull_request", ref="r", shared=str(tmp_path), scopes_dir=tmp_path / "scopes")
    with pytest.raises(UsageError, match="absolute"):
        cache.cache_plan(event="pull_request", ref="r", shared=str(tmp_path), scopes_dir="rel")


def test_scope_names_are_sanitised_and_bounded() -> None:
    assert cache.scope_name(False, "Alice", "Org/Repo", "feature/Ünïcode x") == "bakery-alice-org-repo-feature-n-code-x"
    long = cache.scope_name(False, "a" * 40, "b" * 40, "c" * 40)
    assert len(long) == 63 and long.startswith("bakery-")
    assert long != cache.scope_name(False, "a" * 40, "b" * 40, "c" * 41)  # the hash keeps them apart
    assert cache.scope_name(True, "Alice", "Org/Repo", "main") == "trusted"


def test_instance_names_are_checked(tmp_path: Path) -> None:
    plan = cache.cache_plan(event="push", ref="refs/heads/main", shared=str(tmp_path))
    with pytest.raises(UsageError):
        plan.set_values(["a,b=c"])


def test_from_settings_reads_the_github_variables(tmp_path: Path) -> None:
    settings = load(
        environ={
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_REF": "refs/pull/9/merge",
            "GITHUB_REF_NAME": "9/merge",
            "GITHUB_ACTOR": "bob",
            "GITHUB_REPOSITORY": "o/r",
        }
    )
    plan = cache.from_settings(settings, shared=str(tmp_path / "s"), scopes_dir=str(tmp_path / "d"))
    assert (plan.trusted, plan.scope) == (False, "bakery-bob-o-r-9-merge")
    assert plan.export == cache.Location("local", str(tmp_path / "d" / "bakery-bob-o-r-9-merge"))
    trusted = cache.from_settings(
        load(environ={"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/trunk"}),
        shared=str(tmp_path / "s"),
        default_branch="trunk",
    )
    assert trusted.trusted and trusted.export == cache.Location("local", str(tmp_path / "s"))


def test_export_problem_on_the_docker_driver_without_containerd(tmp_path: Path) -> None:
    plan = cache.cache_plan(event="push", ref="refs/heads/main", shared=str(tmp_path))
    assert "containerd-snapshotter" in (cache.export_problem(plan, "docker", False) or "")
    assert cache.export_problem(plan, "docker", True) is None
    assert cache.export_problem(plan, "docker-container", False) is None


def fake_export(root: Path, instance: str, run_id: str, blobs: dict[str, bytes]) -> Path:
    version = root / ".versions" / instance / run_id
    (version / "blobs" / "sha256").mkdir(parents=True)
    for name, data in blobs.items():
        (version / "blobs" / "sha256" / name).write_bytes(data)
    (version / "index.json").write_text(run_id)
    return version


def test_publish_swaps_symlinks_and_dedupes_blobs(tmp_path: Path) -> None:
    root = tmp_path / "shared"
    first = cache.cache_plan(event="push", ref="refs/heads/main", shared=str(root), run_id="r1")
    fake_export(root, "a", "r1", {"x": b"layer-x", "y": b"layer-y"})
    fake_export(root, "b", "r1", {"x": b"layer-x"})
    assert first.publish(["a", "b", "c"]) == [f"cache a: published to {root}/a", f"cache b: published to {root}/b"]
    assert os.readlink(root / "a") == ".versions/a/r1" and (root / "a" / "index.json").read_text() == "r1"
    a_x, b_x = (root / n / "blobs" / "sha256" / "x" for n in ("a", "b"))
    assert os.path.samefile(a_x, b_x) and os.path.samefile(a_x, root / ".blobs" / "sha256" / "x")
    second = cache.cache_plan(event="push", ref="refs/heads/main", shared=str(root), run_id="r2")
    fake_export(root, "a", "r2", {"x": b"layer-x"})
    second.publish(["a"])
    assert os.readlink(root / "a") == ".versions/a/r2"
    assert (root / ".versions" / "a" / "r1").is_dir()  # superseded, still there for readers
    # Untrusted plans publish into their own scope, never into the shared root.
    untrusted = cache.cache_plan(
        event="pull_request", ref="refs/pull/1/merge", shared=str(root), scopes_dir=tmp_path / "d", actor="m",
        run_id="r3",
    )  # fmt: skip
    fake_export(tmp_path / "d" / "bakery-m", "a", "r3", {"x": b"poison"})
    untrusted.publish(["a"])
    assert os.readlink(root / "a") == ".versions/a/r2"
    assert (root / ".blobs" / "sha256" / "x").read_bytes() == b"layer-x"
    assert os.readlink(tmp_path / "d" / "bakery-m" / "a") == ".versions/a/r3"


def test_publish_refuses_to_replace_a_real_directory(tmp_path: Path) -> None:
    plan = cache.cache_plan(event="push", ref="refs/heads/main", shared=str(tmp_path), run_id="r1")
    fake_export(tmp_path, "a", "r1", {})
    entry(tmp_path, "a")
    with pytest.raises(UsageError, match="not a bakery cache entry"):
        plan.publish(["a"])


def test_old_versions_are_pruned_only_when_old_and_beyond_the_newest(tmp_path: Path) -> None:
    versions = tmp_path / "v"
    for i in range(7):
        (versions / f"r{i}").mkdir(parents=True)
    old = time.time() - 2 * cache_store.MIN_VERSION_AGE
    for name in ("r0", "r1", "r2"):
        os.utime(versions / name, (old, old))
    cache_store.prune_versions(versions, current="r6")
    # r6 is current, r5..r3 are the newest three, r2..r0 are older: old ones go.
    assert sorted(p.name for p in versions.iterdir()) == ["r3", "r4", "r5", "r6"]
    young = tmp_path / "w"
    for i in range(6):
        (young / f"r{i}").mkdir(parents=True)
    cache_store.prune_versions(young, current="r5")
    assert len(list(young.iterdir())) == 6  # too young to remove


@pytest.mark.parametrize(
    "value",
    [
        "ghcr.io/o/cache",
        "docker.io/user/repo",
        "localhost/cache",
        "registry.local:5000/a/b",
        "localhost:5000/c",
        "myreg:5000/x",
    ],
)
def test_registry_locations(value: str) -> None:
    assert cache.Location.parse(value) == cache.Location("registry", value)
    assert cache.Location.parse("/srv//cache/") == cache.Location("local", "/srv/cache")


def test_entitlements_grant_write_only_on_the_export_root(tmp_path: Path) -> None:
    shared, scopes = tmp_path / "s", tmp_path / "d"
    trusted = cache.cache_plan(event="push", ref="refs/heads/main", shared=str(shared), scopes_dir=scopes)
    assert trusted.entitlements() == [f"fs.read={shared}", f"fs.write={shared}"]
    untrusted = cache.cache_plan(
        event="pull_request", ref="refs/pull/1/merge", shared=str(shared), scopes_dir=scopes, actor="m"
    )
    assert untrusted.entitlements() == [
        f"fs.read={scopes}/bakery-m",
        f"fs.read={shared}",
        f"fs.write={scopes}/bakery-m",
    ]
    registry = cache.cache_plan(event="push", ref="refs/heads/main", shared="ghcr.io/o/c")
    assert registry.entitlements() == []


# Registry scopes: untrusted runs export to their own repository,
# never the shared one or under it.
SHARED_REF = "127.0.0.1:5001/bakery/cache"


def test_untrusted_registry_run_exports_to_its_scope_repository():
    plan = cache.cache_plan(
        event="pull_request",
        ref="refs/pull/9/merge",
        shared=SHARED_REF,
        scopes_ref="127.0.0.1:5002/bakery/scopes",
        actor="Bob",
        repository="o/r",
        ref_name="9/merge",
        run_id="R",
    )
    assert plan.set_values(["leaf"]) == [
        "leaf.cache-from=type=registry,ref=127.0.0.1:5001/bakery/cache:leaf",
        "leaf.cache-from=type=registry,ref=127.0.0.1:5002/bakery/scopes/bakery-bob-o-r-9-merge:leaf",
        "leaf.cache-to=type=registry,ref=127.0.0.1:5002/bakery/scopes/bakery-bob-o-r-9-merge:leaf,mode=max",
    ]
    assert plan.entitlements() == []


def test_trusted_registry_run_ignores_the_scopes_repository():
    plan = cache.cache_plan(
        event="push", ref="refs/heads/main", shared=SHARED_REF, scopes_ref="127.0.0.1:5002/s", run_id="R"
    )
    assert plan.set_values(["leaf"]) == [
        "leaf.cache-from=type=registry,ref=127.0.0.1:5001/bakery/cache:leaf",
        "leaf.cache-to=type=registry,ref=127.0.0.1:5001/bakery/cache:leaf,mode=max",
    ]


@pytest.mark.parametrize(
    "scopes_ref, problem",
    [
        (SHARED_REF, "equals or sits under the shared cache"),
        (SHARED_REF + "/prs", "equals or sits under the shared cache"),
        ("127.0.0.1:5001/bakery", "equals or sits under the shared cache"),  # contains the shared one
        ("/srv/scopes", "must be a registry repository"),
        ("scopes", "neither an absolute directory nor a registry repository"),
    ],
)
def test_scopes_ref_refused_when_it_overlaps_the_shared_repository(scopes_ref: str, problem: str):
    with pytest.raises(UsageError, match=problem) as error:
        cache.cache_plan(event="pull_request", ref="refs/pull/1/merge", shared=SHARED_REF, scopes_ref=scopes_ref)
    assert error.value.exit_code == 2 and "\n" not in str(error.value)


def test_scopes_ref_beside_the_shared_repository_is_accepted():
    plan = cache.cache_plan(
        event="pull_request", ref="refs/pull/1/merge", shared=SHARED_REF, scopes_ref="127.0.0.1:5001/bakery/cache-prs"
    )
    assert plan.export == cache.Location("registry", "127.0.0.1:5001/bakery/cache-prs/local")


def test_a_new_version_starts_with_links_to_the_current_blobs(tmp_path: Path):
    """Before seeding, a fully cached trusted run re-wrote every blob (374 MB in
    64 s); seeded versions let BuildKit skip the blobs it already exported."""
    old = tmp_path / ".versions" / "leaf" / "r1"
    (old / "blobs" / "sha256").mkdir(parents=True)
    name = hashlib.sha256(b"layer").hexdigest()  # content-addressed, as BuildKit writes it
    (old / "blobs" / "sha256" / name).write_text("layer")
    (old / "index.json").write_text("{}")
    (tmp_path / "leaf").symlink_to(Path(".versions") / "leaf" / "r1")
    plan = cache.cache_plan(event="push", ref="refs/heads/main", shared=str(tmp_path), run_id="r2")
    plan.prepare(["leaf", "other"])
    seeded = tmp_path / ".versions" / "leaf" / "r2" / "blobs" / "sha256" / name
    assert os.path.samefile(seeded, old / "blobs" / "sha256" / name)
    assert not (tmp_path / ".versions" / "other").exists()  # no current entry: nothing to seed
    assert not (tmp_path / ".versions" / "leaf" / "r2" / "index.json").exists()  # not importable until exported
