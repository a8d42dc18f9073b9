"""One key per step across trust levels (docs/decisions/one-key-per-step.md):
which cache_scope a run gets from the claims its BuildKit state holds, and the
exact docker calls that read and write those claims.

docker is answered by argv behind the seam: a small table of volumes stands
in for the engine's (`docker volume create/ls/rm` as the CLI answers them);
nothing of bakery's own logic is replaced."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.baking import bake
from bakery.cache import policy
from bakery.engine import builder, claims, docker
from tests.support.docker_fakes import ScriptedDocker
from tests.support.settings import for_bake, load

PR = {
    "GITHUB_EVENT_NAME": "pull_request",
    "GITHUB_REF": "refs/pull/7/merge",
    "GITHUB_REF_NAME": "7/merge",
    "GITHUB_ACTOR": "mallory",
    "GITHUB_REPOSITORY": "fork/mxd",
}
PUSH = {"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main"}
PR_SCOPE = "bakery-mallory-fork-mxd-7-merge"


class Volumes:
    """The engine's volumes, answered by argv as the docker CLI answers them;
    every other call goes to `rest` (a ScriptedDocker for whole bakes)."""

    def __init__(
        self, rest: Callable[[docker.Call], docker.Completed] | None = None, *, du: str = "Total:\t\t0B\n"
    ) -> None:
        self.labels: dict[str, dict[str, str]] = {}
        self.argvs: list[tuple[str, ...]] = []
        self.rest = rest
        self.du = du
        # Another run of another scope claiming between this run's create and ls.
        self.racer: tuple[str, str] | None = None

    def add(self, state: str, scope: str) -> None:
        self.labels[claims.volume(state, scope)] = {claims.LABEL: state, claims.SCOPE_LABEL: scope}

    def scopes(self) -> set[str]:
        return {labels[claims.SCOPE_LABEL] for labels in self.labels.values()}

    def __call__(self, call: docker.Call) -> docker.Completed:
        args = call.argv[1:]
        if args[:1] != ("volume",) and args[:2] != ("buildx", "du"):
            assert self.rest is not None, call.argv
            return self.rest(call)
        self.argvs.append(call.argv)
        out = ""
        if args[:2] == ("buildx", "du"):
            out = self.du
        elif args[1] == "create":
            labels = dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "--label")
            self.labels.setdefault(args[-1], labels)
            out = args[-1] + "\n"
            if self.racer is not None:
                self.add(*self.racer)
                self.racer = None
        elif args[1] == "ls":
            (wanted,) = [args[i + 1].removeprefix("label=") for i, a in enumerate(args) if a == "--filter"]
            key, value = wanted.split("=", 1)
            assert args[-2:] == ("--format", f'{{{{.Label "{claims.SCOPE_LABEL}"}}}}')
            out = "".join(labels[claims.SCOPE_LABEL] + "\n" for labels in self.labels.values() if labels[key] == value)
        elif args[1] == "rm":
            for name in args[2:]:
                self.labels.pop(name, None)
        return docker.Completed(call.argv, 0, out, "")


def _plan(**environ: str) -> policy.CachePlan:
    return policy.cache_plan(
        event=environ.get("GITHUB_EVENT_NAME", ""),
        ref=environ.get("GITHUB_REF", ""),
        actor=environ.get("GITHUB_ACTOR", ""),
        repository=environ.get("GITHUB_REPOSITORY", ""),
        ref_name=environ.get("GITHUB_REF_NAME", ""),
    )


def _docker_driver() -> str:
    return "docker"


# --- the decision ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "claimed", "keys"),
    [
        ("trusted", {"trusted"}, ""),
        (PR_SCOPE, {PR_SCOPE}, ""),
        ("trusted", {"trusted", PR_SCOPE}, "trusted"),
        (PR_SCOPE, {"trusted", PR_SCOPE}, PR_SCOPE),
        # Another pull request's scope counts as much as the other trust level.
        (PR_SCOPE, {PR_SCOPE, "bakery-eve-fork-mxd-8-merge"}, PR_SCOPE),
        ("trusted", None, "trusted"),
        # A local run that imports a shared cache (a laptop reading CI's) is a scope like any other.
        ("local", {"local"}, ""),
        ("local", {"trusted", "local"}, "local"),
        ("local", None, "local"),
    ],
)
def test_key_decision(scope: str, claimed: set[str] | None, keys: str) -> None:
    got, note = policy.key_decision(scope, claimed)
    assert got == keys
    assert (note is None) == (keys == "")


@pytest.mark.parametrize("claimed", [set(), {"local"}, {"trusted"}, None])
def test_a_local_run_without_imports_keeps_local_and_says_nothing(claimed: set[str] | None) -> None:
    assert policy.key_decision("local", claimed, imports=False) == ("local", None)


def test_a_local_run_on_a_claimed_engine_is_told_of_a_builder_of_its_own() -> None:
    _, note = policy.key_decision("local", {"trusted", "local"})
    assert note == (
        "cache keys: scoped (cache_scope=local): this engine's BuildKit state has served trusted with shared keys, "
        "so this run neither reuses their fetch and cargo layers nor the shared cache's; for shared keys bake on a "
        "builder of your own (BAKERY_DRIVER=docker-container) or empty this one (invoke builder --prune "
        "--prune-all) (docs/decisions/one-key-per-step.md)"
    )


def test_the_note_is_one_line_naming_the_other_scopes_and_the_way_out() -> None:
    _, note = policy.key_decision("trusted", {"trusted", PR_SCOPE})
    assert note is not None and "\n" not in note
    assert note.startswith("cache keys: scoped (cache_scope=trusted): ")
    assert PR_SCOPE in note and "one engine per trust level" not in note
    assert "give each trust level its own engine, e.g. ephemeral runners" in note
    assert "docs/decisions/one-key-per-step.md" in note


# --- claims through the seam -------------------------------------------------------------------


def test_a_free_engine_is_claimed_and_gives_shared_keys() -> None:
    volumes = Volumes()
    with docker.use_runner(volumes):
        plan, note = policy.shared_keys(_plan(**PUSH), _docker_driver, "default")
    assert (plan.cache_scope, plan.scope, note) == ("", "trusted", None)
    name = claims.volume("engine", "trusted")
    ls = ("docker", "volume", "ls", "--filter", "label=io.bakery.shared-keys=engine", "--format",
          '{{.Label "io.bakery.scope"}}')  # fmt: skip
    create = ("docker", "volume", "create", "--label", "io.bakery.shared-keys=engine", "--label",
              "io.bakery.scope=trusted", name)  # fmt: skip
    assert volumes.argvs == [ls, create, ls]
    assert volumes.scopes() == {"trusted"}
    # Again: already its own, still shared keys, one more (idempotent) create.
    with docker.use_runner(volumes):
        again, _ = policy.shared_keys(_plan(**PUSH), _docker_driver, "default")
    assert again.cache_scope == "" and len(volumes.labels) == 1


def test_an_engine_another_scope_claimed_keeps_scoped_keys_and_claims_nothing() -> None:
    volumes = Volumes()
    volumes.add("engine", PR_SCOPE)
    with docker.use_runner(volumes):
        plan, note = policy.shared_keys(_plan(**PUSH), _docker_driver, "default")
    assert plan.cache_scope == "trusted"
    assert note is not None and PR_SCOPE in note
    assert [argv[2] for argv in volumes.argvs] == ["ls"]
    assert volumes.scopes() == {PR_SCOPE}


def test_a_pull_request_after_trusted_runs_keeps_its_scope_and_the_trusted_claim_holds() -> None:
    """Only the first scope on a state shares keys: a pull request on the
    trusted runs' engine keeps its scope and leaves no claim, so the next
    trusted run still gets shared keys."""
    volumes = Volumes()
    with docker.use_runner(volumes):
        first, _ = policy.shared_keys(_plan(**PUSH), _docker_driver, "default")
        pr, note = policy.shared_keys(_plan(**PR), _docker_driver, "default")
        after, after_note = policy.shared_keys(_plan(**PUSH), _docker_driver, "default")
    assert (first.cache_scope, pr.cache_scope, after.cache_scope) == ("", PR_SCOPE, "")
    assert note is not None and "trusted" in note and after_note is None
    assert volumes.scopes() == {"trusted"}


def test_two_scopes_starting_at_once_never_both_share_keys() -> None:
    """Another scope claims between this run's create and its second look:
    this run keeps its scope and withdraws the claim it just made."""
    volumes = Volumes()
    volumes.racer = ("engine", PR_SCOPE)
    with docker.use_runner(volumes):
        plan, note = policy.shared_keys(_plan(**PUSH), _docker_driver, "default")
    assert plan.cache_scope == "trusted" and note is not None
    assert volumes.argvs[-1] == ("docker", "volume", "rm", "--force", claims.volume("engine", "trusted"))
    assert volumes.scopes() == {PR_SCOPE}


def test_a_claim_held_before_is_kept_when_another_scope_appears() -> None:
    volumes = Volumes()
    volumes.add("engine", "trusted")
    volumes.racer = ("engine", PR_SCOPE)
    with docker.use_runner(volumes):
        plan, _ = policy.shared_keys(_plan(**PUSH), _docker_driver, "default")
    # Its earlier shared-key layers are still on the engine: the claim stays.
    assert plan.cache_scope == "trusted" and volumes.scopes() == {"trusted", PR_SCOPE}


def test_a_docker_container_builder_is_its_own_state() -> None:
    volumes = Volumes()
    volumes.add("engine", PR_SCOPE)
    volumes.add("builder:bakery-other", PR_SCOPE)
    with docker.use_runner(volumes):
        plan, note = policy.shared_keys(_plan(**PUSH), lambda: "docker-container", "bakery-runner-1")
    assert (plan.cache_scope, note) == ("", None)
    assert volumes.labels[claims.volume("builder:bakery-runner-1", "trusted")][claims.LABEL] == (
        "builder:bakery-runner-1"
    )


def test_local_runs_and_remote_builders_make_no_docker_call() -> None:
    volumes = Volumes()

    def never() -> str:
        raise AssertionError("the driver is not needed for a local run")

    with docker.use_runner(volumes):
        local, local_note = policy.shared_keys(_plan(), never, "default")
        remote, remote_note = policy.shared_keys(_plan(**PUSH), lambda: "remote", "bakery-remote")
    assert (local.cache_scope, local_note) == ("local", None)
    assert remote.cache_scope == "trusted" and remote_note is not None and "not on this engine" in remote_note
    assert volumes.argvs == []


def _laptop(shared: str = "127.0.0.1:5001/bakery/cache") -> policy.CachePlan:
    """A developer's run (no GitHub event) with read access to a shared cache."""
    return policy.cache_plan(event="", ref="", shared=shared, scopes_dir="/home/dev/.cache/bakery/scopes")


