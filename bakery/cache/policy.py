"""Cache sharing that untrusted runs cannot poison (docs/cache.md).

The workflow is the first boundary: only jobs on protected refs are given
the shared cache location and write credentials. This module is the second
(defence in depth): from the event and the ref it decides which cache a run
may import and where it may export. `trust` holds every rule; `cache_plan`
turns its answer into bake `--set` values.

Trust rules (`trust(event, ref, default_branch)`; first matching row wins):

    event                                   ref                        trusted
    --------------------------------------  -------------------------  -------
    push, schedule, workflow_dispatch,      refs/heads/<default>       yes
      release                               refs/tags/<tag>            yes
    push, schedule, workflow_dispatch,      any other ref              no
      release                                 (other branches, PRs)
    pull_request, pull_request_target,      any, refs/heads/<default>  no
      merge_group, workflow_run,              included (pull_request_
      issue_comment, any other event          target runs on the base
                                              ref with fork input)
    "" (not in GitHub Actions: local run)   any                        no

What each answer means, given a shared location S (BAKERY_CACHE_DIR) and a
scopes directory D (BAKERY_CACHE_SCOPES_DIR):

    trusted  import          export          cache_scope (mount ids)
    -------  --------------  --------------  ---------------------------------
    yes      S               S               "trusted"
    no       S, then D/<sc>  D/<sc> only     <sc> = sanitize(actor, repo, ref
                                             name), or "local" without them
    S unset  nothing         nothing         as above (builder cache only)

Untrusted runs never get an export into S. Unknown events are untrusted: the
list of trusted events is an allowlist.

Cache keys (`shared_keys`, docs/decisions/one-key-per-step.md). The scope
enters the fetch and cargo steps' cache keys (a declared ARG is in the RUN's
environment), so scoped values never share a layer or a cache mount across
scopes, on one engine or through S. A run passes `cache_scope` empty, equal
on every runner and trust level, when the BuildKit state it bakes on holds no
shared-key work of another scope: it claims the state first (a labelled
docker volume in the engine, bakery/engine/claims.py), then checks. On a
state another scope claimed it keeps its scoped value and says so in one
line. A local run (scope "local": a developer's) that imports a shared cache
claims its state like any scope, so a laptop reuses what trusted runs
exported; a local run without imports keeps "local", claims nothing and makes
no docker call for it.

Locations (local directories, registry repositories) are in
bakery/cache/location.py, the on-disk store in bakery/cache/store.py. A
registry shared cache takes a registry scopes repository
(BAKERY_CACHE_SCOPES_REF): an untrusted run exports to
`<scopes ref>/<scope>:<instance>`, never under the shared repository.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bakery import runs
from bakery.cache import store as cache_store
from bakery.cache.location import Location, registry_tag
from bakery.config.project import name as project_name
from bakery.config.settings import Settings
from bakery.engine.builder import sanitize
from bakery.errors import EnvironmentNotReady, UsageError

TRUSTED_EVENTS = frozenset({"push", "schedule", "workflow_dispatch", "release"})
TRUSTED_SCOPE = "trusted"
LOCAL_SCOPE = "local"
_INSTANCE = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


def default_scopes_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bakery" / "scopes"


def trust(event: str, ref: str, default_branch: str = "main") -> tuple[bool, str]:
    """The trust rules (the table above): (trusted, why)."""
    if not event:
        return False, "not a GitHub Actions run (no event): local runs never write the shared cache"
    if event not in TRUSTED_EVENTS:
        return False, f"event {event!r} carries input from outside the repository's writers"
    if default_branch and ref == f"refs/heads/{default_branch}":
        return True, f"{event} on the default branch {default_branch}"
    if ref.startswith("refs/tags/") and len(ref) > len("refs/tags/"):
        return True, f"{event} of tag {ref.removeprefix('refs/tags/')}"
    return False, f"{event} on {ref or 'no ref'}, which is neither the default branch nor a tag"


def scope_name(trusted: bool, actor: str = "", repository: str = "", ref_name: str = "") -> str:
    """The cache scope: namespaces cache mount ids (bake variable cache_scope)
    and names an untrusted run's own export directory."""
    if trusted:
        return TRUSTED_SCOPE
    if not (actor or repository or ref_name):
        return LOCAL_SCOPE
    return sanitize(actor, repository, ref_name)


