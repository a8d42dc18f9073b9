"""Axes, vectors and matrices, read from the one definition docker/matrix.toml.

A matrix is a list of values per axis plus GitHub Actions' `exclude` and
`include` rules. Bake's own `matrix` blocks are always full cross products, so
`blocks` splits a selection into cross-product blocks.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from bakery import ROOT
from bakery.errors import UsageError

DEFINITION = ROOT / "docker" / "matrix.toml"

# Every axis value must be safe in a bake target name after the name rule
# ("." -> "_") and in an image tag: no "--" (our separator), no edge "-".
# Seven values joined into an image name must stay far below Docker's 255.
MAX_VALUE = 64
_SAFE = re.compile(r"^[a-z0-9_]([a-z0-9._-]*[a-z0-9_])?$")


@dataclass(frozen=True)
class Arch:
    """What a sys_target arch maps to (matrix.toml [axes.sys_target.arch.*])."""

    platform: str
    # rustc -C target-cpu when the value names no level, and per level.
    cpu: str
    levels: tuple[tuple[str, str], ...] = ()
    # Debian's name of the architecture (dpkg), the GNU triplet of its cross
    # compiler, the Docker Official Images namespace of its images
    # (github.com/docker-library/official-images, "Architectures other than
    # amd64"), and the first component of the Rust target triples whose
    # binaries run on it.
    debian: str = ""
    gnu: str = ""
    namespace: str = ""
    rust: tuple[str, ...] = ()


_LEVEL = re.compile(r"v[0-9]+")


def arch_and_level(value: str) -> tuple[str, str | None]:
    """x86_64-v3-linux-gnu -> (x86_64, v3); aarch64-linux-gnu -> (aarch64, None)."""
    parts = value.split("-")
    return parts[0], parts[1] if len(parts) > 1 and _LEVEL.fullmatch(parts[1]) else None


@dataclass(frozen=True)
class Axis:
    name: str
    description: str
    default: str
    pattern: re.Pattern[str] | None = None
    values: tuple[str, ...] | None = None
    # The lowest families of bake.hcl that use the axis (a tree may have
    # several roots); they and every family above them vary over the axis (hclgen).
    used_by: tuple[str, ...] = ()
    # Whether used_by gets the axis as a build arg of the same name; the
    # original seven are passed by hand in bake.hcl.
    build_arg: bool = True
    # sys_target only: arch -> platform and CPU baseline. An arch or level not
    # listed is refused, never mapped to linux/amd64 by default.
    arches: tuple[tuple[str, Arch], ...] = ()
    # False for another bake file (--file): only the safety checks apply.
    vocabulary: bool = True
    # The command lines: --<flag> on every task that selects
    # vectors, its help, and the key in nox session ids.
    flag: str = ""
    help: str = ""
    nox: str = ""

    @property
    def plural(self) -> str:
        return self.name + "s"

    @property
    def option(self) -> str:
        """The flag as a Python parameter name (invoke maps `_` to `-`)."""
        return self.flag.replace("-", "_")

    def allowed(self) -> str:
        if not self.vocabulary:
            return f"[a-z0-9._-], at most {MAX_VALUE} characters, no '--', no '-' or '.' at either end"
        if self.values is not None:
            return "one of " + ", ".join(self.values)
        assert self.pattern is not None
        return f"a value matching {self.pattern.pattern}"

    def check(self, value: object, source: str) -> str:
        """The value if it is allowed; otherwise a UsageError naming all three."""
        if not (isinstance(value, str) and self._allows(value)):
            raise UsageError(f"{source}: {_show(value)} is not a valid {self.name}; allowed: {self.allowed()}")
        if self.arches and self.vocabulary:
            arches = dict(self.arches)
            arch, level = arch_and_level(value)
            if arch not in arches:
                raise UsageError(
                    f"{source}: {_show(value)} is not a valid {self.name}; allowed: an arch with a platform "
                    f"mapping in docker/matrix.toml [axes.{self.name}.arch] ({', '.join(arches)}), not {arch!r}"
                )
            levels = dict(arches[arch].levels)
            if level is not None and level not in levels:
                raise UsageError(
                    f"{source}: {_show(value)} is not a valid {self.name}; allowed: CPU levels of {arch}: "
                    f"{', '.join(levels) or 'none (omit the level)'}, not {level!r}"
                )
        return value

    def relaxed(self) -> Axis:
        """The same axis checking only safety, for another tree (`--file`)."""
        return replace(self, vocabulary=False)

    def _allows(self, value: str) -> bool:
        # fullmatch: `$` alone would also accept a trailing newline.
        if len(value) > MAX_VALUE or not _SAFE.fullmatch(value) or "--" in value:
            return False
        if not self.vocabulary:
            return True
        if self.values is not None:
            return value in self.values
        return self.pattern is not None and bool(self.pattern.fullmatch(value))


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def name_safe(value: str) -> str:
    """The name rule: bake target names allow only [a-zA-Z0-9_-] (docs/tree.md, "Names")."""
    return value.replace(".", "_")


@dataclass(frozen=True)
class Vector:
    """One value per axis, in axis order: one cell of the matrix."""

    items: tuple[tuple[str, str], ...]
    # Keys an include added that are not axes (e.g. CI's `machine`); never sent to bake.
    extras: tuple[tuple[str, str], ...] = ()

    def __getitem__(self, axis: str) -> str:
        return dict(self.items)[axis]

    def as_dict(self) -> dict[str, str]:
        return dict(self.items)

    def values(self, axes: Iterable[str] | None = None) -> tuple[str, ...]:
        chosen = set(axes) if axes is not None else None
        return tuple(v for k, v in self.items if chosen is None or k in chosen)

    def instance(self, family: str, axes: Iterable[str]) -> str:
        """family--v1--v2... for the axes the family varies over."""
        return "--".join([family, *(name_safe(v) for v in self.values(axes))])

    def label(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.items)


@dataclass(frozen=True)
class MatrixSpec:
    name: str
    values: Mapping[str, tuple[str, ...]]
    exclude: tuple[Mapping[str, str], ...] = ()
    include: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class Definition:
    axes: tuple[Axis, ...]
    matrices: Mapping[str, MatrixSpec] = field(default_factory=dict)
    # Axes whose key always appears in nox session ids, in this order.
    nox_always: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)

    def axis(self, name: str) -> Axis:
        for axis in self.axes:
            if axis.name == name:
                return axis
        raise UsageError(f"unknown axis {name!r}; axes: {', '.join(self.names)}")

    def arch(self, sys_target: str) -> Arch | None:
        """The arch table entry of a sys_target value (None without the
        table, for another bake file, or for an unknown arch)."""
        axis = next((a for a in self.axes if a.arches and a.vocabulary), None)
        return dict(axis.arches).get(arch_and_level(sys_target)[0]) if axis else None

    def refuse_unrunnable(self, vector: Vector) -> None:
        """A UsageError when the vector's rust_target builds binaries its
        sys_target cannot run (an aarch64 binary in an x86_64 image)."""
        values = vector.as_dict()
        sys_target, rust_target = values.get("sys_target"), values.get("rust_target")
        arch = self.arch(sys_target) if sys_target else None
        if arch is None or not arch.rust or not rust_target:
            return
        rust_arch = rust_target.split("-")[0]
        if rust_arch not in arch.rust:
            assert sys_target is not None
            sys_arch = arch_and_level(sys_target)[0]
            raise UsageError(
                f"rust_target {rust_target} builds {rust_arch} binaries, which sys_target {sys_target} "
                f"({sys_arch}) cannot run; pair it with a sys_target of that architecture or exclude the pair "
                f"(docker/matrix.toml [axes.sys_target.arch.{sys_arch}] rust)"
            )

    def default_vector(self) -> Vector:
        return Vector(tuple((a.name, a.default) for a in self.axes))

    def matrix(self, name: str) -> MatrixSpec:
        if name not in self.matrices:
            raise UsageError(f"matrix {name!r} is not defined; defined: {', '.join(self.matrices)}")
        return self.matrices[name]

    def vector(self, values: Mapping[str, str], source: str = "vector") -> Vector:
        """A full vector: given values checked, the rest from the default."""
        for key in values:
            if key not in self.names:
                self.axis(key)
        return Vector(tuple((a.name, a.check(values.get(a.name, a.default), f"{source} {a.name}")) for a in self.axes))

    def expand(self, spec: MatrixSpec) -> list[Vector]:
        return expand(self, spec)

    def relaxed(self) -> Definition:
        """Safety checks only: for a bake file other than ours, whose
        vocabulary we do not know (`--file`)."""
        return replace(self, axes=tuple(a.relaxed() for a in self.axes))


@cache
def load(path: Path = DEFINITION) -> Definition:
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read the matrix definition {path}: {exc}") from exc
    axes = []
    for name, spec in raw["axes"].items():
        _check_tree_keys(path, name, spec)
        pattern = re.compile(spec["pattern"]) if "pattern" in spec else None
        values = tuple(spec["values"]) if "values" in spec else None
        axis = Axis(
            name,
            spec["description"],
            spec["default"],
            pattern,
            values,
            used_by=_families(spec.get("used_by", "")),
            build_arg=spec.get("build_arg", True),
            arches=_arches(path, name, spec.get("arch")),
            flag=spec.get("flag", name.replace("_", "-")),
            help=spec.get("help", ""),
            nox=spec.get("nox", name),
        )
        axis.check(axis.default, f"{path.name} default")
        axes.append(axis)
    _check_command_lines(path.name, axes, raw.get("nox", {}).get("always", []))
    definition = Definition(tuple(axes))
    matrices = {}
    for mname, mspec in raw.get("matrices", {}).items():
        lists: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in mspec.items() if k not in ("exclude", "include")}
        for axis_name, axis_values in lists.items():
            for value in axis_values:
                definition.axis(axis_name).check(value, f"{path.name} matrix {mname}")
        for rule in (*mspec.get("exclude", ()), *mspec.get("include", ())):
            for key, value in rule.items():
                if key in definition.names:
                    definition.axis(key).check(value, f"{path.name} matrix {mname} exclude/include {key}")
        for rule in mspec.get("exclude", ()):
            unknown = sorted(set(rule) - set(lists))
            if unknown:
                # GitHub rejects an exclude key the matrix does not list; so do we.
                raise UsageError(
                    f"{path.name} matrix {mname}: exclude names {', '.join(unknown)}, which it does not list"
                )
        matrices[mname] = MatrixSpec(mname, lists, tuple(mspec.get("exclude", ())), tuple(mspec.get("include", ())))
    return Definition(tuple(axes), matrices, tuple(raw.get("nox", {}).get("always", [])))


_FLAG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_NOX_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def _check_command_lines(file: str, axes: Sequence[Axis], always: Sequence[str]) -> None:
    """Flags and nox keys must be well-formed and distinct: they become
    invoke options and session ids."""
    for kind, pattern, values in (("flag", _FLAG, [a.flag for a in axes]), ("nox", _NOX_KEY, [a.nox for a in axes])):
        for axis, value in zip(axes, values, strict=True):
            if not pattern.fullmatch(value):
                raise UsageError(f"{file}: axis {axis.name} has {kind} {value!r}; allowed: {pattern.pattern}")
        if len(set(values)) != len(values):
            raise UsageError(f"{file}: two axes share a {kind}; each must be distinct")
    unknown = [name for name in always if name not in {a.name for a in axes}]
    if unknown:
        raise UsageError(f"{file}: [nox] always names {', '.join(unknown)}, which is not an axis")


def _families(used_by: str | list[str]) -> tuple[str, ...]:
    """used_by as a tuple: one family, a list of them, or none (empty)."""
    names = used_by if isinstance(used_by, list) else [used_by]
    return tuple(n for n in names if n)


def _arches(path: Path, name: str, table: object) -> tuple[tuple[str, Arch], ...]:
    if table is None:
        return ()
    if name != "sys_target" or not isinstance(table, dict):
        raise UsageError(f"{path.name} axis {name}: only sys_target has an arch table")
    arches = []
    for arch, spec in table.items():
        try:
            levels = tuple((str(k), str(v)) for k, v in spec.get("levels", {}).items())
            names = {k: str(spec.get(k, "")) for k in ("debian", "gnu", "namespace")}
            rust = tuple(str(r) for r in spec.get("rust", ()))
            arches.append((arch, Arch(str(spec["platform"]), str(spec["cpu"]), levels, **names, rust=rust)))
        except (AttributeError, KeyError) as exc:
            raise UsageError(f"{path.name} axis {name} arch {arch}: needs platform and cpu ({exc})") from exc
    return tuple(arches)


# Fields bake.hcl adds to each matrix cell beside the axis values.
_CELL_FIELDS = ("id", "ref", "platform", "cpu", "args")


def _check_tree_keys(path: Path, name: str, spec: Mapping[str, object]) -> None:
    """The keys hclgen reads; others (the CLI's flag, help, nox) are not ours."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or name in _CELL_FIELDS:
        raise UsageError(
            f"{path.name}: axis name {name!r} must be [a-z][a-z0-9_]* and not one of {', '.join(_CELL_FIELDS)}"
        )
    used_by = spec.get("used_by", "")
    names = used_by if isinstance(used_by, list) else [used_by]
    # Empty is allowed here; `invoke generate` refuses it (hclgen names the families).
    if not names or not all(isinstance(n, str) and re.fullmatch(r"([a-z0-9][a-z0-9_-]*)?", n) for n in names):
        raise UsageError(
            f"{path.name} axis {name}: used_by must name the lowest bake.hcl family that uses the axis (or a list)"
        )
    if not isinstance(spec.get("build_arg", True), bool):
        raise UsageError(f"{path.name} axis {name}: build_arg must be true or false")


def expand(definition: Definition, spec: MatrixSpec) -> list[Vector]:
    """Expand with GitHub Actions semantics.

    The cross product of the listed values (first key varies slowest); then
    each `exclude` entry drops every combination that matches all its keys;
    then each `include` entry is merged into every combination whose original
    values it does not overwrite (its other keys added, later includes may
    overwrite those), or, if it fits none, appended as a new combination.
    Axes a matrix does not list take the default vector's value.
    """
    keys = list(spec.values)
    combos: list[dict[str, str]] = [
        dict(zip(keys, vals, strict=True)) for vals in itertools.product(*spec.values.values())
    ]
    combos = [c for c in combos if not any(all(c.get(k) == v for k, v in ex.items()) for ex in spec.exclude)]
    originals = set(keys)
    added: list[dict[str, str]] = []
    for inc in spec.include:
        fits = [c for c in combos if all(c[k] == v for k, v in inc.items() if k in originals)]
        for combo in fits:
            combo.update({k: v for k, v in inc.items() if k not in originals})
        if not fits:
            added.append(dict(inc))
    vectors = []
    for combo in combos + added:
        axes = {k: v for k, v in combo.items() if k in definition.names}
        extras = tuple((k, v) for k, v in combo.items() if k not in definition.names)
        base = definition.vector(axes, f"matrix {spec.name}")
        vectors.append(Vector(base.items, extras))
    return vectors


def cross(definition: Definition, choices: Mapping[str, Sequence[str]]) -> list[Vector]:
    """The cross product of per-axis choices; unlisted axes take the default."""
    default = definition.default_vector().as_dict()
    lists = [tuple(choices.get(name, (default[name],))) for name in definition.names]
    return [Vector(tuple(zip(definition.names, vals, strict=True))) for vals in itertools.product(*lists)]


def blocks(vectors: Sequence[Vector], axes: Sequence[str]) -> list[dict[str, tuple[str, ...]]]:
    """Split vectors into cross-product blocks: per-axis value lists whose
    product is exactly a subset of `vectors`. A full product gives one block;
    at worst there is one block per vector."""
    unique = list(dict.fromkeys(vectors))
    if not unique:
        return []
    return _blocks([v.as_dict() for v in unique], list(axes))


def _blocks(combos: list[dict[str, str]], axes: list[str]) -> list[dict[str, tuple[str, ...]]]:
    per_axis = {a: tuple(dict.fromkeys(c[a] for c in combos)) for a in axes}
    size = 1
    for values in per_axis.values():
        size *= len(values)
    if size == len(combos):
        return [per_axis]
    # Split on the first axis that varies, solve each part, then merge parts
    # whose blocks are identical apart from that axis.
    split = next(a for a in axes if len(per_axis[a]) > 1)
    merged: dict[tuple[tuple[str, tuple[str, ...]], ...], list[str]] = {}
    for value in per_axis[split]:
        part = [c for c in combos if c[split] == value]
        for block in _blocks(part, axes):
            key = tuple((a, vs) for a, vs in block.items() if a != split)
            merged.setdefault(key, []).append(value)
    return [{**dict(key), split: tuple(values)} for key, values in merged.items()]
