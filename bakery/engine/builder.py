"""`invoke builder`: create, check and maintain the persistent buildx builder.

It inspects first and creates only what is missing (idempotent). The docker
driver is the engine's own builder; docker-container gets a rendered
buildkitd.toml; remote and kubernetes take driver options through.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import re
import socket
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from bakery.argv import options
from bakery.config.settings import Settings
from bakery.engine import claims, docker
from bakery.engine.lock import builder_lock
from bakery.errors import EnvironmentNotReady, UsageError

log = logging.getLogger("bakery")

_UNSAFE = re.compile(r"[^a-z0-9_-]+")
# buildx accepts [a-zA-Z0-9_.-]; we keep to lowercase, digits, _ and -.
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


def sanitize(*parts: str) -> str:
    """A valid builder name from free text: lowercase, [a-z0-9_-], at most
    63 characters (a hash keeps truncated names distinct)."""
    text = _UNSAFE.sub("-", "-".join(p for p in parts if p).lower()).strip("-")
    name = "bakery-" + (text or "local")
    if len(name) > 63:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = name[:54].rstrip("-") + "-" + digest
    return name


def name(settings: Settings) -> str:
    """The builder to use. Explicit, else scoped from settings; the docker
    driver always means the engine's own builder (the scope does not apply)."""
    explicit = settings.builder
    if explicit:
        if not _NAME.match(explicit):
            raise UsageError(
                f"BAKERY_BUILDER={explicit!r} is not a valid builder name; allowed: [a-z][a-z0-9_-], 63 at most"
            )
        return explicit
    if settings.driver == "docker":
        # The engine's own builder is named after the docker context; resolved
        # as the CLI does, without running it: no docker call.
        from bakery.engine import probe

        return probe.endpoint().context
    actor = settings.github_actor or getpass.getuser()
    scope = settings.builder_scope
    if scope == "branch":
        return sanitize(actor, settings.github_repository, settings.github_ref_name)
    if scope == "runner":
        return sanitize(settings.runner_name or socket.gethostname())
    return sanitize(actor)


def render_config(settings: Settings, entitlements: tuple[str, ...]) -> str:
    """buildkitd.toml for a docker-container builder. All entitlements are
    listed: buildx stops adding network.host itself once any is passed."""
    gc = {
        "reservedSpace": settings.gc_reserved,
        "maxUsedSpace": settings.gc_max_used,
        "minFreeSpace": settings.gc_min_free,
    }
    lines = [f"insecure-entitlements = {json.dumps(sorted(set(entitlements)))}", ""]
    lines += ["[worker.oci]", "  gc = true", *(f"  {k} = {json.dumps(v)}" for k, v in gc.items()), ""]
    lines += ["[[worker.oci.gcpolicy]]", *(f"  {k} = {json.dumps(v)}" for k, v in gc.items())]
    lines += [f"  keepDuration = {json.dumps(settings.gc_keep)}"]
    lines += [f"  filters = {json.dumps(list(settings.gc_filters))}", "  all = true", ""]
    lines += ["[[worker.oci.gcpolicy]]", f"  minFreeSpace = {json.dumps(gc['minFreeSpace'])}", "  all = true", ""]
    mirrors = settings.registry_mirrors
    if mirrors:
        lines += ['[registry."docker.io"]', f"  mirrors = {json.dumps(list(mirrors))}", ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class Status:
    name: str
    exists: bool
    driver: str = ""
    nodes: tuple[str, ...] = ()
    buildkit: str = ""


def inspect(builder: str) -> Status:
    result = docker.run(["buildx", "inspect", builder], check=False, quiet=True)
    if result.returncode != 0:
        return Status(builder, False)
    fields: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), []).append(value.strip())
    return Status(
        builder,
        True,
        driver=(fields.get("Driver") or [""])[0],
        nodes=tuple(fields.get("Name", [])[1:]),  # the first Name is the builder's
        buildkit=(fields.get("BuildKit version") or fields.get("Buildkit") or [""])[0],
    )


def require(builder: str) -> Status:
    status = inspect(builder)
    if not status.exists:
        raise EnvironmentNotReady(f"buildx builder {builder!r} not found; create it: invoke builder")
    return status


def containerd_store() -> bool:
    """Whether the engine uses the containerd image store (needed for cache
    export on the docker driver: docs/decisions/engine-from-debian.md)."""
    out = docker.run(["info", "--format", "{{json .DriverStatus}}"], check=False, quiet=True).stdout
    return "io.containerd.snapshotter" in out


def ensure(settings: Settings, entitlements: tuple[str, ...], config_dir: Path) -> list[str]:
    """Inspect, create what is missing, and say what was found or done."""
    driver = settings.driver
    builder = name(settings)
    report = []
    if driver == "docker":
        docker.require_daemon()
        if settings.builder_scope != "actor" or settings.github_actor:
            report.append("note: the docker driver uses the engine's own builder; the builder scope does not apply")
        status = require(builder)
        report.append(f"builder {builder}: driver {status.driver or driver}, exists (the engine's own)")
        if not containerd_store():
            report.append(
                "note: cache export needs the containerd image store: set "
                '{"features": {"containerd-snapshotter": true}} in /etc/docker/daemon.json and restart dockerd'
            )
        return report
    # Inspect-then-create under the lock: a second caller waits, then finds it.
    with _lock(settings, builder):
        return _create_missing(settings, builder, entitlements, config_dir)