def test_a_laptop_reading_the_shared_cache_claims_its_free_engine_and_gets_shared_keys() -> None:
    volumes = Volumes()
    with docker.use_runner(volumes):
        plan, note = policy.shared_keys(_laptop(), _docker_driver, "default")
    assert (plan.cache_scope, plan.scope, note) == ("", "local", None)
    assert [argv[2] for argv in volumes.argvs] == ["ls", "create", "ls"]
    assert volumes.labels == {
        claims.volume("engine", "local"): {"io.bakery.shared-keys": "engine", "io.bakery.scope": "local"}
    }


def test_a_laptop_on_an_engine_a_ci_shaped_run_claimed_keeps_local_and_claims_nothing() -> None:
    volumes = Volumes()
    volumes.add("engine", "trusted")
    with docker.use_runner(volumes):
        plan, note = policy.shared_keys(_laptop(), _docker_driver, "default")
    assert plan.cache_scope == "local"
    assert note is not None and "BAKERY_DRIVER=docker-container" in note
    assert [argv[2] for argv in volumes.argvs] == ["ls"]
    assert volumes.scopes() == {"trusted"}


def test_after_a_laptop_claimed_its_engine_a_trusted_run_there_keeps_its_scope() -> None:
    """The claim is what keeps a CI-shaped run on the developer's engine from
    sharing keys with the developer's layers."""
    volumes = Volumes()
    with docker.use_runner(volumes):
        policy.shared_keys(_laptop(), _docker_driver, "default")
        trusted, note = policy.shared_keys(_plan(**PUSH), _docker_driver, "default")
    assert trusted.cache_scope == "trusted" and note is not None and "local" in note
    assert volumes.scopes() == {"local"}