@dataclass(frozen=True)
class CachePlan:
    trusted: bool
    reason: str
    scope: str
    imports: tuple[Location, ...] = ()
    export: Location | None = None
    run_id: str = field(default_factory=runs.new_id)
    # The project's name prefixes every entry: two projects sharing a cache
    # root never read or replace each other's entries (docs/packages.md).
    project: str = ""
    # The bake variable cache_scope when it is not the scope: "" for shared
    # keys (shared_keys); None keeps the scope.
    keys: str | None = None

    @property
    def cache_scope(self) -> str:
        """The value of the bake variable cache_scope (mount ids and cache keys)."""
        return self.scope if self.keys is None else self.keys

    def entry_name(self, instance: str) -> str:
        """An instance's entry name in every location: <project>.<instance>
        (instance names hold no dot: the name rule maps dots to _)."""
        return f"{self.project}.{instance}" if self.project else instance

    def set_values(self, instances: Iterable[str]) -> list[str]:
        """`--set` values for these target instances (the names in the bake
        definition): each imports its own entries and exports to its own."""
        values = []
        for instance in sorted(set(instances)):
            if not _INSTANCE.match(instance):
                raise UsageError(f"target {instance!r} is not a valid bake target name")
            entry = self.entry_name(instance)
            for location in self.imports:
                source = location.source(entry)
                if source:
                    values.append(f"{instance}.cache-from={source}")
            if self.export:
                values.append(f"{instance}.cache-to={self.export.destination(entry, self.run_id)}")
        return values

    def entitlements(self) -> list[str]:
        """bake --allow values for the local roots (buildx 0.29 refuses local
        cache paths outside the working directory without them). An
        untrusted plan never asks for fs.write on the shared root."""
        allow = [f"fs.read={loc.base}" for loc in self.imports if loc.kind == "local"]
        if self.export is not None and self.export.kind == "local":
            allow.append(f"fs.write={self.export.base}")
        return sorted(set(allow))

    def prepare(self, instances: Iterable[str] = ()) -> None:
        """Create the local export root before baking: buildx checks the
        fs.write entitlement on the nearest existing directory, so a missing
        root would ask for write access to its parent. Each instance's new
        version starts with hard links to the blobs of its current entry, so
        the export writes only what changed (without the links, a fully cached
        trusted run re-wrote every blob: bench/README.md)."""
        if self.export is not None and self.export.kind == "local":
            root = Path(self.export.base)
            try:
                root.mkdir(parents=True, exist_ok=True)
                for instance in sorted(set(instances)):
                    cache_store.seed_version(root, self.entry_name(instance), self.run_id)
            except OSError as exc:
                # A read-only mount (what untrusted jobs get for the shared
                # directory, docs/cache.md) cannot take an export: say which
                # location and why, before the bake starts.
                which = "the shared cache" if self.trusted else f"the scope {self.scope}'s cache"
                raise EnvironmentNotReady(
                    f"cannot export to {which} at {root}: {exc.strerror or exc}; "
                    + (
                        "a trusted run needs BAKERY_CACHE_DIR writable"
                        if self.trusted
                        else "set BAKERY_CACHE_SCOPES_DIR to a directory this job may write"
                    )
                ) from exc

    def argv(self, instances: Iterable[str]) -> list[str]:
        return [part for value in self.set_values(instances) for part in ("--set", value)]

    def discard(self, instances: Iterable[str]) -> None:
        """After a failed or interrupted bake, or an export not needed: remove
        this run's unpublished local versions, so no half-written export is
        left behind (the entries themselves never pointed at them)."""
        if self.export is None or self.export.kind != "local":
            return
        for instance in sorted(set(instances)):
            cache_store.discard(Path(self.export.base), self.entry_name(instance), self.run_id)

    def publish(self, instances: Iterable[str]) -> list[str]:
        """After a successful bake: point each local entry at this run's
        export. Registry exports are already in place."""
        if self.export is None or self.export.kind != "local":
            return []
        entries = [self.entry_name(instance) for instance in instances]
        return cache_store.publish(Path(self.export.base), entries, self.run_id)


