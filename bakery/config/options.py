"""bakery's own settings, each declared once (docs/settings.md): the environment name, the typed
default and the help, and the typed value of one setting read from its text."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args, get_origin, get_type_hints

from bakery.config.values import json_list, quote
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
    runs_keep: int = setting(
        "BAKERY_RUNS_KEEP", 50, "run records kept: a bake removes older ones (0 keeps every record)"
    )
    min_free_gb: int = setting("BAKERY_MIN_FREE_GB", 5, "free-space gate: refuse to bake below this many GB free")
    lock_timeout: int = setting(
        "BAKERY_LOCK_TIMEOUT", 300, "seconds to wait for another create/remove/prune on the same builder"
    )
    provenance: bool = setting(
        "BAKERY_PROVENANCE", False, "attach provenance to images that are not pushed (off: clean manifests)"
    )
    attest: bool = setting(
        "BAKERY_ATTEST", True, "attach SLSA provenance (mode=max) and the SPDX SBOM to every pushed image"
    )
    sbom_generator: str = setting(
        "BAKERY_SBOM_GENERATOR", "", "SBOM generator image for pushes (empty: build the tree's sbom-generator)"
    )
    revision: str = setting(
        "BAKERY_REVISION", "", "source revision pushed images are labelled with (empty: GITHUB_SHA, then git HEAD)"
    )
    secrets: tuple[str, ...] = setting(
        "BAKERY_SECRETS", (), 'JSON array of buildx --secret specs, e.g. ["id=gh,env=GH_TOKEN"]'
    )
    ssh: tuple[str, ...] = setting("BAKERY_SSH", (), 'JSON array of buildx --ssh specs, e.g. ["default"]')
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


BOOLS = {"true": True, "1": True, "false": False, "0": False}


def flag_name(name: str) -> str:
    """The command-line flag of a setting: BAKERY_CACHE_DIR -> cache-dir."""
    return name.lower().removeprefix("bakery_").replace("_", "-")


def check_option(spec: Spec, raw: str, source: str) -> object:
    """The typed value of one setting, or a UsageError naming what is allowed."""
    if spec.kind == "bool":
        if raw not in BOOLS:
            raise UsageError(f"{source}={quote(raw)} is not a boolean; allowed: true, false, 1, 0")
        return BOOLS[raw]
    if spec.kind in ("int", "optional-int"):
        if spec.kind == "int" and not raw:
            raw = spec.default_text
        if raw and not re.fullmatch(r"[0-9]{1,9}", raw):
            raise UsageError(f"{source}={quote(raw)} is not a whole number")
        return int(raw) if raw else None
    if spec.kind == "choice" and raw not in spec.choices:
        raise UsageError(f"{source}={quote(raw)} is not allowed; allowed: {', '.join(spec.choices)}")
    if spec.kind == "list":
        return tuple(json_list(raw, source))
    if spec.pattern and raw and not re.fullmatch(spec.pattern, raw):
        raise UsageError(f"{source}={quote(raw)} is not allowed; allowed: a value matching {spec.pattern}")
    if "\n" in raw or "\x00" in raw:
        raise UsageError(f"{source} contains a newline or NUL byte; give one line")
    return raw
