"""`invoke bake`: bake targets for one or more vectors (parity with the
original's bake.sh, plus excludes, --allow, run records and summaries).

A bake is resolved once, per cross-product block of the selection, into a
typed frozen `Request` that can be printed and tested,
and then run. Resolving reads the probe cache (bakery.engine.probe) and the cached
entitlements (bakery.tree.bakefile.declared): on a warm cache the bake itself is
the only docker call.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bakery import ROOT, runs
from bakery.baking.invocation import bake_argv, environment_gone
from bakery.config import matrix
from bakery.config.settings import Settings
from bakery.errors import BakeFailed, UsageError
from bakery.tree import bakefile
from bakery.tree.bakefile import check_targets, split_targets

if TYPE_CHECKING:
    from bakery.baking import progress
    from bakery.cache import policy as cache

# Modules only a build needs (builder, probe, disk, progress, cache) are imported
# where they are used: `--print` and the fronts' start do not pay for them.

log = logging.getLogger("bakery")


@dataclass(frozen=True)
class RunRecord:
    directory: Path

    @classmethod
    def create(cls, settings: Settings, run_id: str, part: int = 0) -> RunRecord:
        directory = runs.record_dir(settings.run_dir, run_id, part)
        directory.mkdir(parents=True, exist_ok=True)
        return cls(directory)


@dataclass(frozen=True)
class Request:
    """One bake run, fully resolved: what it builds, where, with which
    entitlements and cache flags, and the exact argv and variables."""

    targets: tuple[str, ...]
    # axis -> values: the cross product the run's arrays carry.
    block: Mapping[str, tuple[str, ...]]
    # The exact vectors of the run (the tree's `vectors` variable).
    vectors: tuple[Mapping[str, str], ...]
    builder: str
    driver: str
    entitlements: tuple[str, ...]
    cache_sets: tuple[str, ...]
    instances: tuple[str, ...]
    argv: tuple[str, ...]
    # The bake variables bakery sets (axes, tree settings, cache scope).
    variables: Mapping[str, str]
    record: Path
    # The whole process environment for the run (not printed: it is the caller's).
    env: Mapping[str, str] = field(repr=False, compare=False, default_factory=dict)

    @property
    def label(self) -> str:
        return " ".join(f"{k}={','.join(v)}" for k, v in self.block.items())

    def describe(self) -> dict:
        """The request as JSON-ready data (`command.json` in the run record)."""
        return {
            "argv": ["docker", *self.argv],
            "vector": {k: list(v) for k, v in self.block.items()},
            "vectors": [dict(v) for v in self.vectors],
            "targets": list(self.targets),
            "builder": self.builder,
            "driver": self.driver,
            "entitlements": list(self.entitlements),
            "cache_sets": list(self.cache_sets),
            "variables": dict(self.variables),
        }


def _cross(block: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    import itertools

    names = list(block)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(block[n] for n in names))]


def _parts(
    settings: Settings, vectors: Sequence[matrix.Vector]
) -> list[tuple[dict[str, tuple[str, ...]], list[dict[str, str]]]]:
    """(arrays, exact vectors) per bake run. A tree that declares `vectors`
    (the tree's contract, docs/tree.md) gets the whole selection at once;
    otherwise excludes are kept out by cross-product blocks."""
    unique = list(dict.fromkeys(vectors))
    if bakefile.declares(settings, bakefile.VECTORS):
        return [(bakefile.block_of(unique), [v.as_dict() for v in unique])]
    return [(block, _cross(block)) for block in matrix.blocks(unique, settings.definition.names)]


def resolve(
    settings: Settings,
    targets: Sequence[str],
    block: Mapping[str, Sequence[str]],
    plan: cache.CachePlan,
    *,
    vectors: Sequence[Mapping[str, str]] = (),
    progress_mode: str = "auto",
    part: int = 0,
) -> tuple[Request, dict | None]:
    """The Request for one block (its `vectors`, else its whole cross product),
    and the definition when resolving printed it. Order keeps usage errors
    (unknown target) before environment ones."""
    from bakery.engine import builder, disk, probe

    targets = check_targets(targets)
    vectors = tuple(vectors) or tuple(_cross(block))
    env = bakefile.bake_env(settings, block, cache_scope=plan.cache_scope, vectors=vectors)
    declared, definition = bakefile.declared(settings, targets, env)
    builder_name = builder.name(settings)
    found = probe.probe(builder_name)
    disk.gate(settings, found.root_dir)
    record = RunRecord.create(settings, plan.run_id, part)
    allow = tuple(sorted({*declared.entitlements, *plan.entitlements()}))
    mode = "rawjson" if progress_mode == "auto" else progress_mode
    cache_sets = tuple(plan.set_values(declared.instances))
    argv = bake_argv(
        settings,
        targets,
        builder_name=builder_name,
        allow=allow,
        allow_supported=found.allow,
        metadata_file=record.directory / "metadata.json",
        progress_mode="quiet" if settings.ci_silent_bake and mode != "rawjson" else mode,
        cache_sets=cache_sets,
    )
    variables = {k: v for k, v in env.items() if os.environ.get(k) != v}
    request = Request(
        targets=targets,
        block={k: tuple(v) for k, v in block.items()},
        vectors=vectors,
        builder=builder_name,
        driver=found.driver,
        entitlements=allow,
        cache_sets=cache_sets,
        instances=declared.instances,
        argv=tuple(argv),
        variables=variables,
        record=record.directory,
        env=env,
    )
    return request, definition


def run(
    settings: Settings,
    targets: Sequence[str],
    vectors: Sequence[matrix.Vector],
    *,
    print_only: bool = False,
    progress_mode: str = "auto",
    out: Callable[[str], None] = print,
) -> list[progress.Progress]:
    """Bake `targets` for `vectors`: one bake run when the tree takes the
    `vectors` variable (the exact selection, excludes included), else one per
    cross-product block of the selection."""
    targets = check_targets(targets)
    if not vectors:
        raise UsageError("the selection matches no vector of the matrix; see `invoke matrix`")
    parts = _parts(settings, vectors)
    print_only = print_only or settings.no_bake
    if settings.ci_verbose_env:
        from bakery.redact import redact_env

        for key, value in sorted(redact_env(os.environ).items()):
            out(f"env {key}={value}")
    from bakery.cache import policy as cache

    plan = cache.from_settings(settings)
    if not print_only:
        from bakery.baking import one_solve
        from bakery.engine import builder, probe

        # One key per step across trust levels where the BuildKit state is
        # not shared across scopes (docs/decisions/one-key-per-step.md).
        builder_name = builder.name(settings)
        plan, note = cache.shared_keys(plan, lambda: probe.probe(builder_name).driver, builder_name)
        if note:
            out(f"NOTE {note}")

        if one_solve.wanted(settings, plan):

            def usual(
                names: Sequence[str], block: Mapping[str, Sequence[str]], vector: matrix.Vector, part: int
            ) -> progress.Progress:
                request, _ = resolve(
                    settings, names, block, plan, vectors=[vector.as_dict()], progress_mode=progress_mode, part=part
                )
                return execute(settings, request, plan, progress_mode=progress_mode, out=out, summarize=False)

            return one_solve.run(settings, targets, vectors, plan, usual=usual, progress_mode=progress_mode, out=out)
    runs = []
    for part, (block, selected) in enumerate(parts):
        if print_only:
            env = bakefile.bake_env(settings, block, cache_scope=plan.cache_scope, vectors=selected)
            out(json.dumps(bakefile.print_definition(settings, targets, env), indent=2))
            continue
        request, definition = resolve(
            settings, targets, block, plan, vectors=selected, progress_mode=progress_mode, part=part
        )
        if settings.ci_print_bake:
            definition = definition or bakefile.print_definition(settings, targets, request.env)
            out(json.dumps(definition, indent=2))
        runs.append(execute(settings, request, plan, progress_mode=progress_mode, out=out))
    return runs


def execute(
    settings: Settings,
    request: Request,
    plan: cache.CachePlan,
    *,
    progress_mode: str = "auto",
    out: Callable[[str], None] = print,
    summarize: bool = True,
) -> progress.Progress:
    """Run a resolved Request: the bake, its run record and summary (unless
    the caller sums several bakes up itself: bakery.baking.one_solve)."""
    from bakery.baking import invocation, progress
    from bakery.cache import policy as cache
    from bakery.engine import probe

    if plan.export is not None and request.driver == "docker":
        found = probe.probe(request.builder)
        problem = cache.export_problem(plan, request.driver, found.containerd_store)
        if problem:
            out(f"WARNING {problem}")
    plan.prepare(request.instances)
    mode = "rawjson" if progress_mode == "auto" else progress_mode
    (request.record / "command.json").write_text(json.dumps(request.describe(), indent=2))
    tracker, result = invocation.run_with_progress(
        request.argv,
        request.env,
        request.record / "progress.jsonl",
        progress_mode=progress_mode,
        silent=settings.ci_silent_bake,
        out=out,
    )
    if result.returncode != 0:
        _environment_gone(request, result.stderr)
    summary = progress.summary(tracker) if mode == "rawjson" and summarize else []
    if summarize:
        (request.record / "summary.txt").write_text("\n".join(summary) + "\n")
        if mode == "rawjson":
            from bakery.baking import summary as job_summary

            job_summary.for_job(
                settings, request.targets, request.vectors, request.label, tracker.by_target(), request.record
            )
    for line in summary:
        out(line)
    targets = " ".join(request.targets)
    if result.returncode != 0:
        out(f"ERROR {targets} [{request.label}] exit {result.returncode} (record: {request.record})")
        raise BakeFailed(f"bake failed with exit code {result.returncode}; see {request.record}", result.returncode)
    for line in plan.publish(request.instances):
        log.info(line)
    out(f"ACCEPT {targets} [{request.label}] (record: {request.record})")
    return tracker


def _environment_gone(request: Request, stderr: str) -> None:
    environment_gone(request.builder, stderr)


__all__ = ["ROOT", "Request", "RunRecord", "bake_argv", "execute", "resolve", "run", "split_targets"]
