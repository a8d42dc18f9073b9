"""Why a step ran: the first reason in the chain, from two runs' inputs
manifests (bakery/explain/manifest.py), in users' words (docs/why-rebuild.md).

For each step that ran, the baseline is the most recent earlier run of the
same instance in which that step was CACHED, or ran with other inputs; else
one on the same engine and builder in which it ran with these inputs (its
result was there after it: a prune took it); with no such run here, the
manifest beside the cache entry the run imported (the run that exported it). The reasons, in the order they are tried:

1. a parent instance ran in this run (named, with its own first reason);
2. a context file changed, was added or removed (content digests);
3. the instance's generated stages changed: the trust scope's keys
   (`cache_scope`), a build arg, a cache-mount id, or the text itself; a build
   arg that does not reach the stages' text reaches no cache key, so it is
   never blamed;
4. the inputs are equal: on the same BuildKit state the result is gone (the
   builder was pruned or collected); on another engine, no cache import, no
   entry, a failed import, or an entry that no longer held the step; a changed
   builder, engine or buildx;
5. unknown, with the fields in which the two records differ. Never a guess.

A step that did not run is never explained, and never blamed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from bakery.explain import records
from bakery.explain.manifest import step_key
from bakery.explain.records import Record

RAN = ("ran", "error")
_ENVIRONMENT = ("builder", "driver", "engine", "buildx")


@dataclass(frozen=True)
class Reason:
    kind: str
    text: str
    # The compared run ("" when there is none).
    against: str = ""
    details: tuple[str, ...] = ()
    # Where the compared record was read: "" for a run record here, else the
    # cache entry whose manifest it is (the run that exported it).
    origin: str = ""


@dataclass(frozen=True)
class Explained:
    instance: str
    step: str
    state: str
    reason: Reason


def short(digest: str) -> str:
    return f"{digest.removeprefix('sha256:')[:12]}…" if digest.startswith("sha256:") else digest or "none"


def change(old: str, new: str) -> str:
    """Two digests as the reasons show them: `sha256 a1b2… → c3d4…`."""
    return f"sha256 {short(old)} → {short(new)}"


def family(instance: str) -> str:
    return instance.split("--", 1)[0]


class Explainer:
    """Explains one run's steps against its history (earlier records, newest
    first) or against one given run."""

    def __init__(self, current: Record, history: Sequence[Record], *, against: Record | None = None) -> None:
        self.current = current
        self.history = list(history)
        self.against = against
        self._memo: dict[tuple[str, str], Reason] = {}

    def explain(self, targets: Iterable[str] = ()) -> list[Explained]:
        wanted = set(targets)
        out = []
        for instance, record in sorted(self.current.instances.items()):
            if wanted and instance not in wanted and family(instance) not in wanted:
                continue
            for step in sorted(record.get("steps") or [], key=lambda s: s["name"]):
                if step.get("state") in RAN:
                    reason = self.step_reason(instance, step["name"])
                    out.append(Explained(instance, step["name"], step["state"], reason))
        return out

    def step_reason(self, instance: str, name: str) -> Reason:
        base, base_instance = self.baseline(instance, name)
        return self.instance_reason(instance, base, base_instance)

    def baseline(self, instance: str, name: str) -> tuple[Record | None, str]:
        """The record to compare with, and the instance in it."""
        if self.against is not None:
            if instance in self.against.instances:
                return self.against, instance
            kin = [i for i in self.against.instances if family(i) == family(instance)]
            return (self.against, kin[0]) if len(kin) == 1 else (self.against, "")
        mine = self.current.instances[instance]
        key = step_key(name)
        fallback = None
        # A run on this same BuildKit state in which the step ran with these
        # inputs: its result was there after it, so it is gone now.
        here = None
        for record in self.history:
            theirs = record.instances.get(instance)
            if theirs is None:
                continue
            step = next((s for s in theirs.get("steps") or [] if step_key(s["name"]) == key), None)
            other = _inputs(theirs) != _inputs(mine)
            if step is not None and (step.get("state") == "cached" or (step.get("state") in RAN and other)):
                return record, instance
            if (
                step is None
                and fallback is None
                and (other or any(s.get("state") == "cached" for s in theirs["steps"]))
            ):
                fallback = record
            if here is None and step is not None and step.get("state") == "ran" and _same_state(record, self.current):
                here = record
        if fallback is not None or here is not None:
            return fallback or here, instance
        exporter = records.exporter(self.current.vector_of(instance))
        if exporter is not None and instance in exporter.instances:
            return exporter, instance
        # No run had this instance: an axis value is new here (feat_set
        # default, then none). The latest run that holds one instance of the
        # same family, the vector it baked, says which of its inputs differ.
        for record in self.history:
            kin = [name for name in record.instances if family(name) == family(instance)]
            if len(kin) == 1:
                return record, kin[0]
        return None, ""

    def instance_reason(self, instance: str, base: Record | None, base_instance: str) -> Reason:
        key = (instance, base.run if base is not None else "")
        if key not in self._memo:
            reason = self._reason(instance, base, base_instance)
            if base is not None and base.origin != "record" and reason.against == base.run:
                reason = replace(reason, origin=base.origin)
            self._memo[key] = reason
        return self._memo[key]

    def _reason(self, instance: str, base: Record | None, base_instance: str) -> Reason:
        cur = self.current
        mine = cur.instances[instance]
        for parent in mine.get("parents") or []:
            theirs = cur.instances.get(parent)
            if theirs is not None and theirs.get("ran"):
                return self._parent(parent)
        if base is None:
            return self._no_baseline(instance)
        if not base_instance:
            fields = tuple(differing(cur, base, instance))
            return Reason(
                "unknown",
                f"unknown: run {base.run} has no record of {instance} or of its family; the records differ in "
                + (", ".join(fields) or "no recorded field"),
                base.run,
                fields,
            )
        theirs = base.instances[base_instance]
        against = base.run
        changed = _files(theirs.get("files") or {}, mine.get("files") or {})
        if changed:
            return Reason("file", changed[0], against, tuple(changed))
        bases = _bases(theirs.get("bases") or {}, mine.get("bases") or {})
        if bases:
            return Reason("base", bases[0], against, tuple(bases))
        if theirs.get("dockerfile") != mine.get("dockerfile"):
            return self._stages(cur, base, theirs, mine)
        return self._environment(instance, base, base_instance)

    def _parent(self, parent: str) -> Reason:
        # The parent's own first reason, for its first step that ran.
        step = next(s for s in self.current.instances[parent]["steps"] if s.get("state") in RAN)
        cause = self.step_reason(parent, step["name"])
        root = cause.details[0] if cause.kind == "parent" else parent
        first = cause.details[1] if cause.kind == "parent" else cause.text
        return Reason(
            "parent", f"the parent {parent} ran; the first cause, in {root}: {first}", cause.against, (root, first)
        )

    def _stages(self, cur: Record, base: Record, theirs: dict, mine: dict) -> Reason:
        """The generated stages' text changed: say what in it."""
        old_args, new_args = theirs.get("args") or {}, mine.get("args") or {}
        names = sorted(n for n in {*old_args, *new_args} if old_args.get(n) != new_args.get(n))
        if "cache_scope" in names or cur.data.get("cache_scope") != base.data.get("cache_scope"):
            return Reason(
                "scope",
                f"the trust scope differs: this run ({_trust(cur)}) could not use the steps of run {base.run} "
                f"({_trust(base)}): scoped keys remain in this stage",
                base.run,
            )
        if names:
            rows = [f"`{n}`: `{old_args.get(n, '(unset)')}` → `{new_args.get(n, '(unset)')}`" for n in names]
            return Reason("arg", f"a build arg changed: {rows[0]}", base.run, tuple(rows))
        old_mounts, new_mounts = theirs.get("mounts") or [], mine.get("mounts") or []
        if old_mounts != new_mounts:
            gone = sorted(set(old_mounts) - set(new_mounts))
            new = sorted(set(new_mounts) - set(old_mounts))
            return Reason(
                "mounts", f"a cache-mount id changed: {', '.join(gone) or '-'} → {', '.join(new) or '-'}", base.run
            )
        return Reason(
            "dockerfile",
            f"the Dockerfile stage changed ({change(theirs.get('dockerfile', ''), mine.get('dockerfile', ''))})",
            base.run,
        )

    def _environment(self, instance: str, base: Record, base_instance: str) -> Reason:
        """The inputs are equal: where did the result go?"""
        cur = self.current
        same_state = _same_state(cur, base)
        changed = [
            f"{k} `{base.data.get(k)}` → `{cur.data.get(k)}`"
            for k in _ENVIRONMENT
            if cur.data.get(k) != base.data.get(k)
        ]
        if same_state and not changed:
            return Reason(
                "pruned",
                f"the inputs are unchanged but the result is gone: the builder `{cur.data.get('builder')}` was pruned "
                f"(or its garbage collection removed the step) since run {base.run}",
                base.run,
            )
        if cur.data.get("daemon") == base.data.get("daemon"):
            return Reason("engine", f"the engine, BuildKit or builder changed: {'; '.join(changed)}", base.run)
        imports = cur.vector_of(instance).get("imports") or []
        cache = self._imports(instance, imports)
        if cache is not None:
            return Reason(cache.kind, cache.text, base.run, cache.details)
        if changed:
            return Reason("engine", f"the engine, BuildKit or builder changed: {'; '.join(changed)}", base.run)
        entry: dict = next((r for r in imports if r.get("found")), {})
        return Reason(
            "evicted",
            f"the inputs are unchanged but the result is gone: the cache entry {entry.get('entry', '')} "
            f"no longer held this step (evicted, or exported by another run since {base.run})",
            base.run,
        )

    def _imports(self, instance: str, imports: list[dict]) -> Reason | None:
        """No import, no entry, a failed import; None when an entry was imported."""
        if not imports:
            return Reason("no-import", "no cache import on this runner: a fresh builder with no shared cache set")
        if any(r.get("found") for r in imports):
            return None
        failed = [r for r in imports if r.get("error")]
        # A registry answers a tag it does not hold with "not found" (BuildKit's
        # "failed to configure registry cache importer: <ref>: not found").
        absent = [r for r in failed if r["error"].endswith("not found")]
        if absent and len(absent) == len(failed):
            row = absent[0]
            return Reason(
                "no-entry",
                f"the shared cache had no entry for this instance: {row['entry']} in {row['location']} "
                "(the registry answered: not found)",
            )
        if failed:
            row = failed[0]
            return Reason(
                "import-failed", f"the import of {row['entry']} from {row['location']} failed: {row['error']}"
            )
        row = imports[0]
        return Reason(
            "no-entry", f"the shared cache had no entry for this instance: {row['entry']} in {row['location']}"
        )

    def _no_baseline(self, instance: str) -> Reason:
        cache = self._imports(instance, self.current.vector_of(instance).get("imports") or [])
        if cache is not None:
            if cache.kind == "no-import":
                return Reason(cache.kind, cache.text + f" (and no earlier run of {family(instance)} here)")
            return cache
        return Reason(
            "unknown",
            "unknown: no earlier record of this instance to compare with: no run here, "
            "and the imported cache entry carries no inputs manifest",
        )


