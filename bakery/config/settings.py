"""Layered settings (docs/settings.md). Lowest to highest precedence:

1. defaults (this module, and docker/matrix.toml for the axes);
2. `.env` (python-dotenv; path from BAKERY_DOTENV, default ./.env);
3. the process environment;
4. command-line flags.

Everything is validated before anything runs: a bad value raises UsageError
(exit 2) with one line naming the variable, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from dotenv import dotenv_values

from bakery import ROOT
from bakery.config.matrix import Axis, Definition, Vector, cross
from bakery.config.matrix import load as load_definition
from bakery.errors import UsageError

# One declaration per setting: the environment name, the typed default and the
# help, as field metadata of a frozen dataclass (the model is nox's own
# `_options.py`: options declared once, read as typed attributes). The kind is
# the annotation: bool, str, int, `int | None` (empty: unset), a Literal of
# choices, or tuple[str, ...] (a JSON array of strings).


def setting(env: str, default: object, help: str, *, pattern: str = "") -> Any:
    """A field of Options: read from the variable `env` (or its flag)."""
    return field(default=default, metadata={"env": env, "help": help, "pattern": pattern})


@dataclass(frozen=True, kw_only=True)
class Options:
    """Every setting of bakery's own. The original's variables first, then ours.
    Axis variables (singular and plural) come from docker/matrix.toml, and the
    tree's bake variables from docker/variables.toml."""

    ci: bool = setting("CI", False, "running in CI: plain progress, detached logs")
    ci_verbose: bool = setting("CI_VERBOSE", False, "log every docker command and its context")
    ci_verbose_env: bool = setting("CI_VERBOSE_ENV", False, "print the environment (secrets redacted) before baking")
    ci_silent_bake: bool = setting("CI_SILENT_BAKE", False, "quiet bake progress")
    ci_print_bake: bool = setting("CI_PRINT_BAKE", False, "print the bake definition before baking")
    no_bake: bool = setting("NO_BAKE", False, "print the bake definition only; build nothing")
    runner_name: str = setting("RUNNER_NAME", "", "CI runner name (names the builder)")
    github_actor: str = setting("GITHUB_ACTOR", "", "who triggered the run; scopes the builder")
    github_repository: str = setting("GITHUB_REPOSITORY", "", "owner/repo; scopes the builder")
    github_ref: str = setting("GITHUB_REF", "", "refs/heads/<b>, refs/tags/<t> or refs/pull/<n>/merge")
    github_ref_name: str = setting("GITHUB_REF_NAME", "", "branch or tag name; scopes the builder")
    github_event_name: str = setting("GITHUB_EVENT_NAME", "", "push, pull_request, ...; decides cache trust")
    matrix: str = setting("BAKERY_MATRIX", "default", "the active named matrix in docker/matrix.toml")
    # No commas: these go into `--set *.cache-from=type=local,src=...`.
    cache_dir: str = setting(
        "BAKERY_CACHE_DIR",
        "",
        "shared cache: an absolute directory or a registry repository; empty: none",
        pattern=r"[A-Za-z0-9._/:@-]{1,500}",
    )
    cache_scopes_dir: str = setting(
        "BAKERY_CACHE_SCOPES_DIR",
        "",
        "untrusted runs export their cache here; empty: ~/.cache/bakery/scopes",
        pattern=r"/[A-Za-z0-9._/-]{1,500}",
    )
    cache_scopes_ref: str = setting(
        "BAKERY_CACHE_SCOPES_REF",
        "",
        "registry repository for untrusted runs' cache; never the shared one or under it",
        pattern=r"[a-z0-9._/:-]{1,300}",
    )
    default_branch: str = setting(
        "BAKERY_DEFAULT_BRANCH", "main", "pushes to this branch (and tags) may write the shared cache"
    )
    bake_file_name: str = setting(
        "BAKERY_BAKE_FILE", "docker/bake.hcl", "the bake file (another tree with the same variables works)"
    )
    builder: str = setting("BAKERY_BUILDER", "", "builder name; empty: derived from the scope")
    driver: Literal["docker", "docker-container", "remote", "kubernetes"] = setting(
        "BAKERY_DRIVER", "docker", "buildx driver"
    )
    builder_scope: Literal["actor", "branch", "runner"] = setting("BAKERY_BUILDER_SCOPE", "actor", "builder name scope")
    buildkit_image: str = setting(
        "BAKERY_BUILDKIT_IMAGE", "", "BuildKit image for docker-container builders (air-gapped mirrors)"
    )
    driver_opts: tuple[str, ...] = setting(
        "BAKERY_DRIVER_OPTS", (), "JSON array of extra --driver-opt values (remote, kubernetes, ...)"
    )
    endpoint: str = setting(
        "BAKERY_ENDPOINT",
        "",
        "builder endpoint (remote: tcp://..., kubernetes: context)",
        pattern=r"[A-Za-z0-9][A-Za-z0-9._:/@+=-]*",
    )
    bootstrap: bool = setting("BAKERY_BOOTSTRAP", True, "pass --bootstrap when creating a docker-container builder")
    gc_reserved: str = setting("BAKERY_GC_RESERVED", "10GB", "buildkitd GC: space always kept for cache")
    gc_max_used: str = setting("BAKERY_GC_MAX_USED", "60GB", "buildkitd GC: most space the cache may use")
    gc_min_free: str = setting("BAKERY_GC_MIN_FREE", "10GB", "buildkitd GC: free space to keep on disk")
    gc_keep: str = setting("BAKERY_GC_KEEP", "336h", "buildkitd GC: keep cache younger than this")
    gc_filters: tuple[str, ...] = setting(
        "BAKERY_GC_FILTERS", ("label!=cache==pin",), "buildkitd GC: JSON array of filters"
    )
    registry_mirrors: tuple[str, ...] = setting(
        "BAKERY_REGISTRY_MIRRORS", (), "JSON array of registry mirrors for docker.io"
    )
    run_dir_name: str = setting("BAKERY_RUN_DIR", "runs", "where run records (metadata, rawjson progress) go")
    min_free_gb: int = setting("BAKERY_MIN_FREE_GB", 5, "free-space gate: refuse to bake below this many GB free")
    lock_timeout: int = setting(
        "BAKERY_LOCK_TIMEOUT", 300, "seconds to wait for another create/remove/prune on the same builder"
    )
    provenance: bool = setting("BAKERY_PROVENANCE", False, "attach provenance attestations (off: clean manifests)")
    secrets: tuple[str, ...] = setting(
        "BAKERY_SECRETS", (), 'JSON array of buildx --secret specs, e.g. ["id=gh,env=GH_TOKEN"]'
    )
    ssh: tuple[str, ...] = setting("BAKERY_SSH", (), 'JSON array of buildx --ssh specs, e.g. ["default"]')
    one_solve: Literal["auto", "always", "never"] = setting(
        "BAKERY_ONE_SOLVE",
        "auto",
        "bake each vector as one generated Dockerfile in one solve: auto (when a shared cache is set), always, never",
    )
    mirror: str = setting(
        "BAKERY_MIRROR",
        "",
        "Debian mirror for `invoke system-image` (empty: mmdebstrap's default)",
        pattern=r"(https?|file)://[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]+",
    )
    suite: str = setting(
        "BAKERY_SUITE",
        "",
        "Debian suite for `invoke system-image` (empty: from sys_version)",
        pattern=r"[a-z][a-z0-9.-]{0,40}",
    )
    dotenv: str = setting("BAKERY_DOTENV", ".env", "the .env file read below the environment")
    results_dir_name: str = setting(
        "BAKERY_RESULTS_DIR", "results", "where `invoke complement` extracts results and logs"
    )
    baseline: str = setting("BAKERY_BASELINE", "", "Complement baseline file; empty: the one in the project source")
    seam_log: str = setting(
        "BAKERY_SEAM_LOG", "", "append every program bakery runs to this file as a JSON line (tests and bench)"
    )
    lab_prefix: str = setting(
        "BAKERY_LAB_PREFIX", "/opt/bakery-lab", "where ci/provision-lab.sh unpacked the lab's registry"
    )
    complement_run: str = setting("COMPLEMENT_RUN", "", "go test -run pattern")
    complement_skip: str = setting("COMPLEMENT_SKIP", "", "go test -skip pattern")
    complement_count: int = setting("COMPLEMENT_COUNT", 1, "go test -count")
    complement_parallel: int = setting("COMPLEMENT_PARALLEL", 4, "go test -parallel")
    complement_timeout: str = setting("COMPLEMENT_TIMEOUT", "1h", "go test -timeout")
    complement_tags: str = setting("COMPLEMENT_TAGS", "", "go test -tags")


