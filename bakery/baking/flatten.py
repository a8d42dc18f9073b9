"""One multi-stage Dockerfile for a bake selection (docs/decisions/fresh-runner-cache.md).

A fresh runner gets the shared cache only when one solve covers the whole
selection: bake's `target:` links make every linked target its own solve,
and a solve's cache import attaches too late for steps that another solve of
the same bake reached first. This module turns the real `docker buildx bake
--print` definition of a selection into one Dockerfile that one solve can
build:

- one named stage per target instance (`FROM <parent instance>` where the
  target has `contexts = { input = "target:<instance>" }`), its body copied
  from the family's Dockerfile, with the stages of that Dockerfile it uses
  copied too, renamed per instance (`<instance>.<stage>`);
- the instance's build args as `ARG name=value` defaults inside its stages,
  same names and values, so RUN environments and cache keys stay as they are;
- named contexts that are `target:` links become stage references; any other
  (a local directory, a git URL) stays a named build context;
- an aggregate stage that depends on every requested leaf, so that one target
  builds them all in one solve.

Nothing here knows a family by name: a family added to the tree is covered
as long as its target is built from a Dockerfile with the instructions
handled below. Instances that need another Dockerfile frontend (a
BUILDKIT_SYNTAX build arg or a parser directive: the labs frontend cannot be
fetched without a registry) are left out when nothing else builds on them,
and the caller bakes them as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bakery.tree.dockerfile import Instruction, NotFlat, Parsed, Stage, declared_args, parse

# The generated aggregate stage and bake target.
AGGREGATE = "bakery-all"
_LINK = "target:"
# Fields of a bake target that the generated file reproduces. Anything else
# (networks, ulimits, no-cache, ...) would be lost: such a selection is not flattened.
_KNOWN = frozenset(
    {
        "description",
        "context",
        "contexts",
        "dockerfile",
        "args",
        "labels",
        "target",
        "platforms",
        "output",
        "tags",
        "entitlements",
        "cache-from",
        "cache-to",
    }
)
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_STAGE = re.compile(r"[^a-z0-9._-]+")


class Route(Exception):
    """The selection keeps the documented route of linked bake targets
    (docs/tree.md, "One way to bake"): the reason says which rule sent it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def quote(value: str) -> str:
    """An ARG default that the Dockerfile frontend reads back as `value`,
    expansion and word splitting included."""
    if "\n" in value or "\r" in value:
        raise NotFlat("a build arg holds a line break, which an ARG default cannot carry")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def stage_name(instance: str, helper: str | None = None) -> str:
    name = _STAGE.sub("-", instance.lower())
    if not name[:1].isalpha():
        name = "t-" + name
    return f"{name}.{helper}" if helper else name


@dataclass(frozen=True)
class Flat:
    """The generated Dockerfile and what baking it needs."""

    dockerfile: str
    # The build context every instance shares (relative to the working directory).
    context: str
    # Named build contexts kept as they are: name -> value.
    contexts: Mapping[str, str]
    platforms: tuple[str, ...]
    # Requested instances built from the generated file, and their stage names.
    requested: tuple[str, ...]
    stages: Mapping[str, str]
    # Requested instances whose targets have real outputs (images, local exports).
    outputs: tuple[str, ...]
    # Requested instances left out of the file (another frontend): baked as before.
    left_out: tuple[str, ...]
    # Every instance in the file, parents first.
    instances: tuple[str, ...]
    entitlements: tuple[str, ...]
    # Each instance's own stages as generated: what the run record digests
    # per instance (bakery/explain/manifest.py).
    texts: Mapping[str, str]

    @property
    def aggregate(self) -> str | None:
        """The stage that builds every requested instance in one solve (None
        when one instance is requested: its own stage does)."""
        return AGGREGATE if len(self.requested) > 1 else None


def requested_instances(definition: Mapping, names: Iterable[str]) -> list[str]:
    """Target instances that `names` (targets or groups) select, in order."""
    groups = definition.get("group") or {}
    targets = definition.get("target") or {}
    found: list[str] = []

    def visit(name: str, seen: tuple[str, ...]) -> None:
        if name in targets:
            found.append(name)
        elif name in groups and name not in seen:
            for inner in groups[name].get("targets") or ():
                visit(inner, (*seen, name))
        else:
            raise NotFlat(f"{name!r} is neither a target nor a group of the definition")

    for name in names:
        visit(name, ())
    return list(dict.fromkeys(found))