def _create_missing(settings: Settings, builder: str, entitlements: tuple[str, ...], config_dir: Path) -> list[str]:
    driver = settings.driver
    report: list[str] = []
    status = inspect(builder)
    if status.exists:
        report.append(f"builder {builder}: exists, driver {status.driver}; unchanged")
        return report
    argv = ["buildx", "create", *options(name=builder, driver=driver)]
    if driver == "docker-container":
        config_dir.mkdir(parents=True, exist_ok=True)
        config = config_dir / f"{builder}.buildkitd.toml"
        config.write_text(render_config(settings, entitlements))
        argv += options(buildkitd_config=str(config))
        report.append(f"rendered {config}")
    driver_opts = list(settings.driver_opts)
    if settings.buildkit_image:
        driver_opts.append(f"image={settings.buildkit_image}")
    argv += options(driver_opt=driver_opts, bootstrap=driver == "docker-container" and settings.bootstrap)
    if settings.endpoint:
        argv.append(settings.endpoint)
    docker.run(argv)
    report.append(f"builder {builder}: created with driver {driver}")
    return report


def _lock(settings: Settings, builder: str) -> AbstractContextManager[Path]:
    """The builder lock (bakery.engine.lock) for create, remove, prune and append;
    bakes never take it."""
    return builder_lock(builder, settings.lock_timeout)


_ENDPOINT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+=-]*")


def append(settings: Settings, endpoint: str) -> str:
    if not _ENDPOINT.fullmatch(endpoint):
        raise UsageError(f"--append {endpoint!r} is not an endpoint; allowed: a value matching {_ENDPOINT.pattern}")
    if settings.driver == "docker":
        raise UsageError("--append needs a docker-container, remote or kubernetes builder, not the engine's own")
    builder = name(settings)
    with _lock(settings, builder):
        require(builder)
        docker.run(
            [
                "buildx",
                "create",
                *options(append=True, name=builder, driver_opt=list(settings.driver_opts)),
                endpoint,
            ]
        )
    return f"builder {builder}: appended node {endpoint}"


def remove(settings: Settings) -> str:
    if settings.driver == "docker":
        raise UsageError("the docker driver's builder is the engine's own and cannot be removed; use --prune")
    builder = name(settings)
    with _lock(settings, builder):
        status = inspect(builder)
        if not status.exists:
            return f"builder {builder}: not present; nothing to remove"
        docker.run(["buildx", "rm", builder])
        # Its BuildKit state went with it: so do the scopes' claims on it.
        state = claims.state_of(status.driver, builder)
        if state is not None and claims.forget(state):
            return f"builder {builder}: removed, and its shared-key claims"
    return f"builder {builder}: removed"


def prune(settings: Settings, keep_storage: str | None, filters: tuple[str, ...], *, everything: bool = False) -> str:
    """Prune the builder's cache; `everything` adds --all (internal and frontend
    records too), what cleared a damaged cache where a partial prune did not."""
    builder = name(settings)
    with _lock(settings, builder):
        status = require(builder)
        help_text = docker.run(["buildx", "prune", "--help"], quiet=True).stdout
        # Newer buildx renamed --keep-storage to --reserved-space: probe, don't guess.
        keep_flag = "keep_storage" if "--keep-storage" in help_text else "reserved_space"
        docker.run(
            [
                "buildx",
                "prune",
                *options(
                    builder=builder, all=everything, force=True, filter=list(filters), **{keep_flag: keep_storage}
                ),
            ]
        )
        # A pruned state that holds no record any more (nothing else was
        # building) holds nobody's layers or mounts: its claims go
        # (docs/decisions/one-key-per-step.md). A partial prune keeps them.
        state = claims.state_of(status.driver, builder)
        if everything and state is not None and _empty(builder) and claims.forget(state):
            return f"builder {builder}: pruned; its cache is empty, so its shared-key claims were removed"
    return f"builder {builder}: pruned"


def _empty(builder: str) -> bool:
    """Whether `buildx du` shows the builder's cache empty (Total 0B)."""
    usage = docker.run(["buildx", "du", "--builder", builder], check=False, quiet=True)
    totals = [line.split()[1:] for line in usage.stdout.splitlines() if line.startswith("Total:")]
    return usage.returncode == 0 and totals == [["0B"]]


def status_lines(settings: Settings) -> list[str]:
    builder = name(settings)
    status = require(builder)
    usage = docker.run(["buildx", "du", "--builder", builder], check=False, quiet=True).stdout.strip().splitlines()
    total = next((line for line in reversed(usage) if line.lower().startswith(("total", "shared"))), "")
    return [
        f"builder:  {builder}",
        f"driver:   {status.driver}",
        f"nodes:    {', '.join(status.nodes) or '-'}",
        f"buildkit: {status.buildkit or '-'}",
        f"disk:     {total or 'unknown'}",
    ]
