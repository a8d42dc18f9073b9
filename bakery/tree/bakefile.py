"""The bake-file client: target names, the environment
that carries a selection to bake, `docker buildx bake --print`, and what a
definition declares (entitlements, instances). Used by `invoke bake`, plan,
clean, doctor, builder and complement; it builds nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from bakery import ROOT
from bakery.argv import options
from bakery.config.matrix import Vector
from bakery.config.settings import Settings
from bakery.config.variables import tree_variables
from bakery.engine import docker
from bakery.errors import BakeryError, UsageError

_TARGET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
DEFAULT_TARGETS = ("default",)
# The docker CLI's own exit code for a command line it cannot parse (buildx's are 1).
DOCKER_CLI_USAGE = 125
# The bake variable that carries an explicit list of vectors (the
# contract with the tree, docs/tree.md): when set, it wins over the plural arrays.
VECTORS = "vectors"


def split_targets(args: Sequence[str | None]) -> list[str]:
    """Targets as given on a command line: separate words, comma-separated, or both."""
    return [t for arg in args for t in (arg or "").replace(",", " ").split() if t]


def check_targets(targets: Sequence[str]) -> tuple[str, ...]:
    for target in targets:
        if target.startswith("-"):
            raise UsageError(f"unknown option {target!r}; see: invoke --help bake")
        if not _TARGET.fullmatch(target):
            raise UsageError(f"target {target!r} is not a valid bake target name; allowed: [A-Za-z0-9][A-Za-z0-9_-]*")
    return tuple(targets) or DEFAULT_TARGETS


def block_of(vectors: Sequence[Vector]) -> dict[str, tuple[str, ...]]:
    """The smallest cross product holding every vector: each axis's values in
    first-seen order."""
    names = [k for k, _ in vectors[0].items] if vectors else []
    return {name: tuple(dict.fromkeys(v[name] for v in vectors)) for name in names}


def bake_env(
    settings: Settings,
    block: Mapping[str, Sequence[str]],
    cache_scope: str | None = None,
    vectors: Sequence[Mapping[str, str]] = (),
) -> dict[str, str]:
    """The environment for one bake run: the block as the plural JSON-array
    variables, and `vectors` (the exact selection, excludes applied) when
    given. Any axis variable inherited from the caller is dropped, so only
    validated values reach bake; cache_scope (bakery.cache.policy) is ours alone,
    and set whenever given: empty is a value (shared cache keys), not the
    tree's default."""
    axes = settings.definition.axes
    drop = [a.name for a in axes] + [a.plural for a in axes] + [VECTORS, "cache_scope", *tree_variables()]
    variables = {a.plural: json.dumps(list(block[a.name])) for a in axes}
    if vectors:
        variables[VECTORS] = json.dumps([dict(v) for v in vectors], separators=(",", ":"))
    variables.update(settings.tree)
    if cache_scope is not None:
        variables["cache_scope"] = cache_scope
    # The metadata file needs no provenance; resolving it costs a step per target.
    variables["BUILDX_METADATA_PROVENANCE"] = "disabled"
    return docker.environment(variables, drop)


def vector_env(settings: Settings, vector: Vector) -> dict[str, str]:
    return bake_env(settings, {k: (v,) for k, v in vector.items})


def bake_file(settings: Settings) -> Path:
    path = settings.bake_file
    if not path.is_file():
        raise UsageError(f"bake file {path} not found; set BAKERY_BAKE_FILE or pass --file")
    return path


def print_argv(settings: Settings, targets: Sequence[str]) -> list[str]:
    return ["buildx", "bake", *options(file=str(bake_file(settings)), print=True), *targets]


