"""`invoke bake`: bake targets for one or more vectors (parity with the
original's bake.sh, plus excludes, --allow, run records and summaries)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bakery import ROOT, builder, cache, docker, matrix, progress
from bakery.argv import options
from bakery.errors import BakeryError, DiskSpaceError, UsageError
from bakery.redact import redact_env
from bakery.settings import TREE_VARIABLES, Settings

log = logging.getLogger("bakery")

_TARGET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
DEFAULT_TARGETS = ("default",)
# The docker CLI's own exit code for a command line it cannot parse (buildx's are 1).
DOCKER_CLI_USAGE = 125


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


def bake_env(settings: Settings, block: Mapping[str, Sequence[str]], cache_scope: str = "") -> dict[str, str]:
    """The environment for one bake run: the matrix block as the plural
    JSON-array variables; any singular or plural axis variable inherited from
    the caller is dropped, so only validated values reach bake. cache_scope
    (bakery.cache) is ours alone: an inherited one is dropped too."""
    axes = settings.definition.axes
    drop = [a.name for a in axes] + [a.plural for a in axes] + ["cache_scope", "nprocs", *TREE_VARIABLES]
    variables = {a.plural: json.dumps(list(block[a.name])) for a in axes}
    variables.update(settings.tree)
    if cache_scope:
        variables["cache_scope"] = cache_scope
    # The metadata file needs no provenance; resolving it costs a step per target.
    variables["BUILDX_METADATA_PROVENANCE"] = "disabled"
    return docker.environment(variables, drop)


def bake_file(settings: Settings) -> Path:
    path = settings.bake_file
    if not path.is_file():
        raise UsageError(f"bake file {path} not found; set BAKERY_BAKE_FILE or pass --file")
    return path


def print_definition(settings: Settings, targets: Sequence[str], env: Mapping[str, str]) -> dict:
    """`docker buildx bake --print`: needs no daemon. Unknown targets are
    usage errors."""
    argv = ["buildx", "bake", *options(file=str(bake_file(settings)), print=True), *targets]
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


def free_space() -> tuple[Path, float]:
    """Free GB where the engine keeps its data (the daemon's root dir when it
    is on this machine, else / : a remote daemon's disk cannot be seen)."""
    root = docker.run(["info", "--format", "{{.DockerRootDir}}"], check=False, quiet=True).stdout.strip()
    probe = Path(root) if root and Path(root).exists() else Path("/")
    return probe, shutil.disk_usage(probe).free / 1e9


def free_space_gate(settings: Settings) -> str:
    where, free_gb = free_space()
    need = settings.number("BAKERY_MIN_FREE_GB") or 0
    if free_gb < need:
        raise DiskSpaceError(
            f"only {free_gb:.1f} GB free under {where}, below BAKERY_MIN_FREE_GB={need}; "
            "free space (invoke builder --prune) or lower the threshold"
        )
    return f"{free_gb:.1f} GB free under {where} (gate: {need} GB)"


@dataclass
class RunRecord:
    directory: Path

    @classmethod
    def create(cls, settings: Settings) -> RunRecord:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        directory = settings.run_dir / f"{stamp}-{uuid.uuid4().hex[:8]}"
        directory.mkdir(parents=True, exist_ok=True)
        return cls(directory)


def bake_argv(
    settings: Settings,
    targets: Sequence[str],
    *,
    builder_name: str,
    allow: Sequence[str],
    allow_supported: bool,
    metadata_file: Path | None,
    progress_mode: str,
    cache_sets: Sequence[str] = (),
) -> list[str]:
    nprocs = settings.nprocs()
    sets = [*([f"*.args.nprocs={nprocs}"] if nprocs else []), *cache_sets]
    return [
        "buildx",
        "bake",
        *options(
            builder=builder_name,
            file=str(bake_file(settings)),
            progress=progress_mode,
            metadata_file=str(metadata_file) if metadata_file else None,
            provenance="true" if settings.flag("BAKERY_PROVENANCE") else "false",
            set=sets or None,
            allow=list(allow) if allow_supported else None,
            secret=list(settings.items("BAKERY_SECRETS")),
            ssh=list(settings.items("BAKERY_SSH")),
        ),
        *targets,
    ]


def run(
    settings: Settings,
    targets: Sequence[str],
    vectors: Sequence[matrix.Vector],
    *,
    print_only: bool = False,
    progress_mode: str = "auto",
    out: Callable[[str], None] = print,
) -> list[progress.Progress]:
    """Bake `targets` for `vectors`, one bake run per cross-product block."""
    targets = check_targets(targets)
    if not vectors:
        raise UsageError("the selection matches no vector of the matrix; see `invoke matrix`")
    blocks = matrix.blocks(vectors, settings.definition.names)
    print_only = print_only or settings.flag("NO_BAKE")
    if settings.flag("CI_VERBOSE_ENV"):
        for key, value in sorted(redact_env(os.environ).items()):
            out(f"env {key}={value}")
    plan = cache.from_settings(settings)
    runs = []
    for block in blocks:
        env = bake_env(settings, block, cache_scope=plan.scope)
        definition = print_definition(settings, targets, env)
        if print_only or settings.flag("CI_PRINT_BAKE"):
            out(json.dumps(definition, indent=2))
        if print_only:
            continue
        runs.append(_bake(settings, targets, block, env, definition, progress_mode, out, plan))
    return runs


def _bake(
    settings: Settings,
    targets: Sequence[str],
    block: Mapping[str, Sequence[str]],
    env: Mapping[str, str],
    definition: Mapping,
    progress_mode: str,
    out: Callable[[str], None],
    plan: cache.CachePlan,
) -> progress.Progress:
    docker.require_daemon()
    buildx = docker.buildx()
    builder_name = builder.name(settings)
    status = builder.require(builder_name)
    free_space_gate(settings)
    record = RunRecord.create(settings)
    instances = cache.instances(dict(definition))
    if plan.export is not None and status.driver == "docker":
        problem = cache.export_problem(plan, status.driver, builder.containerd_store())
        if problem:
            out(f"WARNING {problem}")
    plan.prepare(instances)
    allow = sorted({*entitlements(definition, bake_file(settings), ROOT), *plan.entitlements()})
    mode = "rawjson" if progress_mode == "auto" else progress_mode
    argv = bake_argv(
        settings,
        targets,
        builder_name=builder_name,
        allow=allow,
        allow_supported=buildx.allow,
        metadata_file=record.directory / "metadata.json",
        progress_mode="quiet" if settings.flag("CI_SILENT_BAKE") and mode != "rawjson" else mode,
        cache_sets=plan.set_values(instances),
    )
    label = " ".join(f"{k}={','.join(v)}" for k, v in block.items())
    (record.directory / "command.json").write_text(json.dumps({"argv": ["docker", *argv], "vector": block}, indent=2))
    silent = settings.flag("CI_SILENT_BAKE")
    tracker = progress.Progress(echo=None if silent or progress_mode != "auto" else out)
    # Line-buffered: the record shows the progress while the bake runs, and
    # keeps it up to the last line if bakery itself is killed.
    raw_log = (record.directory / "progress.jsonl").open("w", buffering=1)

    def on_stderr(line: str) -> None:
        raw_log.write(line)
        if mode == "rawjson":
            tracker.feed(line)
        # auto renders one line per step (tracker's echo); explicit rawjson and
        # plain pass buildx's own output through.
        if progress_mode in ("rawjson", "plain") and not silent:
            sys.stderr.write(line)

    try:
        result = docker.run(argv, env=env, check=False, capture=True, on_stderr=on_stderr, cwd=ROOT)
    finally:
        raw_log.close()
    summary = progress.summary(tracker) if mode == "rawjson" else []
    (record.directory / "summary.txt").write_text("\n".join(summary) + "\n")
    for line in summary:
        out(line)
    if result.returncode != 0:
        out(f"ERROR {' '.join(targets)} [{label}] exit {result.returncode} (record: {record.directory})")
        raise BakeryError(
            f"bake failed with exit code {result.returncode}; see {record.directory}", exit_code=result.returncode
        )
    for line in plan.publish(instances):
        log.info(line)
    out(f"ACCEPT {' '.join(targets)} [{label}] (record: {record.directory})")
    return tracker


__all__ = ["ROOT", "run", "bake_argv", "bake_env", "entitlements", "check_targets"]
