"""`invoke bake` as one solve per bake invocation (docs/decisions/fresh-runner-cache.md).

When a shared cache is set, each vector of the selection is baked from one
Dockerfile generated from the tree (bakery.baking.flatten):

1. one target that builds every requested instance in one solve, importing
   one mode=max cache entry and exporting it when the plan exports;
2. then each requested target with a real output (an image, a local export),
   one bake invocation each, in sequence, importing the same entry: every step
   is CACHED, only the output is written.

Never several targets in one bake: BuildKit attaches a solve's cache import
too late for steps that another solve of the same bake evaluated first, so a
fresh runner would run them again. Instances the generator leaves out (the
labs frontend) and selections it cannot reproduce are baked as before.

For the user it stays one `invoke bake`: one run record (the generated files,
every invocation's argv and progress), banners per vector, one cached/ran
summary over all invocations, the first failing invocation's exit code.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bakery import ROOT
from bakery.baking import flatten
from bakery.config.settings import Settings
from bakery.errors import BakeFailed, BakeryError
from bakery.tree import bakefile

if TYPE_CHECKING:
    from bakery.baking import progress
    from bakery.cache import policy as cache
    from bakery.config import matrix

log = logging.getLogger("bakery")

# Bakes targets the usual way (linked targets) for one vector, as part N of
# the run record, without printing a summary: bakery.baking.bake gives it.
Usual = Callable[[Sequence[str], Mapping[str, Sequence[str]], "matrix.Vector", int], "progress.Progress"]

_RANK = {"error": 3, "ran": 2, "running": 1, "cached": 0, "canceled": -1}


def wanted(settings: Settings, plan: cache.CachePlan) -> bool:
    """BAKERY_ONE_SOLVE: `auto` bakes this way when a shared cache is set."""
    mode = settings.one_solve
    return mode == "always" or (mode == "auto" and bool(plan.imports))


def entry_key(targets: Sequence[str], vector: matrix.Vector) -> str:
    """The cache entry of one CI job: its targets and its vector. For one
    target this is the name of the target's instance for a family that varies
    over every axis (e.g. install--release--...)."""
    return "--".join(["_".join(targets), *(value.replace(".", "_") for _, value in vector.items)])


@dataclass(frozen=True)
class Invocation:
    """One bake of the generated Dockerfile: one target."""

    name: str
    stage: str
    exports: bool
    output: Mapping | None = None

    def target(self, flat: flatten.Flat, dockerfile: Path, plan: cache.CachePlan, key: str) -> dict:
        """The bake target (JSON bake file) for this invocation."""
        body: dict = {
            "context": flat.context,
            "dockerfile": str(dockerfile),
            "target": self.stage,
            "contexts": dict(flat.contexts),
            "platforms": list(flat.platforms),
            "output": ["type=cacheonly"],
        }
        if self.output is not None:
            for name in ("labels", "tags", "output"):
                if self.output.get(name):
                    body[name] = self.output[name]
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
        if self.exports and plan.export is not None:
            body["cache-to"] = [plan.export.destination(entry, plan.run_id)]
        return {"target": {self.name: body}}


def invocations(flat: flatten.Flat, definition: Mapping) -> list[Invocation]:
    """The aggregate first (it exports), then one per output; a single
    requested instance is its own aggregate."""
    targets = definition["target"]
    if flat.aggregate is None:
        (only,) = flat.requested
        output = targets[only] if only in flat.outputs else None
        return [Invocation(only, flat.stages[only], True, output)]
    runs = [Invocation(flatten.AGGREGATE, flat.aggregate, True)]
    runs.extend(Invocation(i, flat.stages[i], False, targets[i]) for i in flat.outputs)
    return runs


def _read(context: str, dockerfile: str) -> str:
    path = Path(dockerfile) if Path(dockerfile).is_absolute() else ROOT / context / dockerfile
    return path.read_text()


class Summary:
    """Steps over several invocations, each counted once. The invocations of
    one generated Dockerfile name a step alike (`[<stage> i/n] <instruction>`)
    but give it another digest (each has its own local-context session), so
    their steps are matched by name; the usual bake's by digest. A step that
    ran in any invocation ran; it is CACHED only if CACHED in all."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        self.owner: dict[str, str] = {}

    def add(self, tracker: progress.Progress, owners: Mapping[str, str] | None = None) -> None:
        """`owners`: generated stage name -> instance (a helper stage
        `<instance>.<stage>` counts for its instance); given for one-solve
        invocations only."""
        for vertex in tracker.steps():
            owner = vertex.target or "?"
            key = vertex.digest
            if owners is not None:
                names = [n.split(".", 1)[0] for n in (vertex.target, vertex.stage) if n]
                if flatten.AGGREGATE in names:
                    # The aggregate's own step only joins the leaves: no family's work.
                    continue
                owner = next((owners[n] for n in names if n in owners), owner)
                key = "name:" + vertex.name
            old = self.states.get(key)
            if old is None or _RANK[vertex.state] > _RANK[old]:
                self.states[key] = vertex.state
            self.owner.setdefault(key, owner)

    def by_target(self) -> dict[str, Counter[str]]:
        """instance -> its steps' states, each step counted once."""
        table: dict[str, Counter[str]] = {}
        for key, state in self.states.items():
            table.setdefault(self.owner[key], Counter())[state] += 1
        return table

    def lines(self, skipped: Sequence[str] = ()) -> list[str]:
        table = self.by_target()
        rows = [f"{c['cached']:4} cached {c['ran']:4} ran  {t}" for t, c in sorted(table.items())]
        rows.extend(f"skipped      {line}" for line in skipped)
        total = Counter(self.states.values())
        rows.append(f"{total['cached']:4} cached {total['ran']:4} ran  total ({total['error']} failed)")
        return rows