def cache_plan(
    *,
    event: str,
    ref: str,
    shared: str = "",
    scopes_dir: Path | str | None = None,
    actor: str = "",
    repository: str = "",
    ref_name: str = "",
    default_branch: str = "main",
    run_id: str | None = None,
    scopes_ref: str = "",
    project: str = "",
) -> CachePlan:
    """Apply the trust rules to a shared location and a scopes directory
    (or, with `scopes_ref`, a scopes registry repository)."""
    trusted, reason = trust(event, ref, default_branch)
    scope = scope_name(trusted, actor, repository, ref_name)
    run_id = run_id or runs.new_id()
    if not shared:
        return CachePlan(trusted, reason + "; no shared cache configured", scope, run_id=run_id, project=project)
    location = Location.parse(shared)
    if trusted:
        return CachePlan(trusted, reason, scope, (location,), location, run_id, project)
    if scopes_ref:
        scopes = Location.parse(scopes_ref, "BAKERY_CACHE_SCOPES_REF")
        if scopes.kind != "registry":
            raise UsageError(
                f"BAKERY_CACHE_SCOPES_REF={scopes_ref!r} must be a registry repository; "
                "for a directory set BAKERY_CACHE_SCOPES_DIR"
            )
        # Registry 2.8 has no per-repository rights (docs/fleet.md): untrusted
        # exports must not land in or under the shared repository.
        if location.contains(scopes) or scopes.contains(location):
            raise UsageError(
                f"BAKERY_CACHE_SCOPES_REF={scopes_ref} equals or sits under the shared cache {location.base} "
                "(or contains it); give untrusted scopes their own repository, best on another registry"
            )
        # Repository path components allow single separators only.
        own = Location("registry", f"{scopes.base}/{re.sub(r'[^a-z0-9]+', '-', scope).strip('-')}")
        return CachePlan(trusted, reason, scope, (location, own), own, run_id, project)
    own = Location("local", os.path.normpath(str(scopes_dir or default_scopes_dir()) + "/" + scope))
    if not own.base.startswith("/"):
        raise UsageError(f"BAKERY_CACHE_SCOPES_DIR={scopes_dir!s} must be an absolute directory")
    if location.kind == "local" and _overlap(Path(location.base), Path(own.base)):
        raise UsageError(
            f"the scope directory {own.base} and the shared cache {location.base} overlap; keep them apart"
        )
    return CachePlan(trusted, reason, scope, (location, own), own, run_id, project)


def from_settings(
    settings: Settings, *, shared: str | None = None, scopes_dir: str | None = None, default_branch: str | None = None
) -> CachePlan:
    """cache_plan from bakery settings (BAKERY_CACHE_DIR, BAKERY_CACHE_SCOPES_DIR,
    BAKERY_CACHE_SCOPES_REF, BAKERY_DEFAULT_BRANCH) and the project's name
    for the entries; keyword arguments override."""
    return cache_plan(
        event=settings.github_event_name,
        ref=settings.github_ref,
        shared=settings.cache_dir if shared is None else shared,
        scopes_dir=(settings.cache_scopes_dir or None) if scopes_dir is None else scopes_dir,
        actor=settings.github_actor,
        repository=settings.github_repository,
        ref_name=settings.github_ref_name,
        default_branch=settings.default_branch if default_branch is None else default_branch,
        scopes_ref=settings.cache_scopes_ref,
        project=project_name(settings),
    )


