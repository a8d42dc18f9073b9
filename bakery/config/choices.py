"""The axis choices of a run (docs/settings.md, "Axes"): from a flag, else the singular or the
plural variable of the merged layers; each value checked against its axis (docker/matrix.toml),
and the values a flag or a higher layer overrides checked too."""

from __future__ import annotations

from collections.abc import Mapping

from bakery.config.matrix import Axis, Definition
from bakery.config.options import flag_name
from bakery.config.values import json_list, split_values
from bakery.errors import UsageError


def choose(
    definition: Definition,
    flags: Mapping[str, str | None],
    merged: Mapping[str, str],
    dotenv: Mapping[str, str],
    environ: Mapping[str, str],
) -> dict[str, tuple[str, ...]]:
    """Axis name -> the chosen values, in order and once each; an axis not chosen is absent."""
    choices: dict[str, tuple[str, ...]] = {}
    for axis in definition.axes:
        check_shadowed(axis, axis.name in flags, dotenv, environ)
        flag_value = flags.get(axis.name)
        single, plural = merged.get(axis.name), merged.get(axis.plural)
        if flag_value is not None:
            raw_values = split_values(flag_value, f"--{flag_name(axis.name)}")
            source = f"--{flag_name(axis.name)}"
        elif single is not None and plural is not None:
            raise UsageError(
                f"both {axis.name} and {axis.plural} are set; set one: {axis.name}=VALUE or {axis.plural}='[...]'"
            )
        elif plural is not None:
            raw_values, source = json_list(plural, axis.plural), axis.plural
        elif single is not None:
            raw_values, source = [single], axis.name
        else:
            continue
        if not raw_values:
            raise UsageError(f"{source}: an empty list selects nothing; allowed: {axis.allowed()}")
        choices[axis.name] = tuple(dict.fromkeys(axis.check(v, source) for v in raw_values))
    return choices


def check_shadowed(axis: Axis, flagged: bool, dotenv: Mapping[str, str], environ: Mapping[str, str]) -> None:
    """An axis value that a flag or a higher layer overrides is validated too:
    a bad value in .env or the environment is an error, never silently
    ignored. The value that wins is checked where it is chosen."""
    layers = [layer for layer in (dotenv, environ) if layer.get(axis.name) or layer.get(axis.plural)]
    shadowed = layers if flagged else layers[:-1]
    for layer in shadowed:
        if layer.get(axis.name):
            axis.check(layer[axis.name], axis.name)
        if layer.get(axis.plural):
            for value in json_list(layer[axis.plural], axis.plural):
                axis.check(value, axis.plural)