def run(
    settings: Settings,
    targets: Sequence[str],
    vectors: Sequence[matrix.Vector],
    plan: cache.CachePlan,
    *,
    usual: Usual,
    progress_mode: str = "auto",
    out: Callable[[str], None] = print,
) -> list[progress.Progress]:
    """Bake `targets` for each vector, one solve per invocation (module doc).
    `usual` bakes what the generator leaves out, the usual way, unsummed."""
    from bakery import runs
    from bakery.baking import invocation
    from bakery.baking import progress as progress_module
    from bakery.cache import policy as cache
    from bakery.engine import builder, disk, probe

    builder_name = builder.name(settings)
    found = probe.probe(builder_name)
    disk.gate(settings, found.root_dir)
    problem = cache.export_problem(plan, found.driver, found.containerd_store)
    if problem:
        out(f"WARNING {problem}")
    record = runs.record_dir(settings.run_dir, plan.run_id)
    record.mkdir(parents=True, exist_ok=True)
    summary = Summary()
    trackers: list[progress_module.Progress] = []
    skipped: list[str] = []
    commands: list[dict] = []
    mode = "rawjson" if progress_mode == "auto" else progress_mode
    silent = settings.ci_silent_bake
    failure: BakeryError | None = None
    for n, vector in enumerate(dict.fromkeys(vectors)):
        block = {k: (v,) for k, v in vector.items}
        label = vector.label()
        env = bakefile.bake_env(settings, block, cache_scope=plan.cache_scope, vectors=[vector.as_dict()])
        definition = bakefile.print_definition(settings, targets, env)
        if settings.ci_print_bake:
            out(json.dumps(definition, indent=2))
        try:
            flat = flatten.flatten(definition, targets, _read)
        except flatten.NotFlat as exc:
            out(f"NOTE [{label}] baked as linked targets: {exc}")
            flat = None
        left = list(flat.left_out) if flat is not None else list(targets)
        if flat is not None:
            key = entry_key(targets, vector)
            dockerfile = record / f"{n}.Dockerfile"
            dockerfile.write_text(flat.dockerfile)
            owners = {stage: instance for instance in flat.instances for stage in [flatten.stage_name(instance)]}
            plan.prepare([key])
            for m, step in enumerate(invocations(flat, definition)):
                bake_json = record / f"{n}.{m}.bake.json"
                bake_json.write_text(json.dumps(step.target(flat, dockerfile, plan, key), indent=2) + "\n")
                allow = sorted(
                    {
                        *bakefile.entitlements(json.loads(bake_json.read_text()), bake_json, ROOT),
                        *plan.entitlements(),
                        *flat.entitlements,
                    }
                )
                argv = invocation.bake_argv(
                    settings,
                    [step.name],
                    builder_name=builder_name,
                    allow=allow,
                    allow_supported=found.allow,
                    metadata_file=record / f"metadata.{n}.{m}.json",
                    progress_mode="quiet" if silent and mode != "rawjson" else mode,
                    file=bake_json,
                )
                commands.append({"vector": label, "argv": ["docker", *argv], "target": step.name, "stage": step.stage})
                (record / "command.json").write_text(json.dumps({"invocations": commands}, indent=2) + "\n")
                try:
                    tracker, code = _bake(argv, env, record, builder_name, progress_mode, silent, out)
                except BakeryError as exc:
                    # An interrupt or a lost engine: the summary below is still written.
                    failure = exc
                    break
                trackers.append(tracker)
                summary.add(tracker, owners)
                skipped.extend(progress_module.skipped(tracker))
                if code != 0:
                    failure = _failed(code, step.name, label, record, out)
                    break
                if step.exports:
                    for line in plan.publish([key]):
                        log.info(line)
        if failure is None and left:
            commands.append({"vector": label, "usual": left, "record_part": n + 1})
            try:
                tracker = usual(left, block, vector, n + 1)
            except BakeryError as exc:
                failure = exc
            else:
                trackers.append(tracker)
                summary.add(tracker)
                skipped.extend(progress_module.skipped(tracker))
        if failure is not None:
            break
        out(f"ACCEPT {' '.join(targets)} [{label}] (record: {record})")
    lines = summary.lines(sorted(set(skipped))) if mode == "rawjson" else []
    (record / "summary.txt").write_text("\n".join(lines) + "\n")
    if mode == "rawjson":
        from bakery.baking import summary as job_summary

        unique = tuple(dict.fromkeys(vectors))
        label = " ".join(v.label() for v in unique)
        job_summary.for_job(
            settings, tuple(targets), tuple(v.as_dict() for v in unique), label, summary.by_target(), record
        )
    for line in lines:
        out(line)
    if failure is not None:
        raise failure
    return trackers


def _bake(
    argv: Sequence[str],
    env: Mapping[str, str],
    record: Path,
    builder_name: str,
    progress_mode: str,
    silent: bool,
    out: Callable[[str], None],
) -> tuple[progress.Progress, int]:
    """One bake invocation; its progress appended to the run's progress.jsonl."""
    from bakery.baking import invocation

    tracker, result = invocation.run_with_progress(
        argv, env, record / "progress.jsonl", progress_mode=progress_mode, silent=silent, out=out, append=True
    )
    if result.returncode != 0:
        invocation.environment_gone(builder_name, result.stderr)
    return tracker, result.returncode


def _failed(code: int, target: str, label: str, record: Path, out: Callable[[str], None]) -> BakeFailed:
    out(f"ERROR {target} [{label}] exit {code} (record: {record})")
    return BakeFailed(f"bake failed with exit code {code}; see {record}", code)