def needed(definition: Mapping, names: Iterable[str]) -> list[str]:
    """The instances that baking `names` builds: the requested ones and
    every instance they link to, parents first."""
    targets = definition.get("target") or {}
    order: list[str] = []

    def visit(instance: str) -> None:
        if instance in order or instance not in targets:
            return
        for parent in _links(targets[instance]).values():
            visit(parent)
        order.append(instance)

    for instance in requested_instances(definition, names):
        visit(instance)
    return order


def is_output(target: Mapping) -> bool:
    outputs = target.get("output") or []
    return any(
        (o.get("type") if isinstance(o, Mapping) else str(o)) not in ("cacheonly", "type=cacheonly") for o in outputs
    )


def _links(target: Mapping) -> dict[str, str]:
    return {k: v.removeprefix(_LINK) for k, v in (target.get("contexts") or {}).items() if v.startswith(_LINK)}


def _other_frontend(target: Mapping) -> bool:
    return any(name.startswith("BUILDKIT_") for name in target.get("args") or {})


def flatten(
    definition: Mapping,
    names: Sequence[str],
    read: Callable[[str, str], str],
    tree: str = "the bake file",
    tree_text: str = "",
) -> Flat:
    """The Flat for the targets or groups `names` of a `--print` definition.
    `read(context, dockerfile)` returns a Dockerfile's text; `tree` names the
    bake file in errors (and `tree_text`, its text, the line). Raises Route for a selection that keeps the linked
    targets' route, NotFlat for a construct the generator does not read."""
    targets: Mapping[str, Mapping] = definition.get("target") or {}
    requested = requested_instances(definition, names)
    # Which instances the requested ones need, parents first.
    order: list[str] = []
    parents_of: dict[str, set[str]] = {}

    def visit(instance: str, path: tuple[str, ...]) -> None:
        if instance in order:
            return
        if instance in path:
            raise NotFlat(f"target {instance} links to itself", tree)
        if instance not in targets:
            raise NotFlat(f"target {instance} is linked but not in the definition", tree)
        for parent in _links(targets[instance]).values():
            parents_of.setdefault(parent, set()).add(instance)
            visit(parent, (*path, instance))
        order.append(instance)

    left_out = [i for i in requested if _other_frontend(targets[i])]
    for instance in requested:
        if instance not in left_out:
            visit(instance, ())
    for instance in order:
        if _other_frontend(targets[instance]):
            raise Route(f"{instance} needs another Dockerfile frontend and other targets build on it")
        unknown = sorted(k for k, v in targets[instance].items() if k not in _KNOWN and v not in (None, "", [], {}))
        if unknown:
            raise NotFlat(
                f"attribute {unknown[0]!r} of target {instance}, which the generated Dockerfile does not carry",
                _where(tree, tree_text, unknown[0]),
            )
    kept = [i for i in requested if i not in left_out]
    if not kept:
        raise Route("every requested target needs another Dockerfile frontend")
    contexts_seen = {targets[i].get("context", ".") for i in order}
    if len(contexts_seen) != 1:
        raise Route(f"the targets use several build contexts ({', '.join(sorted(contexts_seen))})")
    context = contexts_seen.pop()
    platforms = {tuple(targets[i].get("platforms") or ()) for i in order}
    if len(platforms) != 1:
        raise Route("the targets are built for different platforms")
    # External named contexts: one name per distinct value, the original name when it is unique.
    values_by_name: dict[str, list[str]] = {}
    for instance in order:
        for name, value in (targets[instance].get("contexts") or {}).items():
            if not value.startswith(_LINK) and value not in values_by_name.setdefault(name, []):
                values_by_name[name].append(value)
    external: dict[tuple[str, str], str] = {}
    for name, values in values_by_name.items():
        for n, value in enumerate(values):
            external[(name, value)] = name if len(values) == 1 else f"{name}-{n + 1}"
    parsed: dict[str, Parsed] = {}
    for instance in order:
        dockerfile = targets[instance].get("dockerfile") or "Dockerfile"
        if dockerfile not in parsed:
            shown = dockerfile if dockerfile.startswith("/") else f"{context.rstrip('/')}/{dockerfile}"
            parsed[dockerfile] = parse(read(context, dockerfile), shown.removeprefix("./"))
    mains = {i: _main(i, targets[i], parsed[targets[i].get("dockerfile") or "Dockerfile"]) for i in order}
    out: list[str] = []
    texts: dict[str, str] = {}
    for instance in order:
        target = targets[instance]
        dockerfile = target.get("dockerfile") or "Dockerfile"
        args = dict(target.get("args") or {})
        for name, value in args.items():
            if "\n" in value or "\r" in value:
                raise NotFlat(
                    f"build arg {name} of target {instance} holds a line break, which an ARG cannot carry", tree
                )
        own = _instance(instance, target, parsed[dockerfile], args, external, mains)
        texts[instance] = "\n\n".join(own)
        out.extend(own)
    stages = {i: stage_name(i, mains[i].name) for i in kept}
    if len(kept) > 1:
        out.append(_aggregate(order, targets, mains, [stages[i] for i in kept]))
    entitlements = sorted({e for i in order for e in targets[i].get("entitlements") or ()})
    return Flat(
        dockerfile="\n\n".join(out) + "\n",
        context=context,
        contexts={alias: value for (_, value), alias in external.items()},
        platforms=platforms.pop(),
        requested=tuple(kept),
        stages=stages,
        outputs=tuple(i for i in kept if is_output(targets[i])),
        left_out=tuple(left_out),
        instances=tuple(order),
        entitlements=tuple(entitlements),
        texts=texts,
    )