@pytest.mark.parametrize(
    ("shared", "imports", "export"),
    [
        (
            "127.0.0.1:5001/bakery/cache",
            ["127.0.0.1:5001/bakery/cache", "/home/dev/.cache/bakery/scopes/local"],
            "/home/dev/.cache/bakery/scopes/local",
        ),
        (
            "/srv/bakery-cache-ro",
            ["/srv/bakery-cache-ro", "/home/dev/.cache/bakery/scopes/local"],
            "/home/dev/.cache/bakery/scopes/local",
        ),
    ],
)
def test_a_laptop_exports_to_its_own_scope_only(shared: str, imports: list[str], export: str) -> None:
    plan = _laptop(shared)
    assert [location.base for location in plan.imports] == imports
    assert plan.export is not None and plan.export.base == export
    assert not plan.trusted and plan.reason.startswith("not a GitHub Actions run")
    assert [value for value in plan.set_values(["install"]) if ".cache-to=" in value] == [
        f"install.cache-to=type=local,dest={export}/.versions/install/{plan.run_id},mode=max"
    ]


# --- a whole bake ------------------------------------------------------------------------------


def _whole_bake(tmp_path: Path, volumes: Volumes, environ: dict[str, str]) -> tuple[list[str], dict]:
    out: list[str] = []
    loaded = for_bake(tmp_path, **environ)
    with docker.use_runner(volumes):
        bake.run(loaded, ["smoketest-version"], [loaded.definition.default_vector()], out=out.append)
    (record,) = (tmp_path / "runs").iterdir()
    return out, json.loads((record / "command.json").read_text())