def export_problem(plan: CachePlan, driver: str, containerd_store: bool) -> str | None:
    """The docker driver drops cache-to silently without the containerd
    image store (docs/decisions/engine-from-debian.md): say so instead."""
    if plan.export is not None and driver == "docker" and not containerd_store:
        return (
            "cache export needs the containerd image store on the docker driver: set "
            '{"features": {"containerd-snapshotter": true}} in /etc/docker/daemon.json and restart dockerd'
        )
    return None


SHARED_KEYS = ""


def key_decision(scope: str, claimed: set[str] | None, *, imports: bool = True) -> tuple[str, str | None]:
    """(cache_scope, note) for a run of `scope` on a BuildKit state that
    these scopes claimed, this run's claim included; `claimed` None: the state
    is not on this engine and cannot be claimed. `imports`: the run imports a
    shared cache. The note is the one line a run prints when it keeps scoped
    keys."""
    if scope == LOCAL_SCOPE and not imports:
        # Nothing to reuse, so nothing to gain from shared keys; a claim would
        # only shut later CI-shaped runs of this engine out of them
        # (docs/decisions/one-key-per-step.md).
        return scope, None
    if claimed is None:
        return scope, (
            f"cache keys: scoped (cache_scope={scope}): this builder's BuildKit state is not on this engine, so "
            "bakery cannot tell which scopes used it; shared keys need one engine per trust level "
            "(docs/decisions/one-key-per-step.md)"
        )
    others = sorted(claimed - {scope})
    if not others:
        return SHARED_KEYS, None
    way_out = (
        # A developer's engine: the way out is a BuildKit state of their own.
        "for shared keys bake on a builder of your own (BAKERY_DRIVER=docker-container) "
        "or empty this one (invoke builder --prune --prune-all)"
        if scope == LOCAL_SCOPE
        else "for shared keys give each trust level its own engine, e.g. ephemeral runners"
    )
    return scope, (
        f"cache keys: scoped (cache_scope={scope}): this engine's BuildKit state has served {', '.join(others)} "
        "with shared keys, so this run neither reuses their fetch and cargo layers nor the shared cache's; "
        f"{way_out} (docs/decisions/one-key-per-step.md)"
    )


def shared_keys(plan: CachePlan, driver: Callable[[], str], builder: str) -> tuple[CachePlan, str | None]:
    """The plan with the cache keys its BuildKit state allows (key_decision),
    claiming the state for the run's scope when it is free; and the note.
    `driver` gives the builder's driver (asked only when the scope may claim).

    Claim, then look: of two scopes that start at once on a free state, the
    second to look sees the first's claim, so at most one bakes with shared
    keys. A claim that lost is withdrawn unless the scope held it before."""
    from dataclasses import replace

    from bakery.engine import claims

    if plan.scope == LOCAL_SCOPE and not plan.imports:
        return plan, None
    state = claims.state_of(driver(), builder)
    if state is None:
        keys, note = key_decision(plan.scope, None)
        return replace(plan, keys=keys), note
    before = claims.claimants(state)
    if before - {plan.scope}:
        keys, note = key_decision(plan.scope, before)
        return replace(plan, keys=keys), note
    claims.claim(state, plan.scope)
    after = claims.claimants(state) | {plan.scope}
    keys, note = key_decision(plan.scope, after)
    if keys != SHARED_KEYS and plan.scope not in before:
        claims.release(state, plan.scope)
    return replace(plan, keys=keys), note


def _overlap(a: Path, b: Path) -> bool:
    a, b = a.resolve(), b.resolve()
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


__all__ = [
    "Location",
    "registry_tag",
    "CachePlan",
    "cache_plan",
    "from_settings",
    "trust",
    "scope_name",
    "key_decision",
    "shared_keys",
]