@dataclass(frozen=True)
class Spec:
    """One setting of Options, as the layers and the docs see it."""

    attr: str
    name: str
    kind: Literal["bool", "str", "int", "optional-int", "choice", "list"]
    default: object
    help: str
    choices: tuple[str, ...] = ()
    pattern: str = ""

    @property
    def default_text(self) -> str:
        """The default as it is written in the environment."""
        if self.kind == "bool":
            return "true" if self.default else "false"
        if self.kind == "list":
            return json.dumps(list(self.default))  # type: ignore[call-overload]
        return "" if self.default is None else str(self.default)


def _specs() -> tuple[Spec, ...]:
    hints = get_type_hints(Options)
    found = []
    for f in fields(Options):
        hint = hints[f.name]
        choices: tuple[str, ...] = ()
        if hint is bool:
            kind = "bool"
        elif hint is int:
            kind = "int"
        elif hint == (int | None):
            kind = "optional-int"
        elif get_origin(hint) is Literal:
            kind, choices = "choice", get_args(hint)
        elif get_origin(hint) is tuple:
            kind = "list"
        else:
            kind = "str"
        meta = f.metadata
        found.append(Spec(f.name, meta["env"], kind, f.default, meta["help"], choices, meta["pattern"]))  # type: ignore[arg-type]
    return tuple(found)


