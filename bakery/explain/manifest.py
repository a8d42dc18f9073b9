"""The inputs manifest of a run (`runs/<id>/inputs.json`, docs/why-rebuild.md):
what lies behind each instance's cache keys, so a later run can say why a
step ran (bakery/explain/reasons.py).

BuildKit reports no cache keys, and rawjson step digests change with every
local-context session, so steps are matched by instance and step name, and
their inputs are taken from the definition: per instance the resolved build
args, the parents (`target:` links), the context files it reads with content
digests, the digest of its generated stages' text and its cache-mount ids;
per vector the cache imports (and whether each was found) and exports; per
run the builder, driver, engine and buildx versions and the trust scope.
Digests, never copies: a record is a few kB per instance.

A local export also gets the manifest beside the entry's version
(`bakery-inputs.json`, docs/cache.md): a fresh runner that imports the entry
can explain against the run that exported it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from bakery.cache.location import VERSIONS, registry_tag
from bakery.cache.policy import CachePlan
from bakery.explain.context import Contexts, mount_ids

SCHEMA = 1
FILE = "inputs.json"
# Beside a local cache entry's version (bakery/cache/store.py's layout).
BESIDE = "bakery-inputs.json"
_LINK = "target:"
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
# BuildKit's vertex for a cache import (solver/llbsolver: "importing cache manifest from <ref>").
_IMPORTING = "importing cache manifest from "
# A step's state as bakery.baking.progress names it; the strongest wins across invocations.
_RANK = {"error": 3, "ran": 2, "running": 1, "cached": 0, "canceled": -1}


class Step(Protocol):
    """A rawjson step as bakery.baking.progress.Vertex reads it."""

    @property
    def digest(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def target(self) -> str | None: ...
    @property
    def stage(self) -> str | None: ...
    @property
    def text(self) -> str: ...
    @property
    def is_step(self) -> bool: ...
    @property
    def error(self) -> str: ...


class Engine(Protocol):
    """What the probe (bakery.engine.probe.Probe) knows of the engine."""

    @property
    def daemon_id(self) -> str: ...
    @property
    def server_version(self) -> str: ...
    @property
    def buildx_version(self) -> str: ...
    @property
    def driver(self) -> str: ...


class Flat(Protocol):
    """The generated file (bakery.baking.flatten.Flat), as far as the record reads it."""

    @property
    def context(self) -> str: ...
    @property
    def contexts(self) -> Mapping[str, str]: ...
    @property
    def instances(self) -> tuple[str, ...]: ...
    @property
    def texts(self) -> Mapping[str, str]: ...


def step_key(name: str) -> str:
    """A step's name without its instance and counter: `<stage> <instruction>`,
    what two runs of one instance share."""
    if not name.startswith("[") or "] " not in name:
        return name
    inside, text = name[1:].split("] ", 1)
    words = inside.split(" ")
    if len(words) > 1 and "/" in words[-1]:
        words = words[:-1]
    stage = " ".join(words)
    stage = stage.split(".", 1)[1] if "." in stage else stage
    return f"{stage} {text}"


def digest(value: object) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


class Recorder:
    """Collects one run's manifest while it bakes; `write` puts it in the record."""

    def __init__(self, root: Path, plan: CachePlan, engine: Engine, builder: str) -> None:
        self.root = root
        self.plan = plan
        self.data: dict = {
            "schema": SCHEMA,
            "run": plan.run_id,
            "project": plan.project,
            "builder": builder,
            "driver": engine.driver,
            "engine": engine.server_version,
            "daemon": engine.daemon_id,
            "buildx": engine.buildx_version,
            "trusted": plan.trusted,
            "scope": plan.scope,
            "cache_scope": plan.cache_scope,
            "vectors": [],
            "instances": {},
        }
        # generated stage name (bakery.baking.flatten.stage_name) -> instance
        self.owners: dict[str, str] = {}

    def vector(self, n: int, vector: Mapping[str, str], entry: str, definition: Mapping, flat: Flat | None) -> None:
        """A vector's instances and cache before its first invocation."""
        targets = definition.get("target") or {}
        name = self.plan.entry_name(entry)
        imports = []
        for location in self.plan.imports:
            source = location.source(name)
            found: bool | None = source is not None if location.kind == "local" else None
            row = {"location": location.base, "kind": location.kind, "entry": name, "found": found, "error": ""}
            if found:
                row |= _exporter(Path(location.base), name)
            imports.append(row)
        exports = [self.plan.export.base] if self.plan.export is not None else []
        self.data["vectors"].append({"vector": dict(vector), "entry": name, "imports": imports, "exports": exports})
        contexts = Contexts(self.root, flat.context, flat.contexts) if flat is not None else None
        for instance in flat.instances if flat is not None else targets:
            target = targets.get(instance) or {}
            text = flat.texts.get(instance, "") if flat is not None else ""
            record = {
                "vector": n,
                "args": dict(sorted((target.get("args") or {}).items())),
                "parents": sorted(
                    v.removeprefix(_LINK) for v in (target.get("contexts") or {}).values() if v.startswith(_LINK)
                ),
                "files": contexts.of(text) if contexts is not None else {},
                "dockerfile": digest(text) if text else "",
                "mounts": [_expand(m, target.get("args") or {}) for m in mount_ids(text)],
                "steps": [],
            }
            record["inputs"] = digest({k: record[k] for k in ("args", "files", "dockerfile", "mounts")})
            self.data["instances"].setdefault(instance, record)

    def steps(self, vertices: Iterable[Step], owners: Mapping[str, str] | None, aggregate: str) -> None:
        """One invocation's steps, each credited to its instance (as
        bakery.baking.progress.Tally credits them), and its failed cache imports."""
        for step in vertices:
            if step.name.startswith(_IMPORTING) and step.state != "running":
                self._imported(step.name.removeprefix(_IMPORTING), step.error)
            base = step.text.removeprefix("FROM ").split("@sha256:") if step.text.startswith("FROM ") else []
            if not step.is_step and len(base) != 2:
                continue
            names = [n for n in (step.target, step.stage) if n]
            if owners is not None:
                heads = [n.split(".", 1)[0] for n in names]
                if aggregate in heads:
                    continue
                instance = next((owners[h] for h in heads if h in owners), None)
            else:
                instance = step.target
            record = self.data["instances"].get(instance or "")
            if record is None:
                continue
            if len(base) == 2:
                # The base image as the engine resolved it: an input no definition shows.
                record.setdefault("bases", {})[base[0]] = "sha256:" + base[1]
                continue
            key = step_key(step.name)
            old = next((s for s in record["steps"] if step_key(s["name"]) == key), None)
            if old is None:
                record["steps"].append({"name": step.name, "state": step.state, "digest": step.digest})
            elif _RANK.get(step.state, 0) > _RANK.get(old["state"], 0):
                old["state"] = step.state

    def _imported(self, ref: str, error: str) -> None:
        """A registry import as BuildKit reported it: found, or failed with
        its error (the build goes on without it)."""
        for vector in self.data["vectors"]:
            for row in vector["imports"]:
                if row["kind"] == "registry" and ref.strip() == f"{row['location']}:{registry_tag(row['entry'])}":
                    row["found"], row["error"] = not error, error

    def text(self) -> str:
        for record in self.data["instances"].values():
            record["ran"] = any(s["state"] in ("ran", "error") for s in record["steps"])
        return json.dumps(self.data, sort_keys=True, separators=(",", ":")) + "\n"

    def write(self, record: Path) -> None:
        (record / FILE).write_text(self.text())

    def beside(self, entries: Sequence[str]) -> None:
        """The manifest beside this run's local export versions, before they
        are published (bakery/cache/store.py swaps the entry to them)."""
        export = self.plan.export
        if export is None or export.kind != "local":
            return
        text = self.text()
        for entry in entries:
            version = Path(export.base) / VERSIONS / self.plan.entry_name(entry) / self.plan.run_id
            if (version / "index.json").is_file():
                (version / BESIDE).write_text(text)


def _expand(value: str, args: Mapping[str, str]) -> str:
    """`${name}` and `$name` replaced by the instance's build args, as the
    step names show them; unknown names stay."""
    return _VAR.sub(lambda m: args.get(m[1] or m[2], m[0]), value)


def _exporter(base: Path, name: str) -> dict[str, str]:
    """The run that exported a local entry (its version directory's name)
    and where its manifest lies, if it left one."""
    try:
        version = Path(os.readlink(base / name))
    except OSError:
        return {}
    manifest = base / version / BESIDE
    return {"exporter": version.name, "manifest": str(manifest) if manifest.is_file() else ""}