def print_definition(settings: Settings, targets: Sequence[str], env: Mapping[str, str]) -> dict:
    """`docker buildx bake --print`: needs no daemon. Unknown targets are
    usage errors."""
    argv = print_argv(settings, targets)
    result = docker.run(argv, env=env, check=False, quiet=True, cwd=ROOT)
    if result.returncode == DOCKER_CLI_USAGE:
        # The docker CLI itself refused the command line: without the buildx
        # plugin, `docker buildx bake --print` is "unknown flag: --print".
        docker.require_buildx()
    if result.returncode != 0:
        last = result.stderr.strip().splitlines()[-1:] or ["no output"]
        if "failed to find target" in result.stderr:
            raise UsageError(f"bake: {last[0].removeprefix('ERROR: ')}; see `invoke plan` for targets")
        raise docker.DockerError(("docker", *argv), result.returncode, result.stderr)
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise BakeryError(f"bake --print gave no JSON ({exc.msg}); is {bake_file(settings)} a bake file?") from exc


def entitlements(definition: Mapping, file: Path, cwd: Path) -> tuple[str, ...]:
    """--allow values: every entitlement a target declares, and fs.read for
    the bake file or local contexts outside the working directory (newer
    buildx demands it, and rawjson progress hides the prompt)."""
    allow: set[str] = set()
    paths = [file.parent]
    for target in definition.get("target", {}).values():
        allow.update(target.get("entitlements") or ())
        for ctx in [target.get("context", "."), *(target.get("contexts") or {}).values()]:
            if not re.match(r"^[a-z][a-z0-9+.-]*://|^target:|^docker-image:|^oci-layout:|^git@", ctx):
                paths.append((cwd / ctx).resolve())
    for path in paths:
        if not path.resolve().is_relative_to(cwd.resolve()):
            allow.add(f"fs.read={path.resolve()}")
    return tuple(sorted(allow))


_VARIABLE = re.compile(r'^variable\s+"([^"]+)"', re.MULTILINE)


def declares(settings: Settings, variable: str) -> bool:
    """Whether the bake file declares this variable."""
    return variable in _VARIABLE.findall(bake_file(settings).read_text())


def _definition_key(settings: Settings, targets: Sequence[str], env: Mapping[str, str]) -> str:
    """A hash of everything `--print` reads: the bake file, the values of the
    variables it declares, the targets, the working directory and the buildx
    binary. The Dockerfiles are not among them: `--print` does not read them."""
    import hashlib

    from bakery.engine import probe

    file = bake_file(settings)
    text = file.read_text()
    variables = {name: env.get(name) for name in sorted(set(_VARIABLE.findall(text)))}
    parts = [str(file), text, variables, list(targets), str(ROOT), probe.binaries()]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def definition(settings: Settings, targets: Sequence[str], env: Mapping[str, str]) -> dict:
    """The `--print` definition, kept in the probe cache by its inputs: a bake
    of the same tree and variables costs no `--print` (a warm cached bake is
    then the bake's own docker calls only)."""
    from bakery.engine import probe

    path = probe.cache_dir() / "definitions" / f"{_definition_key(settings, targets, env)}.json"
    try:
        found = json.loads(path.read_text())
        if isinstance(found, dict):
            return found
    except (OSError, ValueError):
        pass
    printed = print_definition(settings, targets, env)
    probe.store_json(path, printed)
    return printed


def tree_targets(settings: Settings) -> tuple[str, ...]:
    """Every target the bake file declares (abstract `_` targets excluded)."""
    text = bake_file(settings).read_text()
    return tuple(n for n in re.findall(r'^target "([^"]+)"', text, re.MULTILINE) if not n.startswith("_"))


def tree_entitlements(settings: Settings) -> tuple[str, ...]:
    """All entitlements the tree declares, plus network.host, which buildx
    grants by default only while no entitlement is configured."""
    vector = settings.definition.default_vector()
    definition = print_definition(settings, tree_targets(settings), vector_env(settings, vector))
    found = {e for t in definition.get("target", {}).values() for e in t.get("entitlements") or ()}
    return tuple(sorted(found | {"network.host"}))