SPECS: tuple[Spec, ...] = _specs()
SPEC_BY_NAME = {s.name: s for s in SPECS}

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


_BOOLS = {"true": True, "1": True, "false": False, "0": False}
# Only these prefixes are checked for misspellings: a CI environment holds many
# unrelated names, and COMPLEMENT_* variables of Complement's own (COMPLEMENT_CA,
# ...) pass through to the tester.
_OUR_PREFIXES = ("BAKERY_", "CI_")


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

    def vectors(self, *, use_matrix: bool = False) -> list[Vector]:
        """The selected vectors. Without use_matrix: the cross product of the
        chosen values (unchosen axes take the default vector). With it: the
        active matrix (excludes and includes applied), filtered by choices."""
        if not use_matrix:
            return _distinct_names(cross(self.definition, self.choices))
        spec = self.definition.matrix(self.matrix)
        chosen = [v for v in self.definition.expand(spec) if all(v[a] in vals for a, vals in self.choices.items())]
        return _distinct_names(chosen)


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
        _check_spelling(layer, axis_names | set(tree_variables()), source)

    merged: dict[str, str] = {}
    for layer in (dotenv, environ):
        merged.update({k: v for k, v in layer.items() if v != ""})

    values: dict[str, Any] = {}
    for spec in SPECS:
        if spec.name in flags:
            raw, source = flags[spec.name], f"--{_flag_name(spec.name)}"
        else:
            raw, source = merged.get(spec.name, spec.default_text), spec.name
        values[spec.attr] = _check(spec, str(raw), source)

    if values["bake_file_name"] != SPEC_BY_NAME["BAKERY_BAKE_FILE"].default:
        # Another tree (--file): check axis values for safety, not our vocabulary.
        definition = definition.relaxed()
    choices = {}
    for axis in definition.axes:
        _check_shadowed(axis, axis.name in flags, dotenv, environ)
        flag_value = flags.get(axis.name)
        single, plural = merged.get(axis.name), merged.get(axis.plural)
        if flag_value is not None:
            raw_values = _split(flag_value, f"--{_flag_name(axis.name)}")
            source = f"--{_flag_name(axis.name)}"
        elif single is not None and plural is not None:
            raise UsageError(
                f"both {axis.name} and {axis.plural} are set; set one: {axis.name}=VALUE or {axis.plural}='[...]'"
            )
        elif plural is not None:
            raw_values, source = _json_list(plural, axis.plural), axis.plural
        elif single is not None:
            raw_values, source = [single], axis.name
        else:
            continue
        if not raw_values:
            raise UsageError(f"{source}: an empty list selects nothing; allowed: {axis.allowed()}")
        choices[axis.name] = tuple(dict.fromkeys(axis.check(v, source) for v in raw_values))
    return Settings(definition=definition, choices=choices, tree=_tree(dotenv, environ), **values)