def _where(tree: str, text: str, attribute: str) -> str:
    """`file:line` of the first line that sets `attribute` in an HCL bake
    file (`--print` keeps no positions), or the file alone."""
    found = re.search(rf"^\s*{re.escape(attribute)}\s*=", text, re.MULTILINE)
    return f"{tree}:{text.count(chr(10), 0, found.start()) + 1}" if found else tree


def _main(instance: str, target: Mapping, parsed: Parsed) -> Stage:
    """The instance's target stage in its Dockerfile."""
    wanted = target.get("target")
    main = parsed.find(wanted) if wanted else (parsed.stages[-1] if parsed.stages else None)
    if main is None:
        raise NotFlat(f"stage {wanted!r} of target {instance} not found", parsed.path)
    return main


def _instance(
    instance: str,
    target: Mapping,
    parsed: Parsed,
    args: Mapping[str, str],
    external: Mapping[tuple[str, str], str],
    mains: Mapping[str, Stage],
) -> list[str]:
    """The stages of one instance: its target stage and the stages of the
    same Dockerfile it uses, in file order. Every stage is named
    `<instance>.<its stage>` (the target stage unnamed in its file: `<instance>`),
    so a step reads `[<instance>.<stage> i/n]`, as a linked target's
    `[<instance> <stage> i/n]` does (bakery.baking.progress)."""
    main = mains[instance]
    contexts = target.get("contexts") or {}

    def own(stage: Stage) -> str:
        if stage is main:
            return stage_name(instance, stage.name)
        return stage_name(instance, stage.name or str(stage.index))

    def ref(name: str) -> tuple[str, Stage | None]:
        """What a FROM or --from name means for this instance."""
        # A named context replaces a stage of the same name ("When Dockerfile
        # defines a stage with the same name it's overwritten":
        # docs.docker.com/build/ci/github-actions/named-contexts/).
        if name in contexts:
            value = contexts[name]
            if value.startswith(_LINK):
                parent = value.removeprefix(_LINK)
                return stage_name(parent, mains[parent].name), None
            return external[(name, value)], None
        stage = parsed.find(name)
        if stage is not None:
            return own(stage), stage
        if name.isdigit() and int(name) < len(parsed.stages):
            stage = parsed.stages[int(name)]
            return own(stage), stage
        return name, None

    needed: set[int] = set()

    def need(stage: Stage) -> None:
        if stage.index in needed:
            return
        needed.add(stage.index)
        for name in _references(stage):
            found = ref(name)[1]
            if found is not None:
                need(found)

    need(main)
    rendered = []
    for stage in parsed.stages:
        if stage.index not in needed:
            continue
        base, base_stage = ref(stage.base)
        if base_stage is None and base == stage.base:
            base = _substitute(stage.base, args, parsed.meta, instance, f"{parsed.path}:{stage.line}")
        lines = [f"# {instance}: {target.get('dockerfile') or 'Dockerfile'} stage {stage.name or stage.index}"]
        lines.append(" ".join(["FROM", *stage.from_flags, base, "AS", own(stage)]))
        for ins in stage.body:
            lines.append(_rewrite(ins, ref, args, parsed.meta, parsed.path))
        rendered.append("\n".join(lines))
    return rendered


