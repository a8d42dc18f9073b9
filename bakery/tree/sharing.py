"""Which instances are one build: instances whose names differ but whose
definitions, as `--print` resolves them, are the same, so BuildKit makes their
steps once (docs/tree.md, "What cells share").

Instance names carry every axis their family varies over, so two system
targets of one architecture (x86-64 v1 and v3) are two names for one root, and
a cross vector's build side is the native vector's. The names alone would say
nothing is shared; the definitions say what is.

An instance's build is keyed by what its steps depend on: its Dockerfile and
stage, its build args, its named contexts (a linked parent by the parent's
own key), and its platform, except on the build side: a stage that starts
`FROM --platform=$BUILDPLATFORM`, or from such a stage or parent, runs on the
builder's platform whatever the target's, unless it declares one of the
TARGET* args (docs.docker.com/build/building/variables/#multi-platform-build-arguments).
Every build arg counts, used or not, so two instances that differ only in an
arg their stage ignores count as two builds: the figure can miss sharing,
never claim sharing that is not there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path

from bakery.tree import dockerfile

_LINK = "target:"
_BUILD_PLATFORM = ("--platform=$BUILDPLATFORM", "--platform=${BUILDPLATFORM}")
_TARGET_ARGS = frozenset({"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT"})

# Reads a target's Dockerfile: (context, dockerfile) -> its text, or None when
# it cannot be read (then the platform always counts).
Reader = Callable[[str, str], "str | None"]


def reader(root: Path) -> Reader:
    """Dockerfiles as `--print` names them, relative to the directory bake ran in."""
    cache: dict[tuple[str, str], str | None] = {}

    def read(context: str, dockerfile: str) -> str | None:
        key = (context, dockerfile)
        if key not in cache:
            path = Path(dockerfile) if Path(dockerfile).is_absolute() else root / context / dockerfile
            try:
                cache[key] = path.read_text()
            except OSError:
                cache[key] = None
        return cache[key]

    return read


def builds(definition: Mapping, instances: set[str], read: Reader) -> dict[str, str]:
    """instance -> the key of its build, for `instances` and their parents."""
    targets: Mapping[str, Mapping] = definition.get("target", {})
    parsed: dict[tuple[str, str], dockerfile.Parsed | None] = {}
    keys: dict[str, str] = {}
    build_side: dict[str, bool] = {}

    def stage_of(target: Mapping) -> tuple[dockerfile.Parsed | None, dockerfile.Stage | None]:
        where = (target.get("context", "."), target.get("dockerfile") or "Dockerfile")
        if where not in parsed:
            text = read(*where)
            try:
                parsed[where] = dockerfile.parse(text, where[1]) if text is not None else None
            except dockerfile.NotFlat:
                parsed[where] = None
        found = parsed[where]
        if found is None or not found.stages:
            return found, None
        wanted = target.get("target")
        return found, found.find(wanted) if wanted else found.stages[-1]

    def on_build_side(name: str, target: Mapping) -> bool:
        """Whether the instance's steps run on the builder's platform."""
        if name in build_side:
            return build_side[name]
        build_side[name] = False  # a cycle is not a build side
        found, stage = stage_of(target)
        contexts = target.get("contexts") or {}
        side = False
        seen: set[int] = set()
        while found is not None and stage is not None and stage.index not in seen:
            seen.add(stage.index)
            arg_lines = [ins.head for ins in stage.body if ins.keyword == "ARG"]
            declared = {name for head in arg_lines for name, _ in dockerfile.declared_args(head)}
            if declared & _TARGET_ARGS:
                break
            if any(flag in _BUILD_PLATFORM for flag in stage.from_flags):
                side = True
                break
            if stage.base in contexts:
                value = contexts[stage.base]
                parent = value.removeprefix(_LINK)
                side = value.startswith(_LINK) and parent in targets and on_build_side(parent, targets[parent])
                break
            stage = found.find(stage.base)
        build_side[name] = side
        return side

    def key(name: str) -> str:
        if name in keys:
            return keys[name]
        target = targets.get(name, {})
        contexts = {
            ctx: ("build", key(value.removeprefix(_LINK))) if value.startswith(_LINK) else ("literal", value)
            for ctx, value in sorted((target.get("contexts") or {}).items())
        }
        platforms = [] if on_build_side(name, target) else sorted(target.get("platforms") or [])
        recipe = {
            "context": target.get("context"),
            "dockerfile": target.get("dockerfile"),
            "stage": target.get("target"),
            "args": dict(sorted((target.get("args") or {}).items())),
            "contexts": contexts,
            "platforms": platforms,
        }
        keys[name] = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
        return keys[name]

    for name in sorted(instances):
        key(name)
    return {name: keys[name] for name in instances}
