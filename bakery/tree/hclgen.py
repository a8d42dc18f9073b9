"""Generate bake.hcl's axis-driven parts from docker/matrix.toml.

Two marked sections are generated; everything else in bake.hcl is written by
hand:

- AXES, among the variables: each axis's singular variable (its default is the
  default vector's value) and plural JSON array (defaulting to the singular).
- TREE, among the functions: the axis list, the selection of vectors, each
  family's axes and parents, the build args each family takes from an axis,
  and sys_target's platform and CPU-level mapping.

A family's axes are the axes matrix.toml says it uses (`used_by` names the
lowest family that uses the axis) plus those of every family it builds on. The
tree's shape is read from the hand-written family blocks themselves: a family
is a `target` whose matrix is `family_cells["<name>"]`, and its parents are the
families its contexts name as `v.ref.<parent>` (or `v.ref["<parent>"]`). So an
axis added to matrix.toml plus `invoke generate` reaches that family's matrix,
instance names and build args, and every family above it, with no other edit.
`invoke generate` rewrites the sections; a unit test fails on drift.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bakery.config.matrix import Definition
from bakery.config.variables import TreeVariable, tree_variables
from bakery.errors import UsageError

BEGIN = "# BEGIN GENERATED AXES (invoke generate; source: docker/matrix.toml)\n"
END = "# END GENERATED AXES\n"
SETTINGS_BEGIN = "# BEGIN GENERATED SETTINGS (invoke generate; source: docker/variables.toml)\n"
SETTINGS_END = "# END GENERATED SETTINGS\n"
TREE_BEGIN = "# BEGIN GENERATED TREE (invoke generate; source: docker/matrix.toml and the family blocks below)\n"
TREE_END = "# END GENERATED TREE\n"

_BLOCK = re.compile(r'^target "([a-z0-9_-]+)" \{\n(.*?)^\}\n', re.S | re.M)
_CELLS = re.compile(r'matrix = \{ v = family_cells\["([a-z0-9_-]+)"\] \}')
_REF = re.compile(r'\bv\.ref(?:\.([a-z0-9_]+)|\["([a-z0-9_-]+)"\])')
_WIDTH = 116


@dataclass(frozen=True)
class Family:
    name: str
    parents: tuple[str, ...]


def families(text: str) -> list[Family]:
    """The family blocks of a bake file, in file order, with their parents."""
    found = []
    for name, body in _BLOCK.findall(text):
        cells = _CELLS.search(body)
        if cells is None:
            continue
        if cells[1] != name:
            raise UsageError(f'bake.hcl: target "{name}" reads family_cells["{cells[1]}"]; it must read its own')
        parents = tuple(dict.fromkeys(a or b for a, b in _REF.findall(body)))
        found.append(Family(name, parents))
    return found


def family_axes(definition: Definition, tree: Sequence[Family]) -> dict[str, tuple[str, ...]]:
    """Each family's axes in axis order: its own (used_by) and its parents'."""
    by_name = {f.name: f for f in tree}
    for axis in definition.axes:
        for used_by in axis.used_by or ("",):
            if used_by not in by_name:
                raise UsageError(
                    f"docker/matrix.toml axis {axis.name}: used_by = {used_by!r} is not a family of bake.hcl; "
                    f"families: {', '.join(by_name)}"
                )
    axes: dict[str, set[str]] = {}

    def visit(name: str, path: tuple[str, ...]) -> set[str]:
        if name in path:
            raise UsageError(f"bake.hcl: families link in a cycle: {' -> '.join((*path, name))}")
        if name not in by_name:
            raise UsageError(f"bake.hcl: {path[-1]} links to {name!r}, which is not a family")
        if name not in axes:
            own = {a.name for a in definition.axes if name in a.used_by}
            for parent in by_name[name].parents:
                own |= visit(parent, (*path, name))
            axes[name] = own
        return axes[name]

    for family in tree:
        visit(family.name, ())
    return {f.name: tuple(a for a in definition.names if a in axes[f.name]) for f in tree}


def render(definition: Definition) -> str:
    """The AXES section: singular and plural variables per axis."""
    blocks = []
    for axis in definition.axes:
        blocks.append(
            f"# {_line(axis.description)}\n"
            f'variable "{axis.name}" {{ default = {json.dumps(axis.default)} }}\n'
            f"# JSON array of {axis.name} values\n"
            f'variable "{axis.plural}" {{ default = jsonencode([{axis.name}]) }}\n'
        )
    return "\n" + "\n".join(blocks) + "\n"


def render_tree(definition: Definition, tree: Sequence[Family]) -> str:
    """The TREE section: functions the hand-written part builds on."""
    names = definition.names
    plurals = ", ".join(f"jsondecode({definition.axis(a).plural})" for a in names)
    axes = family_axes(definition, tree)
    groups: dict[tuple[str, ...], list[str]] = {}
    for family, its_axes in axes.items():
        groups.setdefault(its_axes, []).append(family)
    by_group = ",\n".join(
        f"    {{ for f in [\n{_wrap(_quote(members), '      ')}\n    ] : f => [{', '.join(_quote(group))}] }}"
        for group, members in groups.items()
    )
    parents = _wrap([f"{f.name} = [{', '.join(_quote(f.parents))}]" for f in tree], "    ")
    args = [f"{f.name} = [{', '.join(_quote(a.name for a in definition.axes if a.build_arg and f.name in a.used_by))}]"
            for f in tree if any(a.build_arg and f.name in a.used_by for a in definition.axes)]  # fmt: skip
    return (
        "\n"
        "# Every axis, in the fixed order of instance names.\n"
        'function "axes" {\n'
        "  params = []\n"
        f"  result = [{', '.join(_quote(names))}]\n"
        "}\n"
        "\n"
        "# The selected vectors, one object per vector with every axis as a key:\n"
        "# `vectors` if set, else the cross product of the plural arrays.\n"
        'function "selection" {\n'
        "  params = []\n"
        '  result = vectors != "" ? [for x in jsondecode(vectors) : { for a in axes() : a => x[a] }] : [\n'
        f"    for p in setproduct(\n{_wrap(plurals.split(', '), '      ')}\n"
        "    ) : { for i, a in axes() : a => p[i] }\n"
        "  ]\n"
        "}\n"
        "\n"
        "# family -> the axes it varies over: its own (matrix.toml used_by) and those\n"
        "# of the families it builds on, in the fixed order of instance names.\n"
        'function "family_axes" {\n'
        "  params = []\n"
        f"  result = merge(\n{by_group}\n  )\n"
        "}\n"
        "\n"
        "# family -> the families its contexts link to (`v.ref.<family>`).\n"
        'function "family_parents" {\n'
        "  params = []\n"
        f"  result = {{\n{parents}\n  }}\n"
        "}\n"
        "\n"
        "# family -> the axes matrix.toml passes to it as build args (`v.args`).\n"
        'function "family_args" {\n'
        "  params = []\n" + (f"  result = {{\n{_wrap(args, '    ')}\n  }}\n" if args else "  result = {}\n") + "}\n"
        "\n" + _render_arches(definition)
    )


def _render_arches(definition: Definition) -> str:
    """sys_target's arch -> platform and CPU baseline, from matrix.toml. A
    lookup without a default: an unmapped arch or level fails in bake too."""
    arches = next((a.arches for a in definition.axes if a.arches), ())
    if not arches:
        return ""
    platforms = [f"{json.dumps(arch)} = {json.dumps(spec.platform)}" for arch, spec in arches]
    names = [
        f"{json.dumps(arch)} = {{ debian = {json.dumps(spec.debian)}, gnu = {json.dumps(spec.gnu)}, "
        f"namespace = {json.dumps(spec.namespace)} }}"
        for arch, spec in arches
    ]
    cpus = []
    for arch, spec in arches:
        cpus.append(f"{json.dumps(arch)} = {json.dumps(spec.cpu)}")
        cpus.extend(f"{json.dumps(f'{arch}-{level}')} = {json.dumps(cpu)}" for level, cpu in spec.levels)
    return (
        "# sys_target <arch>[-<level>]-linux[-<abi>] -> its platform, by arch\n"
        "# (matrix.toml [axes.sys_target.arch]); no fallback to linux/amd64.\n"
        'function "sys_platform" {\n'
        "  params = [sys_target]\n"
        f'  result = {{\n{_wrap(platforms, "    ")}\n  }}[split("-", sys_target)[0]]\n'
        "}\n"
        "\n"
        "# sys_target -> its architecture's names: Debian's, the cross compiler's\n"
        "# triplet and the Docker Official Images namespace, by arch.\n"
        'function "sys_arch" {\n'
        "  params = [sys_target]\n"
        f'  result = {{\n{_wrap(names, "    ")}\n  }}[split("-", sys_target)[0]]\n'
        "}\n"
        "\n"
        "# sys_target -> its CPU baseline as rustc's -C target-cpu: by arch and level,\n"
        "# or by arch alone when the value names no level.\n"
        'function "sys_cpu" {\n'
        "  params = [sys_target]\n"
        f"  result = {{\n{_wrap(cpus, '    ')}\n  }}[\n"
        '    length(regexall("^v[0-9]+$", split("-", sys_target)[1])) > 0\n'
        '    ? join("-", slice(split("-", sys_target), 0, 2)) : split("-", sys_target)[0]\n'
        "  ]\n"
        "}\n"
        "\n"
    )


def render_settings(variables: Mapping[str, TreeVariable]) -> str:
    """The tree's settings as bake variables: each with its help as a comment
    and its default (a JSON value through jsonencode, as bake passes it)."""
    out = []
    for variable in variables.values():
        out.append(f"# {_line(variable.help)}")
        default = variable.default_value
        value = _hcl_string(default) if isinstance(default, str) else f"jsonencode({_hcl_value(default)})"
        line = f'variable "{variable.name}" {{ default = {value} }}'
        out.append(line if len(line) <= _WIDTH else f'variable "{variable.name}" {{\n  default = {value}\n}}')
    return "\n".join(out) + "\n"


def _hcl_string(text: str) -> str:
    # JSON's escapes are HCL's; `${` and `%{` would start a template.
    return json.dumps(text).replace("${", "$${").replace("%{", "%%{")


def _hcl_value(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_hcl_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_hcl_value(v) for v in value) + "]"
    if isinstance(value, str):
        return _hcl_string(value)
    raise UsageError(f"docker/variables.toml: a default may hold strings, tables and arrays, not {value!r}")


def _quote(values: Iterable[str]) -> list[str]:
    return [json.dumps(v) for v in values]


def _wrap(items: Sequence[str], indent: str) -> str:
    """Comma-separated items, several to a line, lines at most _WIDTH wide."""
    lines: list[str] = []
    line = ""
    for item in items:
        if line and len(indent) + len(line) + len(item) + 2 > _WIDTH:
            lines.append(indent + line + ",")
            line = item
        else:
            line = f"{line}, {item}" if line else item
    lines.append(indent + line)
    return "\n".join(lines)


def _line(text: str) -> str:
    # Descriptions are comments, not `description` attributes: buildx 0.13.1
    # (Debian trixie, our minimum) rejects a variable's `description`
    # (docs/decisions/buildx-minimum.md).
    return " ".join(text.split())


def _split(text: str, path: Path, begin: str = BEGIN, end: str = END) -> tuple[str, str, str]:
    if text.count(begin) != 1 or text.count(end) != 1:
        kind = {BEGIN: "generated-axes", SETTINGS_BEGIN: "generated-settings"}.get(begin, "generated-tree")
        raise UsageError(f"{path}: expected one {kind} section between its BEGIN and END markers")
    head, rest = text.split(begin)
    body, tail = rest.split(end)
    return head + begin, body, end + tail


def current(path: Path) -> str:
    return _split(path.read_text(), path)[1]


def expected(path: Path, definition: Definition) -> str:
    """The whole file as `invoke generate` would write it."""
    text = path.read_text()
    head, _, tail = _split(text, path)
    text = head + render(definition) + tail
    head, _, tail = _split(text, path, SETTINGS_BEGIN, SETTINGS_END)
    text = head + render_settings(tree_variables()) + tail
    head, _, tail = _split(text, path, TREE_BEGIN, TREE_END)
    return head + render_tree(definition, families(text)) + tail


def drifted(path: Path, definition: Definition) -> bool:
    return expected(path, definition) != path.read_text()


def write(path: Path, definition: Definition) -> bool:
    """Rewrite the generated sections; True when the file changed."""
    fresh = expected(path, definition)
    if fresh == path.read_text():
        return False
    path.write_text(fresh)
    return True