def _references(stage: Stage) -> list[str]:
    names = [stage.base]
    for ins in stage.body:
        names.extend(_from_refs(ins))
    return names


def _from_refs(ins: Instruction) -> list[str]:
    if ins.keyword in ("COPY", "ADD"):
        return re.findall(r"--from=(\S+)", ins.head)
    if ins.keyword == "RUN":
        found = []
        for spec in re.findall(r"--mount=(\S+)", ins.head):
            for part in spec.split(","):
                if part.startswith("from="):
                    found.append(part.removeprefix("from="))
        return found
    return []


def _rewrite(
    ins: Instruction,
    ref: Callable[[str], tuple[str, Stage | None]],
    args: Mapping[str, str],
    meta: Mapping[str, str],
    path: str,
) -> str:
    head = ins.head
    if ins.keyword in ("COPY", "ADD"):
        head = re.sub(r"--from=(\S+)", lambda m: f"--from={ref(m[1])[0]}", head)
    elif ins.keyword == "RUN":

        def mount(match: re.Match[str]) -> str:
            parts = [
                f"from={ref(p.removeprefix('from='))[0]}" if p.startswith("from=") else p for p in match[1].split(",")
            ]
            return "--mount=" + ",".join(parts)

        head = re.sub(r"--mount=(\S+)", mount, head)
    elif ins.keyword == "ARG":
        words = []
        for name, value in declared_args(head):
            if name in args:
                words.append(f"{name}={quote(args[name])}")
            elif value is None and name in meta:
                words.append(f"{name}={quote(meta[name])}")
            else:
                words.append(name if value is None else f"{name}={value}")
        head = "ARG " + " ".join(words)
    elif ins.keyword == "ONBUILD":
        raise NotFlat("ONBUILD in a stage", f"{path}:{ins.line}")
    return ins.render(head)


def _substitute(base: str, args: Mapping[str, str], meta: Mapping[str, str], instance: str, where: str) -> str:
    """An image reference in FROM with its meta ARGs replaced by the instance's values."""

    def value(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        if name in args:
            return args[name]
        if name in meta:
            return meta[name]
        raise NotFlat(f"FROM {base} uses {name}, which has no value for target {instance}", where)

    if "$" in _VAR.sub("", base):
        # ${name:-default} and the like: the generator reads $name and ${name} only.
        raise NotFlat(
            f"FROM {base}: a form of substitution the generator does not read ($name and ${{name}} only)", where
        )
    return _VAR.sub(value, base)


def _aggregate(
    order: Sequence[str], targets: Mapping[str, Mapping], mains: Mapping[str, Stage], leaves: Sequence[str]
) -> str:
    """One stage over every requested leaf, cheap to build: a no-op RUN on
    the root image that bind-mounts each leaf (a FROM scratch leaf too)."""
    root = None
    for instance in order:
        own_root = not _links(targets[instance]) and not (targets[instance].get("contexts") or {})
        if own_root and mains[instance].base != "scratch":
            root = stage_name(instance, mains[instance].name)
            break
    if root is None:
        raise Route("no root stage with a shell to build the aggregate on")
    mounts = " \\\n    ".join(f"--mount=type=bind,from={leaf},target=/mnt/{n}" for n, leaf in enumerate(leaves))
    return "\n".join(
        [
            "# The aggregate: every requested target in one solve.",
            f"FROM {root} AS {AGGREGATE}",
            f"RUN {mounts} \\\n    true",
        ]
    )
