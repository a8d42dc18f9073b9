"""The tree's bake variables, declared once in docker/variables.toml (docs/settings.md): read,
validated one by one, and those that were set in the environment or .env."""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bakery import ROOT
from bakery.config.values import quote
from bakery.errors import UsageError

VARIABLES = ROOT / "docker" / "variables.toml"


@dataclass(frozen=True)
class TreeVariable:
    """One of the tree's bake variables (docker/variables.toml)."""

    name: str
    help: str
    default: str
    # How bake.hcl writes the default: a quoted string, or jsonencode(...) of a value.
    default_value: object
    pattern: str
    allowed: str = ""
    range: tuple[int, int] | None = None


def load_variables(path: Path = VARIABLES) -> dict[str, TreeVariable]:
    """The tree's settings, declared once in docker/variables.toml."""
    try:
        raw = tomllib.loads(path.read_text())["variables"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read the tree's settings {path}: {exc}") from exc
    found = {}
    for name, spec in raw.items():
        default = spec.get("default", "")
        text = default if isinstance(default, str) else json.dumps(default, separators=(",", ":"))
        bounds = spec.get("range")
        try:
            re.compile(spec["pattern"])
            found[name] = TreeVariable(
                name, spec["help"], text, default, spec["pattern"], spec.get("allowed", ""),
                (int(bounds[0]), int(bounds[1])) if bounds else None,
            )  # fmt: skip
        except (KeyError, TypeError, re.error) as exc:
            raise UsageError(f"{path.name} variable {name}: needs help and a valid pattern ({exc})") from exc
    return found


@functools.cache
def tree_variables() -> dict[str, TreeVariable]:
    """docker/variables.toml, read once per process, on first use (a broken
    file is then one line and exit 2, like every bad setting)."""
    return load_variables()


def set_variables(dotenv: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """The tree's bake variables that were set, validated. An empty value is
    kept where the variable allows it (empty smoke_version_args skips the
    version run); elsewhere empty means unset, as for every setting."""
    tree = {}
    for name, variable in tree_variables().items():
        for layer in (environ, dotenv):
            if name in layer and (layer[name] != "" or re.fullmatch(variable.pattern, "")):
                tree[name] = check_tree(name, layer[name])
                break
    return tree


def check_tree(name: str, value: str) -> str:
    """One tree variable's value, or a UsageError naming what is allowed."""
    variable = tree_variables()[name]
    allowed = variable.allowed or f"a value matching {variable.pattern}"
    if re.fullmatch(variable.pattern, value) is None:
        raise UsageError(f"{name}={quote(value)} is not allowed; allowed: {allowed}")
    if variable.range and not variable.range[0] <= int(value) <= variable.range[1]:
        raise UsageError(f"{name}={quote(value)} is out of range; allowed: {allowed}")
    if name == "default_targets":
        _check_targets(name, value, allowed)
    return value


def _check_targets(name: str, value: str, allowed: str) -> None:
    try:
        targets = json.loads(value)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{name}={quote(value)} is not valid JSON ({exc.msg}); allowed: {allowed}") from None
    valid = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
    if (
        not isinstance(targets, list)
        or not targets
        or not all(isinstance(t, str) and valid.fullmatch(t) for t in targets)
    ):
        raise UsageError(f"{name}={quote(value)} is not allowed; allowed: {allowed} (at least one)")
