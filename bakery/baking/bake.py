"""`invoke bake`: bake targets for one or more vectors, one way
(docs/architecture.md, "One way to bake").

Every bake, with a shared cache or without, for one vector or many, goes
through one generated form of the tree (bakery.baking.flatten) and one
schedule per vector (bakery.baking.schedule); only the schedule's imports
and exports differ. One run writes one record (`runs/<id>/`: the generated
files, `command.json` with every invocation, their progress, `summary.txt`),
prints one summary, and ends on the first failing invocation's exit code.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bakery import ROOT
from bakery.baking import attest, index
from bakery.config import matrix
from bakery.config.settings import Settings
from bakery.errors import BakeFailed, BakeryError, EnvironmentNotReady, UsageError
from bakery.tree import bakefile
from bakery.tree.bakefile import check_targets, split_targets

if TYPE_CHECKING:
    from bakery.baking import flatten, progress
    from bakery.baking.schedule import Invocation
    from bakery.cache import policy as cache
    from bakery.engine.probe import Probe

# Modules only a build needs (builder, probe, disk, progress, cache) are imported
# where they are used: `--print` and the fronts' start do not pay for them.

log = logging.getLogger("bakery")


def _cross(block: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    import itertools

    names = list(block)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(block[n] for n in names))]


def _parts(
    settings: Settings, vectors: Sequence[matrix.Vector]
) -> list[tuple[dict[str, tuple[str, ...]], list[dict[str, str]]]]:
    """(arrays, exact vectors) per printed definition. A tree that declares
    `vectors` (the tree's contract, docs/tree.md) prints the whole selection
    at once; otherwise excludes are kept out by cross-product blocks."""
    unique = list(dict.fromkeys(vectors))
    if bakefile.declares(settings, bakefile.VECTORS):
        return [(bakefile.block_of(unique), [v.as_dict() for v in unique])]
    return [(block, _cross(block)) for block in matrix.blocks(unique, settings.definition.names)]


def run(
    settings: Settings,
    targets: Sequence[str],
    vectors: Sequence[matrix.Vector],
    *,
    print_only: bool = False,
    progress_mode: str = "auto",
    out: Callable[[str], None] = print,
) -> list[progress.Progress]:
    """Bake `targets` for `vectors`, vector by vector, each through the
    generated form of the tree (module doc); with `print_only`, print the
    bake definition instead."""
    targets = check_targets(targets)
    if not vectors:
        raise UsageError("the selection matches no vector of the matrix; see `invoke matrix`")
    if settings.ci_verbose_env:
        from bakery.redact import redact_env

        for key, value in sorted(redact_env(os.environ).items()):
            out(f"env {key}={value}")
    from bakery.cache import policy as cache

    plan = cache.from_settings(settings)
    if print_only or settings.no_bake:
        for block, selected in _parts(settings, vectors):
            env = bakefile.bake_env(settings, block, cache_scope=plan.cache_scope, vectors=selected)
            out(json.dumps(bakefile.print_definition(settings, targets, env), indent=2))
        return []
    from bakery.config import toolchains

    # Before buildx, bad input first (exit 2): a toolchain as old as the project's rust-version.
    toolchains.require(settings, vectors)
    unique = list(dict.fromkeys(vectors))
    return _Run.start(settings, targets, unique, plan, progress_mode, out).bake(unique)


def _read(context: str, dockerfile: str) -> str:
    path = Path(dockerfile) if Path(dockerfile).is_absolute() else ROOT / context / dockerfile
    try:
        return path.read_text()
    except OSError as exc:
        raise UsageError(f"{_shown(path)}: cannot read the Dockerfile a target names ({exc.strerror})") from exc


def _label(vector: matrix.Vector) -> str:
    """A vector as the ACCEPT and ERROR lines show it."""
    return " ".join(f"{k}={v}" for k, v in vector.items)


def _shown(path: Path) -> str:
    """A path as errors name it: relative to the project when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


@dataclass
class _Part:
    """One vector's share of a run: what each of its invocations needs
    (`attestation` gains the generator once it is built)."""

    label: str
    env: Mapping[str, str]
    # The bake variables bakery sets (recorded for each invocation).
    variables: Mapping[str, str]
    allow: frozenset[str]
    # The vector's cache entry: the job's targets and the vector.
    key: str
    flat: flatten.Flat | None
    dockerfile: Path
    # What the vector's pushes attach (None: nothing pushed, or BAKERY_ATTEST=0).
    attestation: attest.Attestation | None = None
    # The references the vector pushes.
    pushed: tuple[str, ...] = ()


class _Run:
    """One `invoke bake`: the checks made once (keys, probe, disk gate,
    export warning), the record, the tally, and each vector's schedule."""

    def __init__(
        self,
        settings: Settings,
        targets: tuple[str, ...],
        plan: cache.CachePlan,
        found: Probe,
        builder: str,
        record: Path,
        progress_mode: str,
        out: Callable[[str], None],
    ) -> None:
        from bakery.baking import progress
        from bakery.explain import manifest

        self.settings = settings
        self.targets = targets
        self.plan = plan
        self.found = found
        self.builder = builder
        self.record = record
        self.progress_mode = progress_mode
        self.out = out
        self.mode = "rawjson" if progress_mode == "auto" else progress_mode
        self.tally = progress.Tally()
        self.error = ""
        # A run of several vectors: a fixed publish_tag then names an index (bakery.baking.index).
        self.several = False
        # What pushes attach (bakery.baking.attest); the revision is read once, at the first push.
        self.revision: str | None = None
        self.trackers: list[progress.Progress] = []
        # The inputs behind each instance's keys, for `invoke explain` (docs/why-rebuild.md).
        self.inputs = manifest.Recorder(ROOT, plan, found, builder)
        self.command: dict = {
            "run": plan.run_id,
            "targets": list(targets),
            "builder": builder,
            "driver": found.driver,
            "cache_scope": plan.cache_scope,
            "vectors": [],
            "invocations": [],
        }

    @classmethod
    def start(
        cls,
        settings: Settings,
        targets: tuple[str, ...],
        vectors: Sequence[matrix.Vector],
        plan: cache.CachePlan,
        progress_mode: str,
        out: Callable[[str], None],
    ) -> _Run:
        from bakery import runs
        from bakery.cache import policy as cache
        from bakery.engine import builder, disk, probe, system_image

        builder_name = builder.name(settings)
        # One key per step across trust levels where the BuildKit state is
        # not shared across scopes (docs/decisions/one-key-per-step.md).
        plan, note = cache.shared_keys(plan, lambda: probe.probe(builder_name).driver, builder_name)
        if note:
            out(f"NOTE {note}")
        found = probe.probe(builder_name)
        # The roots the selection needs are in the engine and a foreign architecture runs
        # here (exit 3 naming the command that makes the root). On a warm probe a daemon gone
        # since shows here first: then say that, and forget the probe.
        disk.gate(settings, found.root_dir)
        try:
            system_image.require(settings, vectors)
        except EnvironmentNotReady:
            probe.forget(builder_name)
            probe.probe(builder_name)  # probed afresh: exit 3 for the daemon if it is gone
            raise
        problem = cache.export_problem(plan, found.driver, found.containerd_store)
        if problem:
            out(f"WARNING {problem}")
        record = runs.record_dir(settings.run_dir, plan.run_id)
        record.mkdir(parents=True, exist_ok=True)
        runs.sweep(settings.run_dir, settings.runs_keep, keep_path=record)
        return cls(settings, targets, plan, found, builder_name, record, progress_mode, out)

    def _definition(self, vector: matrix.Vector, targets: Sequence[str] | None = None) -> tuple[dict[str, str], dict]:
        """A vector's bake variables and its `--print` definition (kept in the probe cache)."""
        env = bakefile.bake_env(
            self.settings,
            {k: (v,) for k, v in vector.items},
            cache_scope=self.plan.cache_scope,
            vectors=[vector.as_dict()],
        )
        fixed = self.settings.tree.get("publish_tag")
        if fixed and self.several:
            # One tag for every platform: the index takes publish_tag (bakery.baking.index).
            env["publish_tag"] = index.platform_tag(fixed, vector["sys_target"])
        return env, bakefile.definition(self.settings, targets or self.targets, env)

    def _indexes(self, vectors: Sequence[matrix.Vector]) -> list[index.Index]:
        """The image indexes the run's pushes make (bakery.baking.index), planned
        before any bake so that pushes that cannot make them stop the run first."""
        if not self.several:
            return []
        found = [p for v in vectors for p in index.pushes(self._definition(v)[1], v.as_dict())]
        return index.plan(found)

    def bake(self, vectors: Sequence[matrix.Vector]) -> list[progress.Progress]:
        failure: BakeryError | None = None
        accepted = []
        self.several = len(vectors) > 1
        indexes = self._indexes(vectors)
        for n, vector in enumerate(vectors):
            self.command["vectors"].append(vector.as_dict())
            try:
                self._vector(n, vector)
            except BakeryError as exc:
                # An interrupt, a lost engine or a failed step: the summary is still written.
                failure = exc
                break
            accepted.append(f"ACCEPT {' '.join(self.targets)} [{_label(vector)}] (record: {self.record})")
        if failure is None and indexes:
            # After every push: each index names manifests that must be in the registry.
            try:
                index.assemble(indexes, self.builder, accepted.append)
            except BakeryError as exc:
                failure = exc
                self.error = f"ERROR {' '.join(self.targets)} image index: {exc} (record: {self.record})"
        # The summary, then one verdict per vector: the last lines say how it ended.
        self._summarize(vectors)
        for line in accepted:
            self.out(line)
        if self.error:
            self.out(self.error)
        if failure is not None:
            raise failure
        return self.trackers

    def _vector(self, n: int, vector: matrix.Vector) -> None:
        from bakery.baking import flatten, schedule

        settings, plan = self.settings, self.plan
        label = _label(vector)
        env, definition = self._definition(vector)
        targets = self.targets
        attestation = self._attestation(definition, vector)
        if attestation is not None and attestation.generator is None:
            # The tree's own generator is one more requested instance of the vector.
            targets = (attest.GENERATOR, *self.targets)
            env, definition = self._definition(vector, targets)
        if settings.ci_print_bake:
            self.out(json.dumps(definition, indent=2))
        tree = bakefile.bake_file(settings)
        try:
            flat = flatten.flatten(definition, targets, _read, _shown(tree), tree.read_text())
        except flatten.Route as route:
            self.out(f"NOTE [{label}] baked as linked targets: {route.reason} (docs/tree.md, One way to bake)")
            flat = None
        part = _Part(
            label=label,
            env=env,
            variables={k: v for k, v in env.items() if os.environ.get(k) != v},
            allow=frozenset({*bakefile.entitlements(definition, tree, ROOT), *plan.entitlements()}),
            key=schedule.entry_key(self.targets, vector),
            flat=flat,
            dockerfile=self.record / f"{n}.Dockerfile",
            attestation=attestation,
            pushed=tuple(p.ref for p in index.pushes(definition, vector.as_dict())),
        )
        if flat is not None:
            part.dockerfile.write_text(flat.dockerfile)
        self.inputs.vector(n, vector.as_dict(), part.key, definition, flat)
        if attestation is not None and flat is None:
            raise UsageError(
                f"[{label}] pushes, but its selection is baked as linked targets, which cannot carry "
                "attestations; publish the push targets in a run of their own, or set BAKERY_ATTEST=0"
            )
        if (
            attestation is not None
            and attestation.generator is None
            and not any(i.startswith(f"{attest.GENERATOR}--") for i in (flat.requested if flat else ()))
        ):
            raise UsageError(
                f"[{label}] pushes, but the tree has no {attest.GENERATOR} instance to make its SBOM; set "
                "BAKERY_SBOM_GENERATOR to a generator image, or BAKERY_ATTEST=0 to push without attestations"
            )
        for m, step in enumerate(schedule.invocations(flat, definition, targets)):
            if step.linked:
                self._invoke(part, f"{n}.{m}", step, tree, flatten.needed(definition, step.targets), part.allow)
                continue
            export = step.exports and plan.export is not None
            # A trusted runner that imported every step re-exports what the
            # entry already holds: the export is the floor of a fully cached
            # run (bench/README.md). So when a directory entry exists, bake
            # without exporting first, and export only if a step ran.
            entry = plan.entry_name(part.key)
            target = plan.export
            again = export and target is not None and target.kind == "local" and target.source(entry) is not None
            ran = self._generated(part, f"{n}.{m}", step, export=export and not again)
            if again and ran:
                self._generated(part, f"{n}.{m}.export", step, export=True)
            elif again:
                log.info("cache %s: every step CACHED and the entry exists; not exported again", entry)

    def _generated(self, part: _Part, name: str, step: Invocation, *, export: bool) -> bool:
        """One invocation of the generated file, as a JSON bake file; whether
        any step ran."""
        from bakery.baking import flatten

        assert part.flat is not None
        bake_json = self.record / f"{name}.bake.json"
        extra = self._attested(part, step)
        body = step.target(part.flat, part.dockerfile, self.plan, part.key, export=export, extra=extra)
        bake_json.write_text(json.dumps(body, indent=2) + "\n")
        allow = {*part.allow, *bakefile.entitlements(body, bake_json, ROOT), *part.flat.entitlements}
        owners = {flatten.stage_name(instance): instance for instance in part.flat.instances}
        attested = extra is not None and "attest" in extra
        tracker = self._invoke(
            part, name, step, bake_json, [part.key] if export else [], allow, owners, attested=attested
        )
        if step.output is not None and step.targets[0].startswith(f"{attest.GENERATOR}--") and part.attestation:
            part.attestation = self._generator_built(name, step, bake_json, part.attestation)
        return tracker.counts()["ran"] > 0

    def _invoke(
        self,
        part: _Part,
        name: str,
        step: Invocation,
        file: Path,
        entries: Sequence[str],
        allow: Set[str],
        owners: Mapping[str, str] | None = None,
        *,
        attested: bool = False,
    ) -> progress.Progress:
        """Run one bake invocation; `entries` are the cache entries it
        exports (a linked invocation, `owners` None, passes its instances,
        which import and export their own entries)."""
        from bakery.baking import flatten, invocation

        plan = self.plan
        linked = owners is None
        sets = tuple(plan.set_values(entries)) if linked else ()
        if linked or entries:
            plan.prepare(entries)
        argv = invocation.bake_argv(
            self.settings,
            step.targets,
            builder_name=self.builder,
            allow=sorted({*allow, *(plan.entitlements() if linked else ())}),
            allow_supported=self.found.allow,
            metadata_file=self.record / f"metadata.{name}.json",
            progress_mode="quiet" if self.settings.ci_silent_bake and self.mode != "rawjson" else self.mode,
            cache_sets=sets,
            file=file,
            attested=attested,
        )
        self.command["invocations"].append(
            {
                "vector": part.label,
                "targets": list(step.targets),
                "stage": step.stage,
                "argv": ["docker", *argv],
                "variables": dict(part.variables),
            }
        )
        (self.record / "command.json").write_text(json.dumps(self.command, indent=2) + "\n")
        # buildx would record the git checkout of the tree's context (bakery's own) as the
        # provenance's source; the project's revision is the label instead (bakery.baking.attest).
        env = {**part.env, "BUILDX_GIT_INFO": "0", "BUILDX_GIT_LABELS": "0"} if attested else part.env
        try:
            tracker, result = invocation.run_with_progress(
                argv,
                env,
                self.record / "progress.jsonl",
                progress_mode=self.progress_mode,
                silent=self.settings.ci_silent_bake,
                out=self.out,
                append=True,
            )
        except BakeryError:
            plan.discard(entries)
            raise
        self.trackers.append(tracker)
        self.tally.add(tracker, owners, flatten.AGGREGATE)
        self.inputs.steps(tracker.vertices.values(), owners, flatten.AGGREGATE)
        if result.returncode != 0:
            plan.discard(entries)
            invocation.environment_gone(self.builder, result.stderr)
            # Named as the user named the targets, as ACCEPT does; command.json names the invocation.
            targets = " ".join(self.targets)
            why = attest.failure(result.stderr, part.attestation.generator if part.attestation else None)
            cause = f": {why}" if attested and why else ""
            self.error = f"ERROR {targets} [{part.label}] exit {result.returncode}{cause} (record: {self.record})"
            if attested and why:
                raise BakeFailed(f"{why}; see {self.record}", result.returncode)
            raise BakeFailed(f"bake failed with exit code {result.returncode}; see {self.record}", result.returncode)
        self.inputs.beside(entries)
        for line in plan.publish(entries):
            log.info(line)
        return tracker

    def _attestation(self, definition: Mapping, vector: matrix.Vector) -> attest.Attestation | None:
        """What the vector's pushes attach, or None when it pushes nothing or
        attestation is off; the generator is named when BAKERY_SBOM_GENERATOR
        gives it, else after the tree's own is built."""
        if not self.settings.attest or not index.pushes(definition, vector.as_dict()):
            return None
        if self.revision is None:
            source = self.settings.tree_value("source_location")
            local = None if "://" in source or source.startswith("git@") else ROOT / source
            self.revision = attest.revision(self.settings.revision, os.environ, local)
        return attest.Attestation(self.revision, self.settings.sbom_generator or None)

    def _attested(self, part: _Part, step: Invocation) -> dict | None:
        """The extra fields of a generated invocation: the generator's own
        output, or a push's attestations."""
        if part.attestation is None or step.output is None or part.flat is None:
            return None
        (instance,) = step.targets
        if instance.startswith(f"{attest.GENERATOR}--"):
            return attest.generator_output(self.found.driver, part.pushed, instance)
        if index.pushes_to_registry(step.output.get("output") or ()):
            args = attest.uniform_args(part.flat.dockerfile, step.output.get("args") or {})
            return part.attestation.fields(args)
        return None

    def _generator_built(
        self, name: str, step: Invocation, bake_json: Path, current: attest.Attestation
    ) -> attest.Attestation:
        """The generator as the builder resolves it: the engine's own image
        (docker driver), else the pushed image by digest."""
        import dataclasses

        assert step.output is not None
        (instance,) = step.targets
        body = json.loads(bake_json.read_text())["target"][instance]
        (tag, *_) = body.get("tags") or [""]
        ref = tag
        if self.found.driver != "docker":
            metadata = json.loads((self.record / f"metadata.{name}.json").read_text())
            digest = (metadata.get(instance) or {}).get("containerimage.digest", "")
            if not digest:
                raise BakeFailed(f"the SBOM generator {tag} was pushed without a digest; see {self.record}", 1)
            ref = f"{tag.rsplit(':', 1)[0]}@{digest}"
        log.info("SBOM generator: %s", ref)
        return dataclasses.replace(current, generator=ref)

    def _summarize(self, vectors: Sequence[matrix.Vector]) -> None:
        lines = self.tally.lines() if self.mode == "rawjson" else []
        self.inputs.write(self.record)
        (self.record / "summary.txt").write_text("\n".join(lines) + "\n")
        if self.mode == "rawjson":
            from bakery.baking import summary as job_summary

            label = " ".join(_label(v) for v in vectors)
            job_summary.for_job(
                self.settings,
                self.targets,
                tuple(v.as_dict() for v in vectors),
                label,
                self.tally.by_target(),
                self.record,
            )
        for line in lines:
            self.out(line)


__all__ = ["ROOT", "run", "split_targets"]
