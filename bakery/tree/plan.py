"""`invoke plan`: the shape of the tree for the chosen vectors, from real
`docker buildx bake --print` output: which instances are shared and by how
many vectors, the total against a naive per-vector build, and a picture.

One `--print` covers the whole selection: bakery passes the
selection's cross-product arrays and the exact `vectors` list (the tree uses
the list when it knows it). Each vector's instances are then its own closure
over the `target:` links, starting from its instances of the requested
targets, so excluded vectors never count even when the tree printed them.

The picture is a family graph: one box per family with
its instance count for the selection and its sharing. The instance graph is
an option (`instances=True`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bakery.config.matrix import Vector, name_safe
from bakery.config.settings import Settings
from bakery.errors import BakeryError, UsageError
from bakery.tree import bakefile, hclgen, sharing

# Graph style: fonts in points; graphviz's SVG unit is the point (1/72 in), so
# 12 pt is 16 px at 96 dpi. No size or ratio attribute: nothing is shrunk.
FONT_PT = 12


def family(instance: str) -> str:
    """Instances are named family--v1--v2...; family names hold no `--`."""
    return instance.split("--", 1)[0]


@dataclass
class Plan:
    # instance -> labels of the vectors that need it
    users: dict[str, set[str]] = field(default_factory=dict)
    # instance -> instances it links to (contexts "target:...")
    links: dict[str, set[str]] = field(default_factory=dict)
    per_vector: dict[str, int] = field(default_factory=dict)
    # instance -> the key of its build (bakery.tree.sharing): instances with
    # one key are one build whatever their names
    builds: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.users)

    @property
    def naive(self) -> int:
        return sum(self.per_vector.values())

    def shared(self) -> dict[str, int]:
        return {name: len(users) for name, users in self.users.items() if len(users) > 1}

    def distinct(self, instances: Sequence[str] | None = None) -> int:
        """How many builds the instances are (each its own when keys are unknown)."""
        names = self.users if instances is None else instances
        return len({self.builds.get(name, name) for name in names})

    def families(self) -> dict[str, list[str]]:
        """family -> its instances in the selection."""
        found: dict[str, list[str]] = {}
        for name in sorted(self.users):
            found.setdefault(family(name), []).append(name)
        return found

    def family_links(self) -> set[tuple[str, str]]:
        return {
            (family(name), family(parent))
            for name, parents in self.links.items()
            if name in self.users
            for parent in parents
            if family(parent) != family(name)
        }

    def sharing(self, name: str) -> str:
        """How a family's instances are shared: 'shared by 11 of 11 vectors',
        'each shared by 2 of 11', '1-3 of 11 each', or 'not shared'."""
        counts = sorted(len(self.users[i]) for i in self.families()[name])
        vectors = len(self.per_vector)
        if counts[-1] == 1:
            return "not shared"
        if len(counts) == 1:
            return f"shared by {counts[0]} of {vectors} vectors"
        if counts[0] == counts[-1]:
            return f"each shared by {counts[0]} of {vectors}"
        return f"shared by {counts[0]}-{counts[-1]} of {vectors}"

    def family_dot(self, fill: Mapping[str, str] | None = None) -> str:
        """One box per family; `fill` (family -> colour) replaces the sharing
        shade, e.g. with what each family's steps did in a bake."""
        lines = [
            "digraph families {",
            "  rankdir=RL;",
            f'  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize={FONT_PT}];',
            "  edge [arrowsize=0.7];",
        ]
        for name, instances in self.families().items():
            share = self.sharing(name)
            shade = "white" if share == "not shared" else "lightblue"
            shade = (fill or {}).get(name, shade)
            count = f"{len(instances)} instance{'s' if len(instances) != 1 else ''}"
            lines.append(f'  "{name}" [label="{name}\\n{count}\\n{share}", fillcolor={shade}];')
        lines.extend(f'  "{child}" -> "{parent}";' for child, parent in sorted(self.family_links()))
        lines.append("}")
        return "\n".join(lines) + "\n"

    def dot(self) -> str:
        """The instance graph (every instance a box): large for wide matrices."""
        lines = ["digraph tree {", "  rankdir=BT;", f"  node [shape=box, fontsize={FONT_PT}];"]
        for name in sorted(self.users):
            shade = "lightblue" if len(self.users[name]) > 1 else "white"
            lines.append(f'  "{name}" [style=filled, fillcolor={shade}];')
        for name, parents in sorted(self.links.items()):
            lines.extend(f'  "{name}" -> "{parent}";' for parent in sorted(parents))
        lines.append("}")
        return "\n".join(lines) + "\n"


def build(settings: Settings, targets: Sequence[str], vectors: Sequence[Vector]) -> Plan:
    targets = bakefile.check_targets(targets)
    if not vectors:
        raise UsageError("the selection matches no vector of the matrix; see `invoke matrix`")
    env = bakefile.bake_env(settings, bakefile.block_of(vectors), vectors=[v.as_dict() for v in vectors])
    definition = bakefile.print_definition(settings, targets, env)
    found = from_definition(definition, targets, vectors, _positions_of(settings))
    found.builds = sharing.builds(definition, set(found.users), sharing.reader(bakefile.ROOT))
    return found


