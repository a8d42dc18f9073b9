"""Layered settings (issue 3). Lowest to highest precedence:

1. defaults (this module, and docker/matrix.toml for the axes);
2. `.env` (python-dotenv; path from BAKERY_DOTENV, default ./.env);
3. the process environment;
4. command-line flags.

Everything is validated before anything runs: a bad value raises UsageError
(exit 2) with one line naming the variable, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values

from bakery import ROOT
from bakery.config.matrix import Axis, Definition, Vector, cross
from bakery.config.matrix import load as load_definition
from bakery.errors import UsageError

Kind = Literal["bool", "str", "int", "choice", "list"]


@dataclass(frozen=True)
class Spec:
    name: str
    kind: Kind
    default: str
    help: str
    choices: tuple[str, ...] = ()
    pattern: str = ""


# The original's variables first, then ours. Axis variables (singular and
# plural) come from docker/matrix.toml and are handled separately.
SPECS: tuple[Spec, ...] = (
    Spec("CI", "bool", "false", "running in CI: plain progress, detached logs"),
    Spec("CI_VERBOSE", "bool", "false", "log every docker command and its context"),
    Spec("CI_VERBOSE_ENV", "bool", "false", "print the environment (secrets redacted) before baking"),
    Spec("CI_SILENT_BAKE", "bool", "false", "quiet bake progress"),
    Spec("CI_PRINT_BAKE", "bool", "false", "print the bake definition before baking"),
    Spec("NO_BAKE", "bool", "false", "print the bake definition only; build nothing"),
    Spec("RUNNER_NAME", "str", "", "CI runner name; <name>.<n> is a numbered runner"),
    Spec("GITHUB_ACTOR", "str", "", "who triggered the run; scopes the builder"),
    Spec("GITHUB_REPOSITORY", "str", "", "owner/repo; scopes the builder"),
    Spec("GITHUB_REF", "str", "", "refs/heads/<b>, refs/tags/<t> or refs/pull/<n>/merge"),
    Spec("GITHUB_REF_NAME", "str", "", "branch or tag name; scopes the builder"),
    Spec("GITHUB_EVENT_NAME", "str", "", "push, pull_request, ...; decides cache trust"),
    Spec("BAKERY_MATRIX", "str", "default", "the active named matrix in docker/matrix.toml"),
    # No commas: these go into `--set *.cache-from=type=local,src=...`.
    Spec(
        "BAKERY_CACHE_DIR",
        "str",
        "",
        "shared cache: an absolute directory or a registry repository; empty: none",
        pattern=r"[A-Za-z0-9._/:@-]{1,500}",
    ),
    Spec(
        "BAKERY_CACHE_SCOPES_DIR",
        "str",
        "",
        "untrusted runs export their cache here; empty: ~/.cache/bakery/scopes",
        pattern=r"/[A-Za-z0-9._/-]{1,500}",
    ),
    Spec(
        "BAKERY_CACHE_SCOPES_REF",
        "str",
        "",
        "registry repository for untrusted runs' cache (issue 12); never the shared one or under it",
        pattern=r"[a-z0-9._/:-]{1,300}",
    ),
    Spec("BAKERY_DEFAULT_BRANCH", "str", "main", "pushes to this branch (and tags) may write the shared cache"),
    Spec("BAKERY_BAKE_FILE", "str", "docker/bake.hcl", "the bake file (another tree with the same variables works)"),
    Spec("BAKERY_BUILDER", "str", "", "builder name; empty: derived from the scope"),
    Spec("BAKERY_DRIVER", "choice", "docker", "buildx driver", ("docker", "docker-container", "remote", "kubernetes")),
    Spec("BAKERY_BUILDER_SCOPE", "choice", "actor", "builder name scope", ("actor", "branch", "runner")),
    Spec("BAKERY_BUILDKIT_IMAGE", "str", "", "BuildKit image for docker-container builders (air-gapped mirrors)"),
    Spec("BAKERY_DRIVER_OPTS", "list", "[]", "JSON array of extra --driver-opt values (remote, kubernetes, ...)"),
    Spec(
        "BAKERY_ENDPOINT",
        "str",
        "",
        "builder endpoint (remote: tcp://..., kubernetes: context)",
        pattern=r"[A-Za-z0-9][A-Za-z0-9._:/@+=-]*",
    ),
    Spec("BAKERY_BOOTSTRAP", "bool", "true", "pass --bootstrap when creating a docker-container builder"),
    Spec("BAKERY_GC_RESERVED", "str", "10GB", "buildkitd GC: space always kept for cache"),
    Spec("BAKERY_GC_MAX_USED", "str", "60GB", "buildkitd GC: most space the cache may use"),
    Spec("BAKERY_GC_MIN_FREE", "str", "10GB", "buildkitd GC: free space to keep on disk"),
    Spec("BAKERY_GC_KEEP", "str", "336h", "buildkitd GC: keep cache younger than this"),
    Spec("BAKERY_GC_FILTERS", "list", '["label!=cache==pin"]', "buildkitd GC: JSON array of filters"),
    Spec("BAKERY_REGISTRY_MIRRORS", "list", "[]", "JSON array of registry mirrors for docker.io"),
    Spec("BAKERY_RUN_DIR", "str", "runs", "where run records (metadata, rawjson progress) go"),
    Spec("BAKERY_NPROCS", "int", "", "cargo jobs passed as nprocs; empty: the CPU count (not on numbered runners)"),
    Spec("BAKERY_MIN_FREE_GB", "int", "5", "free-space gate: refuse to bake below this many GB free"),
    Spec("BAKERY_LOCK_TIMEOUT", "int", "300", "seconds to wait for another create/remove/prune on the same builder"),
    Spec("BAKERY_PROVENANCE", "bool", "false", "attach provenance attestations (off: clean manifests)"),
    Spec("BAKERY_SECRETS", "list", "[]", 'JSON array of buildx --secret specs, e.g. ["id=gh,env=GH_TOKEN"]'),
    Spec("BAKERY_SSH", "list", "[]", 'JSON array of buildx --ssh specs, e.g. ["default"]'),
    Spec(
        "BAKERY_MIRROR",
        "str",
        "",
        "Debian mirror for `invoke system-image` (empty: mmdebstrap's default)",
        pattern=r"(https?|file)://[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]+",
    ),
    Spec(
        "BAKERY_SUITE",
        "str",
        "",
        "Debian suite for `invoke system-image` (empty: from sys_version)",
        pattern=r"[a-z][a-z0-9.-]{0,40}",
    ),
    Spec("BAKERY_DOTENV", "str", ".env", "the .env file read below the environment"),
    Spec("BAKERY_RESULTS_DIR", "str", "results", "where `invoke complement` extracts results and logs"),
    Spec("BAKERY_BASELINE", "str", "", "Complement baseline file; empty: the one in the project source"),
    Spec("COMPLEMENT_RUN", "str", "", "go test -run pattern"),
    Spec("COMPLEMENT_SKIP", "str", "", "go test -skip pattern"),
    Spec("COMPLEMENT_COUNT", "int", "1", "go test -count"),
    Spec("COMPLEMENT_PARALLEL", "int", "4", "go test -parallel"),
    Spec("COMPLEMENT_TIMEOUT", "str", "1h", "go test -timeout"),
    Spec("COMPLEMENT_TAGS", "str", "", "go test -tags"),
)
SPEC_BY_NAME = {s.name: s for s in SPECS}

# The tree's own bake variables (docker/bake.hcl), each with the pattern its
# value must match. They are layered like every setting (.env, environment)
# and reach bake only through Settings.tree: inherited copies are dropped, so
# nothing unvalidated reaches a build arg, a sed expression or BUILDKIT_SYNTAX.
# cache_scope and nprocs are not here: bakery sets them itself.
_LINE = r"[^\n\x00]{0,500}"
_WORDS = r"[A-Za-z0-9 @._+=-]{0,500}"
_REF = r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}"
_URL = r"(https?|ssh|git|file)://[A-Za-z0-9._~:/?@!$&'()*+,;=%-]+"
# A TCP port, 1-65535.
_PORT = r"([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# smoke_ready (issue 11 §3): tcp:PORT, or an http:// URL the smoke script
# probes. No shell characters: the value reaches a build arg and a probe.
_READY = rf"(tcp:{_PORT}|http://[A-Za-z0-9]([A-Za-z0-9.-]{{0,252}})(:{_PORT})?(/[A-Za-z0-9._~/%=?-]{{0,400}})?)?"
_EXPOSE = rf"({_PORT}(/(tcp|udp))?( {_PORT}(/(tcp|udp))?){{0,31}})?"
_TARGET_LIST = r"\[[A-Za-z0-9_\", -]{0,2000}\]"
TREE_VARIABLES: dict[str, str] = {
    "project_name": r"[a-z0-9][a-z0-9_-]{0,63}",
    "bin_name": r"[a-z0-9][a-z0-9_-]{0,63}",
    "source_location": rf"({_URL}|/?[A-Za-z0-9._][A-Za-z0-9._/-]{{0,499}})",
    "git_checkout": _REF,
    "feat_set_cargo_args": r"\{[A-Za-z0-9 \",:._+=-]{0,1000}\}",
    "feat_set_runtime_packages": r"\{[a-z0-9 \",:.+-]{0,1000}\}",
    "feat_set_build_packages": r"\{[a-z0-9 \",:.+-]{0,1000}\}",
    "use_chef": r"auto|true|false",
    "kitchen_packages": r"[a-z0-9 .+-]{0,500}",
    "chef_distro_packages": r"[a-z0-9 .+-]{0,500}",
    "chef_cargo_tools": _WORDS,
    # A mirror goes into a sed replacement (Dockerfile.system): no `#`, `&`, `\\` or space.
    "apt_mirror": r"(https?|file)://[A-Za-z0-9._~:/@%+-]+",
    "apt_options": _LINE,
    "smoke_version_args": _WORDS,
    "smoke_startup_args": _WORDS,
    "smoke_ready": _READY,
    "smoke_timeout": r"[0-9]{1,4}",
    "expose_ports": _EXPOSE,
    "default_targets": _TARGET_LIST,
    "labs_frontend": r"[a-z0-9][a-z0-9./:@_-]{0,199}",
    "pkg_maintainer": _LINE,
    "pkg_description": _LINE,
    "pkg_license": r"[A-Za-z0-9 .()+-]{1,100}",
    "complement_url": rf"({_URL}|git@[A-Za-z0-9.-]+:[A-Za-z0-9._/-]+)",
    "complement_ref": _REF,
    "complement_baseline": r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}",
    "registry_github": r"[a-z0-9][a-z0-9./:_-]{0,199}",
    "registry_dockerhub": r"[a-z0-9][a-z0-9./:_-]{0,199}",
    "publish_tag": r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
}
# What a tree variable allows, in words, where its pattern alone would not say it.
TREE_HELP: dict[str, str] = {
    "smoke_ready": "empty (run to exit), tcp:PORT, or http://HOST[:PORT][/PATH] without shell characters",
    "smoke_timeout": "whole seconds from 1 to 3600",
    "expose_ports": "space-separated ports 1-65535, each optionally /tcp or /udp; empty: none",
    "default_targets": 'a JSON array of target or group names, e.g. ["check", "install"]',
}
_BOOLS = {"true": True, "1": True, "false": False, "0": False}
NUMBERED_RUNNER = re.compile(r"^[^.]+\.\d+$")
# Only these prefixes are checked for misspellings: a CI environment holds many
# unrelated names, and COMPLEMENT_* variables of Complement's own (COMPLEMENT_CA,
# ...) pass through to the tester.
_OUR_PREFIXES = ("BAKERY_", "CI_")


@dataclass(frozen=True)
class Settings:
    definition: Definition
    values: Mapping[str, str]
    # Axis choices from singular, plural or flag forms; absent axes are unset.
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The tree's bake variables that were set (validated); unset ones keep bake.hcl's default.
    tree: Mapping[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    def flag(self, name: str) -> bool:
        return _BOOLS[self.values[name]]

    def number(self, name: str) -> int | None:
        return int(self.values[name]) if self.values[name] else None

    def items(self, name: str) -> tuple[str, ...]:
        return tuple(json.loads(self.values[name]))

    @property
    def ci(self) -> bool:
        return self.flag("CI")

    @property
    def numbered_runner(self) -> bool:
        return bool(NUMBERED_RUNNER.match(self["RUNNER_NAME"]))

    @property
    def bake_file(self) -> Path:
        return ROOT / self["BAKERY_BAKE_FILE"]

    @property
    def run_dir(self) -> Path:
        return ROOT / self["BAKERY_RUN_DIR"]

    @property
    def results_dir(self) -> Path:
        return ROOT / self["BAKERY_RESULTS_DIR"]

    def nprocs(self) -> int | None:
        """nprocs for bake: explicit, else the CPU count, never on numbered
        runners (they share a machine; the original left cargo's default)."""
        if self.number("BAKERY_NPROCS"):
            return self.number("BAKERY_NPROCS")
        return None if self.numbered_runner else os.cpu_count()

    def vectors(self, *, use_matrix: bool = False) -> list[Vector]:
        """The selected vectors. Without use_matrix: the cross product of the
        chosen values (unchosen axes take the default vector). With it: the
        active matrix (excludes and includes applied), filtered by choices."""
        if not use_matrix:
            return _distinct_names(cross(self.definition, self.choices))
        spec = self.definition.matrix(self["BAKERY_MATRIX"])
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
        _check_spelling(layer, axis_names | set(TREE_VARIABLES), source)

    merged: dict[str, str] = {}
    for layer in (dotenv, environ):
        merged.update({k: v for k, v in layer.items() if v != ""})

    values = {}
    for spec in SPECS:
        if spec.name in flags:
            raw, source = flags[spec.name], f"--{_flag_name(spec.name)}"
        else:
            raw, source = merged.get(spec.name, spec.default), spec.name
        values[spec.name] = _check(spec, str(raw), source)

    if values["BAKERY_BAKE_FILE"] != SPEC_BY_NAME["BAKERY_BAKE_FILE"].default:
        # Another tree (--file): check axis values for safety, not our vocabulary (issue 11 §5).
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
    return Settings(definition, values, choices, _tree(dotenv, environ))


def _tree(dotenv: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """The tree's bake variables that were set, validated. An empty value is
    kept where the variable allows it (empty smoke_version_args skips the
    version run, issue 11 §3); elsewhere empty means unset, as for every setting."""
    tree = {}
    for name, pattern in TREE_VARIABLES.items():
        for layer in (environ, dotenv):
            if name in layer and (layer[name] != "" or re.fullmatch(pattern, "")):
                tree[name] = check_tree(name, layer[name])
                break
    return tree


def check_tree(name: str, value: str) -> str:
    """One tree variable's value, or a UsageError naming what is allowed."""
    allowed = TREE_HELP.get(name, f"a value matching {TREE_VARIABLES[name]}")
    if re.fullmatch(TREE_VARIABLES[name], value) is None:
        raise UsageError(f"{name}={_quote(value)} is not allowed; allowed: {allowed}")
    if name == "smoke_timeout" and not 1 <= int(value) <= 3600:
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
    ignored (issue 7 §5). The value that wins is checked where it is chosen."""
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


def _check(spec: Spec, raw: str, source: str) -> str:
    if spec.kind == "bool":
        if raw not in _BOOLS:
            raise UsageError(f"{source}={_quote(raw)} is not a boolean; allowed: true, false, 1, 0")
        return raw
    if spec.kind == "int" and raw and not re.fullmatch(r"[0-9]{1,9}", raw):
        raise UsageError(f"{source}={_quote(raw)} is not a whole number")
    if spec.kind == "choice" and raw not in spec.choices:
        raise UsageError(f"{source}={_quote(raw)} is not allowed; allowed: {', '.join(spec.choices)}")
    if spec.kind == "list":
        _json_list(raw, source)
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