def _same_state(a: Record, b: Record) -> bool:
    """Both runs baked on one BuildKit state: the same engine and builder."""
    return a.data.get("daemon") == b.data.get("daemon") and a.data.get("builder") == b.data.get("builder")


def _inputs(record: dict) -> tuple[str, dict]:
    return record.get("inputs", ""), record.get("bases") or {}


def _bases(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Base images the engine resolved to another digest (one only in one
    record changed with the stage text, which says so)."""
    return [
        f"the base image changed: {ref} ({change(old[ref], new[ref])})"
        for ref in sorted(set(old) & set(new))
        if old[ref] != new[ref]
    ]


def _trust(record: Record) -> str:
    trust = "trusted" if record.data.get("trusted") else f"untrusted, scope {record.data.get('scope')}"
    keys = record.data.get("cache_scope")
    return f"{trust}, {'cache_scope ' + keys if keys else 'shared keys'}"


def _files(old: dict[str, str], new: dict[str, str]) -> list[str]:
    rows = []
    for path in sorted({*old, *new}):
        if path not in old:
            rows.append(f"a file was added: {path}")
        elif path not in new:
            rows.append(f"a file was removed: {path}")
        elif old[path] != new[path]:
            rows.append(f"a file changed: {path} ({change(old[path], new[path])})")
    return rows


def differing(a: Record, b: Record, instance: str) -> list[str]:
    """The fields in which two records of an instance differ (for unknown)."""
    fields = [
        k
        for k in sorted({*a.data, *b.data})
        if k not in ("run", "vectors", "instances") and a.data.get(k) != b.data.get(k)
    ]
    mine, theirs = a.instances.get(instance), b.instances.get(instance)
    if mine is None or theirs is None:
        return [*fields, f"instances ({instance} in one record only)"]
    return [
        *fields,
        *(k for k in sorted({*mine, *theirs} - {"steps", "ran", "vector"}) if mine.get(k) != theirs.get(k)),
    ]