def test_a_trusted_bake_on_a_free_engine_passes_cache_scope_empty(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, daemon_socket
) -> None:
    monkeypatch.chdir(ROOT)
    volumes = Volumes(ScriptedDocker())
    out, command = _whole_bake(tmp_path, volumes, PUSH)
    assert command["cache_scope"] == ""
    assert command["invocations"][0]["variables"]["cache_scope"] == ""
    assert not [line for line in out if line.startswith("NOTE cache keys")]
    assert volumes.scopes() == {"trusted"}


def test_a_trusted_bake_after_an_untrusted_one_prints_one_line_and_keeps_its_scope(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, daemon_socket
) -> None:
    monkeypatch.chdir(ROOT)
    volumes = Volumes(ScriptedDocker())
    volumes.add("engine", PR_SCOPE)
    out, command = _whole_bake(tmp_path, volumes, PUSH)
    assert command["cache_scope"] == "trusted"
    assert command["invocations"][0]["variables"]["cache_scope"] == "trusted"
    notes = [line for line in out if line.startswith("NOTE cache keys")]
    assert len(notes) == 1 and PR_SCOPE in notes[0]


# --- forgetting --------------------------------------------------------------------------------


def _builder_calls(call: docker.Call) -> docker.Completed:
    answers = {
        ("buildx", "inspect", "default"): "Name: default\nDriver: docker\n",
        ("buildx", "prune", "--help"): "      --keep-storage bytes\n",
    }
    return docker.Completed(call.argv, 0, answers.get(call.argv[1:], ""), "")


def test_prune_all_of_an_empty_cache_forgets_the_claims() -> None:
    volumes = Volumes(_builder_calls)
    volumes.add("engine", "trusted")
    volumes.add("engine", PR_SCOPE)
    volumes.add("builder:bakery-other", PR_SCOPE)
    with docker.use_runner(volumes):
        message = builder.prune(load(BAKERY_DRIVER="docker"), None, (), everything=True)
    assert message == "builder default: pruned; its cache is empty, so its shared-key claims were removed"
    # Only the pruned state's claims go.
    assert volumes.scopes() == {PR_SCOPE} and len(volumes.labels) == 1


@pytest.mark.parametrize(
    ("everything", "du"),
    [(False, "Total:\t\t0B\n"), (True, "Reclaimable:\t1.2MB\nTotal:\t\t1.2MB\n")],
)
def test_a_partial_prune_or_a_cache_left_in_use_keeps_the_claims(everything: bool, du: str) -> None:
    volumes = Volumes(_builder_calls, du=du)
    volumes.add("engine", PR_SCOPE)
    with docker.use_runner(volumes):
        message = builder.prune(load(BAKERY_DRIVER="docker"), None, (), everything=everything)
    assert message == "builder default: pruned"
    assert volumes.scopes() == {PR_SCOPE}


# --- a read-only location ----------------------------------------------------------------------