def _tree(dotenv: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
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
        raise UsageError(f"{name}={_quote(value)} is not allowed; allowed: {allowed}")
    if variable.range and not variable.range[0] <= int(value) <= variable.range[1]:
        raise UsageError(f"{name}={_quote(value)} is out of range; allowed: {allowed}")
    if name == "default_targets":
        _check_targets(name, value, allowed)
    return value


def _check_targets(name: str, value: str, allowed: str) -> None:
    try:
        targets = json.loads(value)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{name}={_quote(value)} is not valid JSON ({exc.msg}); allowed: {allowed}") from None
    valid = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
    if (
        not isinstance(targets, list)
        or not targets
        or not all(isinstance(t, str) and valid.fullmatch(t) for t in targets)
    ):
        raise UsageError(f"{name}={_quote(value)} is not allowed; allowed: {allowed} (at least one)")


def _check_shadowed(axis: Axis, flagged: bool, dotenv: Mapping[str, str], environ: Mapping[str, str]) -> None:
    """An axis value that a flag or a higher layer overrides is validated too:
    a bad value in .env or the environment is an error, never silently
    ignored. The value that wins is checked where it is chosen."""
    layers = [layer for layer in (dotenv, environ) if layer.get(axis.name) or layer.get(axis.plural)]
    shadowed = layers if flagged else layers[:-1]
    for layer in shadowed:
        if layer.get(axis.name):
            axis.check(layer[axis.name], axis.name)
        if layer.get(axis.plural):
            for value in _json_list(layer[axis.plural], axis.plural):
                axis.check(value, axis.plural)


def _flag_name(name: str) -> str:
    return name.lower().removeprefix("bakery_").replace("_", "-")


def _check(spec: Spec, raw: str, source: str) -> object:
    """The typed value of one setting, or a UsageError naming what is allowed."""
    if spec.kind == "bool":
        if raw not in _BOOLS:
            raise UsageError(f"{source}={_quote(raw)} is not a boolean; allowed: true, false, 1, 0")
        return _BOOLS[raw]
    if spec.kind in ("int", "optional-int"):
        if spec.kind == "int" and not raw:
            raw = spec.default_text
        if raw and not re.fullmatch(r"[0-9]{1,9}", raw):
            raise UsageError(f"{source}={_quote(raw)} is not a whole number")
        return int(raw) if raw else None
    if spec.kind == "choice" and raw not in spec.choices:
        raise UsageError(f"{source}={_quote(raw)} is not allowed; allowed: {', '.join(spec.choices)}")
    if spec.kind == "list":
        return tuple(_json_list(raw, source))
    if spec.pattern and raw and not re.fullmatch(spec.pattern, raw):
        raise UsageError(f"{source}={_quote(raw)} is not allowed; allowed: a value matching {spec.pattern}")
    if "\n" in raw or "\x00" in raw:
        raise UsageError(f"{source} contains a newline or NUL byte; give one line")
    return raw


def _quote(raw: str) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_list(raw: str, source: str) -> list[str]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f'{source}={_quote(raw)} is not valid JSON ({exc.msg}); give a JSON array such as \'["a", "b"]\''
        ) from exc
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{source}={_quote(raw)} is not a JSON array of strings")
    return value


def _split(raw: str, source: str) -> list[str]:
    """A flag value: a JSON array, or comma-separated values."""
    if raw.lstrip().startswith("["):
        return _json_list(raw, source)
    return [part.strip() for part in raw.split(",")]


def _check_spelling(layer: Mapping[str, str], axis_names: set[str], source: str) -> None:
    """A name that looks like one of ours but is not is an error, with a
    suggestion: the original silently ignored misspelt variables."""
    known = axis_names | set(SPEC_BY_NAME)
    for name in layer:
        if name in known:
            continue
        if name.islower():
            pool = sorted(axis_names)
        elif name.startswith(_OUR_PREFIXES):
            pool = sorted(k for k in SPEC_BY_NAME if k.startswith(name.split("_", 1)[0] + "_"))
        else:
            continue
        match = difflib.get_close_matches(name, pool, n=1, cutoff=0.85)
        if match:
            raise UsageError(f"{source}: unknown variable {name}; did you mean {match[0]}?")