def _positions_of(settings: Settings) -> dict[str, tuple[int, ...]] | None:
    """Each family's axis positions, from the tree (hclgen); None for a bake
    file that has no family blocks of ours (then they are learnt from names)."""
    tree = hclgen.families(bakefile.bake_file(settings).read_text())
    if not tree:
        return None
    names = settings.definition.names
    return {f: tuple(names.index(a) for a in axes) for f, axes in hclgen.family_axes(settings.definition, tree).items()}


def _expand(groups: Mapping[str, Sequence[str]], instances: Mapping[str, object], names: Sequence[str]) -> set[str]:
    """Requested names to instances, through the printed groups (a family
    prints as a group of its instances)."""
    found: set[str] = set()
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in instances:
            found.add(name)
        todo.extend(groups.get(name, ()))
    return found


def _positions(instance: str, values: Sequence[str]) -> tuple[int, ...] | None:
    """Which axes an instance's values (after the family) come from, when it
    is this vector's: a family varies over a subset of the axes, in axis order."""
    found: list[int] = []
    start = 0
    for part in instance.split("--")[1:]:
        try:
            start = values.index(part, start)
        except ValueError:
            return None
        found.append(start)
        start += 1
    return tuple(found)


def from_definition(
    definition: Mapping,
    targets: Sequence[str],
    vectors: Sequence[Vector],
    positions: Mapping[str, tuple[int, ...]] | None = None,
) -> Plan:
    instances: Mapping[str, Mapping] = definition.get("target", {})
    groups = {name: group.get("targets", []) for name, group in definition.get("group", {}).items()}
    links = {
        name: {c.removeprefix("target:") for c in (t.get("contexts") or {}).values() if c.startswith("target:")}
        for name, t in instances.items()
    }
    tops: dict[str, set[str]] = {}
    for name in _expand(groups, instances, targets):
        tops.setdefault(family(name), set()).add(name)
    # family -> the axis positions of its values: from the tree when known,
    # else learnt from its first match (a guess when two axes share a value).
    axes: dict[str, tuple[int, ...]] = dict(positions or {})
    plan = Plan()
    for vector in vectors:
        values = [name_safe(v) for v in vector.values()]
        todo = []
        for fam, names in tops.items():
            if fam not in axes:
                found = next((p for p in (_positions(n, values) for n in names) if p is not None), None)
                if found is None:
                    continue
                axes[fam] = found
            name = "--".join([fam, *(values[i] for i in axes[fam])])
            if name in names:
                todo.append(name)
        closure: set[str] = set()
        while todo:
            name = todo.pop()
            if name not in closure:
                closure.add(name)
                todo.extend(links.get(name, ()))
        plan.per_vector[vector.label()] = len(closure)
        for name in closure:
            plan.users.setdefault(name, set()).add(vector.label())
            plan.links.setdefault(name, set()).update(links.get(name, ()))
    return plan


def report(plan: Plan) -> list[str]:
    shared = plan.shared()
    lines = [
        f"{count:3} vectors share {name}" for name, count in sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    ratio = plan.total / plan.naive if plan.naive else 0.0
    # Families whose instances are fewer builds than names (bakery.tree.sharing).
    for name, instances in plan.families().items():
        builds = plan.distinct(instances)
        if builds < len(instances):
            lines.append(f"{name}: {len(instances)} instances are {builds} build{'s' if builds != 1 else ''}")
    lines.append(
        f"{plan.total} instances for {len(plan.per_vector)} vectors; a naive per-vector build needs {plan.naive} "
        f"({ratio:.2f} of naive, {len(shared)} shared)"
    )
    if plan.builds and plan.distinct() < plan.total:
        builds = plan.distinct()
        lines.append(f"{builds} distinct builds ({builds / plan.naive:.2f} of naive): names differ, definitions do not")
    return lines


def prepare_out(directory: Path) -> Path:
    """Create the output directory first: a bad --out fails before any work."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {directory}: cannot create the directory ({exc.strerror})") from exc
    return directory


def write_graph(
    plan: Plan, directory: Path, *, instances: bool = False, fill: Mapping[str, str] | None = None
) -> list[Path]:
    """tree.dot, and tree.svg and tree.png when graphviz is installed; `fill`
    colours the family boxes (Plan.family_dot)."""
    import shutil

    from bakery.engine import process

    dot = directory / "tree.dot"
    dot.write_text(plan.dot() if instances else plan.family_dot(fill))
    written = [dot]
    if shutil.which("dot"):
        # SVG and PNG concurrently: the PNG (cairo) is most of graphviz's time.
        paths = [directory / f"tree.{fmt}" for fmt in ("svg", "png")]
        argvs = [("dot", f"-T{path.suffix[1:]}", str(dot), "-o", str(path)) for path in paths]
        for path, result in zip(paths, process.run_all(argvs), strict=True):
            if result.returncode != 0:
                tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
                raise BakeryError(
                    f"graphviz could not draw {dot} as {path.suffix[1:]} (exit {result.returncode}: {tail})"
                )
            written.append(path)
    return written
