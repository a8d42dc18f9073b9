"""Layered settings (docs/settings.md). Lowest to highest precedence:

1. defaults (bakery/config/options.py, docker/variables.toml, and docker/matrix.toml for the
   axes);
2. `.env` (python-dotenv; path from BAKERY_DOTENV, default ./.env);
3. the process environment;
4. command-line flags.

Everything is validated before anything runs: a bad value raises UsageError
(exit 2) with one line naming the variable, the value and what is allowed:
each option by bakery/config/options.py, the tree's variables by bakery/config/variables.py,
the axes by bakery/config/choices.py, and misspelt names by bakery/config/spelling.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from bakery import ROOT
from bakery.config.choices import choose
from bakery.config.matrix import Definition, Vector, cross
from bakery.config.matrix import load as load_definition
from bakery.config.options import SPEC_BY_NAME, SPECS, Options, check_option, flag_name
from bakery.config.spelling import check_spelling
from bakery.config.variables import set_variables, tree_variables
from bakery.errors import UsageError


@dataclass(frozen=True, kw_only=True)
class Settings(Options):
    """Options plus the selection: read `settings.driver`, `settings.cache_dir`..."""

    definition: Definition
    # Axis choices from singular, plural or flag forms; absent axes are unset.
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The tree's bake variables that were set (validated); unset ones keep bake.hcl's default.
    tree: Mapping[str, str] = field(default_factory=dict)

    @property
    def bake_file(self) -> Path:
        return ROOT / self.bake_file_name

    @property
    def run_dir(self) -> Path:
        return ROOT / self.run_dir_name

    @property
    def results_dir(self) -> Path:
        return ROOT / self.results_dir_name

    def tree_value(self, name: str) -> str:
        """A tree variable's value: as set, else its declared default."""
        return self.tree.get(name, tree_variables()[name].default)

    def vectors(self, *, use_matrix: bool = False, runnable: bool = True) -> list[Vector]:
        """The selected vectors. Without use_matrix: the cross product of the
        chosen values (unchosen axes take the default vector). With it: the
        active matrix (excludes and includes applied), filtered by choices.
        With runnable, a vector whose binaries its system cannot run is a
        usage error (the roots alone, `invoke system-image`, do not care)."""
        if not use_matrix:
            chosen = _distinct_names(cross(self.definition, self.choices))
        else:
            spec = self.definition.matrix(self.matrix)
            chosen = [v for v in self.definition.expand(spec) if all(v[a] in vals for a, vals in self.choices.items())]
            chosen = _distinct_names(chosen)
        for vector in chosen if runnable else ():
            self.definition.refuse_unrunnable(vector)
        return chosen


def _distinct_names(vectors: list[Vector]) -> list[Vector]:
    """Two values that the name rule maps alike (12.5 and 12_5) would give two
    vectors one instance name; bake would fail late, on a duplicate target."""
    seen: dict[str, Vector] = {}
    for vector in vectors:
        name = vector.instance("vector", vector.as_dict())
        if name in seen and seen[name] != vector:
            axis, a, b = next((k, v, vector[k]) for k, v in seen[name].items if v != vector[k])
            raise UsageError(f"{axis}: {a!r} and {b!r} collide after the name rule (. -> _); pick one")
        seen[name] = vector
    return vectors


def load(
    flags: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
    definition: Definition | None = None,
) -> Settings:
    """Merge the layers and validate every value."""
    definition = definition or load_definition()
    environ = dict(os.environ if environ is None else environ)
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    dotenv_path = Path(flags.get("BAKERY_DOTENV") or environ.get("BAKERY_DOTENV") or ".env")
    dotenv = {k: v for k, v in dotenv_values(dotenv_path).items() if v is not None} if dotenv_path.is_file() else {}

    axis_names = {a.name for a in definition.axes} | {a.plural for a in definition.axes}
    for source, layer in ((str(dotenv_path), dotenv), ("environment", environ)):
        check_spelling(layer, axis_names | set(tree_variables()), source)

    merged: dict[str, str] = {}
    for layer in (dotenv, environ):
        merged.update({k: v for k, v in layer.items() if v != ""})

    values: dict[str, Any] = {}
    for spec in SPECS:
        if spec.name in flags:
            raw, source = flags[spec.name], f"--{flag_name(spec.name)}"
        else:
            raw, source = merged.get(spec.name, spec.default_text), spec.name
        values[spec.attr] = check_option(spec, str(raw), source)

    if values["bake_file_name"] != SPEC_BY_NAME["BAKERY_BAKE_FILE"].default:
        # Another tree (--file): check axis values for safety, not our vocabulary.
        definition = definition.relaxed()
    choices = choose(definition, flags, merged, dotenv, environ)
    return Settings(definition=definition, choices=choices, tree=set_variables(dotenv, environ), **values)