def test_an_untrusted_plan_never_asks_to_write_a_read_only_shared_directory(tmp_path: Path) -> None:
    """The shared directory as untrusted jobs get it (a read-only mount):
    imported first, never exported to, no fs.write on it."""
    shared, scopes = tmp_path / "shared-ro", tmp_path / "scopes"
    (shared / "mxd.install").mkdir(parents=True)
    (shared / "mxd.install" / "index.json").write_text("{}")
    plan = policy.cache_plan(
        event="pull_request", ref="refs/pull/7/merge", shared=str(shared), scopes_dir=scopes,
        actor="mallory", repository="fork/mxd", ref_name="7/merge", project="mxd",
    )  # fmt: skip
    assert [loc.base for loc in plan.imports] == [str(shared), str(scopes / PR_SCOPE)]
    assert plan.export is not None and plan.export.base == str(scopes / PR_SCOPE)
    assert plan.set_values(["install"])[0] == f"install.cache-from=type=local,src={shared}/mxd.install"
    assert all(str(shared) not in value for value in plan.set_values(["install"]) if ".cache-to=" in value)
    assert plan.entitlements() == sorted(
        [f"fs.read={scopes / PR_SCOPE}", f"fs.read={shared}", f"fs.write={scopes / PR_SCOPE}"]
    )


def test_an_export_location_that_cannot_be_written_is_one_clear_error(tmp_path: Path) -> None:
    """Not a traceback, not a bake that fails later: which location, and what to set."""
    from bakery.errors import EnvironmentNotReady

    blocked = tmp_path / "a-file"
    blocked.write_text("")  # mkdir under a file fails for root too, as a read-only mount does
    plan = policy.cache_plan(
        event="pull_request", ref="refs/pull/7/merge", shared=str(tmp_path / "shared"), scopes_dir=blocked,
        actor="mallory", repository="fork/mxd", ref_name="7/merge",
    )  # fmt: skip
    with pytest.raises(EnvironmentNotReady) as info:
        plan.prepare(["install"])
    assert str(info.value) == (
        f"cannot export to the scope {PR_SCOPE}'s cache at {blocked / PR_SCOPE}: Not a directory; "
        "set BAKERY_CACHE_SCOPES_DIR to a directory this job may write"
    )


ENTRY = (
    "mxd.smoketest-version--release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim"
    "--x86_64-v1-linux-gnu"
)
CACHED_STEP = json.dumps(
    {"vertexes": [{"digest": "sha256:a", "name": "[smoketest-version.publish 2/2] RUN true", "cached": True,
                   "started": "2026-01-01T00:00:00Z", "completed": "2026-01-01T00:00:01Z"}]}
) + "\n"  # fmt: skip


def _trusted_with_an_entry(tmp_path: Path, progress: list[str] | None) -> tuple[list[str], dict]:
    """A trusted bake whose shared directory already holds this job's entry."""
    shared = tmp_path / "shared"
    (shared / ENTRY).mkdir(parents=True)
    (shared / ENTRY / "index.json").write_text("{}")
    volumes = Volumes(ScriptedDocker(progress=progress))
    out, command = _whole_bake(tmp_path, volumes, {**PUSH, "BAKERY_CACHE_DIR": str(shared)})
    return out, command


def _cache_to(argv: list[str]) -> list[str]:
    bake_json = Path(argv[argv.index("--file") + 1])
    return next(iter(json.loads(bake_json.read_text())["target"].values())).get("cache-to", [])


def test_a_trusted_run_that_ran_nothing_does_not_export_an_entry_that_exists(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, daemon_socket
) -> None:
    monkeypatch.chdir(ROOT)
    _, command = _trusted_with_an_entry(tmp_path, [CACHED_STEP])
    (only,) = command["invocations"]
    assert _cache_to(only["argv"]) == []


def test_a_trusted_run_where_a_step_ran_exports_after_all(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, daemon_socket
) -> None:
    monkeypatch.chdir(ROOT)
    _, command = _trusted_with_an_entry(tmp_path, None)  # the fixture's progress: one step ran
    first, export = command["invocations"]
    assert _cache_to(first["argv"]) == []
    (destination,) = _cache_to(export["argv"])
    assert destination.startswith(f"type=local,dest={tmp_path}/shared/.versions/{ENTRY}/") and "mode=max" in destination
