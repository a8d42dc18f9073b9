"""`invoke plan`: the shape of the tree for the chosen vectors, from real
`docker buildx bake --print` output: which instances are shared and by how
many vectors, the total against a naive per-vector build, and a DOT graph."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bakery import bake
from bakery.errors import UsageError
from bakery.matrix import Vector
from bakery.settings import Settings

_FAMILY = re.compile(r"^(?P<family>.+?)(--|$)")


def family_of(instance: str) -> str:
    match = _FAMILY.match(instance)
    return match["family"] if match else instance


@dataclass
class Plan:
    # instance -> labels of the vectors that need it
    users: dict[str, set[str]] = field(default_factory=dict)
    # instance -> instances it links to (contexts "target:...")
    links: dict[str, set[str]] = field(default_factory=dict)
    per_vector: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.users)

    @property
    def naive(self) -> int:
        return sum(self.per_vector.values())

    def shared(self) -> dict[str, int]:
        return {name: len(users) for name, users in self.users.items() if len(users) > 1}

    def dot(self) -> str:
        lines = ["digraph tree {", "  rankdir=BT;", "  node [shape=box, fontsize=10];"]
        for name in sorted(self.users):
            shade = "lightblue" if len(self.users[name]) > 1 else "white"
            lines.append(f'  "{name}" [style=filled, fillcolor={shade}];')
        for name, parents in sorted(self.links.items()):
            lines.extend(f'  "{name}" -> "{parent}";' for parent in sorted(parents))
        lines.append("}")
        return "\n".join(lines) + "\n"


def build(settings: Settings, targets: Sequence[str], vectors: Sequence[Vector]) -> Plan:
    targets = bake.check_targets(targets)
    plan = Plan()
    for vector in vectors:
        block = {k: (v,) for k, v in vector.items}
        definition = bake.print_definition(settings, targets, bake.bake_env(settings, block))
        instances = definition.get("target", {})
        plan.per_vector[vector.label()] = len(instances)
        for name, target in instances.items():
            plan.users.setdefault(name, set()).add(vector.label())
            parents = {
                c.removeprefix("target:") for c in (target.get("contexts") or {}).values() if c.startswith("target:")
            }
            plan.links.setdefault(name, set()).update(parents)
    return plan


def report(plan: Plan) -> list[str]:
    shared = plan.shared()
    lines = [
        f"{count:3} vectors share {name}" for name, count in sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    ratio = plan.total / plan.naive if plan.naive else 0.0
    lines.append(
        f"{plan.total} instances for {len(plan.per_vector)} vectors; a naive per-vector build needs {plan.naive} "
        f"({ratio:.2f} of naive, {len(shared)} shared)"
    )
    return lines


def prepare_out(directory: Path) -> Path:
    """Create the output directory first: a bad --out fails before any work."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {directory}: cannot create the directory ({exc.strerror})") from exc
    return directory


def write_graph(plan: Plan, directory: Path) -> list[Path]:
    dot = directory / "tree.dot"
    dot.write_text(plan.dot())
    written = [dot]
    if shutil.which("dot"):
        svg = directory / "tree.svg"
        subprocess.run(["dot", "-Tsvg", str(dot), "-o", str(svg)], check=True)
        written.append(svg)
    return written
