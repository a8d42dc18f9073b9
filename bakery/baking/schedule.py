"""The schedule of one vector's bake (docs/architecture.md, "One way to bake").

Every bake goes through one generated form of the tree: the multi-stage
Dockerfile of bakery.baking.flatten. A vector's schedule is a short list of
bake invocations of that file, run in sequence:

1. one target that builds every requested instance in one solve (the
   aggregate), importing the vector's cache entry and exporting it when the
   plan exports;
2. then each requested target with a real output (an image, a local export),
   one invocation each, importing the same entry: every step is CACHED, only
   the output is written.

Never several targets in one bake: BuildKit attaches a solve's cache import
too late for steps that another solve of the same bake evaluated first, so a
fresh runner would run them again (docs/decisions/fresh-runner-cache.md).

The documented route (docs/tree.md, "One way to bake"): instances that need
another Dockerfile frontend (the labs frontend of `smoketest-perf`) and
selections the generated file cannot hold (targets on several platforms or
build contexts) are baked from the tree's own bake file as linked targets,
one more invocation of the same schedule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bakery.baking import flatten, index

if TYPE_CHECKING:
    from bakery.cache import policy as cache
    from bakery.config import matrix


def entry_key(targets: Sequence[str], vector: matrix.Vector) -> str:
    """The cache entry of one CI job: its targets and its vector. For one
    target this is the name of the target's instance for a family that varies
    over every axis (e.g. install--release--...)."""
    return "--".join(["_".join(targets), *(value.replace(".", "_") for _, value in vector.items)])


@dataclass(frozen=True)
class Invocation:
    """One bake invocation of a vector's schedule: a stage of the generated
    Dockerfile, or (`stage` None) targets of the tree's own bake file on the
    documented route."""

    targets: tuple[str, ...]
    stage: str | None = None
    exports: bool = False
    output: Mapping | None = None

    @property
    def linked(self) -> bool:
        return self.stage is None

    @property
    def name(self) -> str:
        return " ".join(self.targets)

    def target(
        self,
        flat: flatten.Flat,
        dockerfile: Path,
        plan: cache.CachePlan,
        key: str,
        *,
        export: bool,
        extra: Mapping | None = None,
    ) -> dict:
        """The bake target (JSON bake file) of a generated invocation;
        `export` writes the vector's cache entry. `extra` adds fields
        (bakery.baking.attest): labels and args are merged, others replace."""
        (name,) = self.targets
        body: dict = {
            "context": flat.context,
            "dockerfile": str(dockerfile),
            "target": self.stage,
            "contexts": dict(flat.contexts),
            "platforms": list(flat.platforms),
            "output": ["type=cacheonly"],
        }
        if self.output is not None:
            for field in ("labels", "tags", "output"):
                if self.output.get(field):
                    body[field] = self.output[field]
        # Every stage of the file may be solved (a parent needs its own), so
        # every invocation asks for what any of them declares.
        entitlements = sorted({*flat.entitlements, *((self.output or {}).get("entitlements") or ())})
        if entitlements:
            body["entitlements"] = entitlements
        # The same entry name as prepare() and publish() use: it carries the project.
        entry = plan.entry_name(key)
        sources = [s for s in (loc.source(entry) for loc in plan.imports) if s]
        if sources:
            body["cache-from"] = sources
        if export and plan.export is not None:
            body["cache-to"] = [plan.export.destination(entry, plan.run_id)]
        for field, value in (extra or {}).items():
            if field in ("labels", "args"):
                body[field] = {**(body.get(field) or {}), **value}
            elif value is None:
                body.pop(field, None)
            else:
                body[field] = value
        return {"target": {name: body}}


def invocations(flat: flatten.Flat | None, definition: Mapping, targets: Sequence[str]) -> list[Invocation]:
    """A vector's schedule: the aggregate first (it exports), then one per
    output, then the instances left out of the generated file; with no
    generated file (`flat` None), the whole selection as linked targets. A
    single requested instance is its own aggregate."""
    if flat is None:
        return [Invocation(tuple(targets))]
    found = definition["target"]
    if flat.aggregate is None:
        (only,) = flat.requested
        runs = [Invocation((only,), flat.stages[only], True, found[only] if only in flat.outputs else None)]
    else:
        runs = [Invocation((flatten.AGGREGATE,), flat.aggregate, True)]
        # Pushes last: an image is published only after every other output
        # of the vector was written (and the SBOM generator it names was built).
        last = sorted(flat.outputs, key=lambda i: index.pushes_to_registry(found[i].get("output") or ()))
        runs.extend(Invocation((i,), flat.stages[i], False, found[i]) for i in last)
    if flat.left_out:
        runs.append(Invocation(flat.left_out))
    return runs
