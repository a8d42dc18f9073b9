"""What a bake needs to know about the engine, probed once per endpoint and
cached: on a warm cache no docker call runs besides the bake.

The cache is keyed on the endpoint (docker context and host, resolved here
without running docker, the way the docker CLI resolves them), the builder,
and the docker CLI and buildx plugin binaries (path, size, mtime). An entry
records the daemon's ID and, for a unix socket, the socket file's identity:
a restarted daemon makes a new socket, so its entry no longer applies. Before
an entry is used, the socket must accept a connection (a local syscall, not a
docker call), so a stopped daemon is probed again and exits 3. Entries for
remote hosts expire after REMOTE_TTL seconds.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bakery.errors import EnvironmentNotReady

# A remote daemon's restart cannot be seen locally: re-probe after this long.
REMOTE_TTL = 600.0
DEFAULT_HOST = "unix:///var/run/docker.sock"
# Where the docker CLI looks for plugins (cli-plugins/manager), after DOCKER_CONFIG's.
_PLUGIN_DIRS = (
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
)


def docker_config() -> Path:
    return Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bakery"


@dataclass(frozen=True)
class Endpoint:
    context: str
    host: str

    @property
    def socket(self) -> Path | None:
        return Path(self.host.removeprefix("unix://")) if self.host.startswith("unix://") else None


def endpoint() -> Endpoint:
    """The context and host the docker CLI would use (its resolveContextName
    order: DOCKER_HOST, DOCKER_CONTEXT, the config's currentContext)."""
    import json

    host = os.environ.get("DOCKER_HOST", "")
    if host:
        return Endpoint("default", host)
    name = os.environ.get("DOCKER_CONTEXT", "")
    if not name:
        try:
            name = json.loads((docker_config() / "config.json").read_text()).get("currentContext", "")
        except (OSError, ValueError):
            name = ""
    if not name or name == "default":
        return Endpoint("default", DEFAULT_HOST)
    import hashlib

    meta = docker_config() / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest() / "meta.json"
    try:
        host = json.loads(meta.read_text())["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, KeyError, TypeError):
        # Let docker itself say what is wrong with the context.
        host = f"context:{name}"
    return Endpoint(name, host)


def _stat(path: Path | None) -> list[object]:
    try:
        st = path.stat() if path else None
    except OSError:
        st = None
    return [str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns] if st else [str(path), None]


def binaries() -> list[object]:
    import shutil

    cli = shutil.which("docker")
    dirs = [docker_config() / "cli-plugins", *map(Path, _PLUGIN_DIRS)]
    plugin = next((d / "docker-buildx" for d in dirs if (d / "docker-buildx").exists()), None)
    return [_stat(Path(cli) if cli else None), _stat(plugin)]


def buildx_state() -> Path:
    return Path(os.environ["BUILDX_CONFIG"]) if os.environ.get("BUILDX_CONFIG") else docker_config() / "buildx"


@dataclass(frozen=True)
class Probe:
    """What the probes found for one endpoint and builder."""

    daemon_id: str
    server_version: str
    root_dir: str
    containerd_store: bool
    buildx_version: str
    bake_flags: tuple[str, ...]
    builder: str
    driver: str
    # Identity of the unix socket when probed (empty for remote hosts).
    socket: tuple[int, ...] = ()
    probed_at: float = 0.0

    @property
    def allow(self) -> bool:
        return "--allow" in self.bake_flags


def key(where: Endpoint, builder: str) -> str:
    import hashlib
    import json

    parts = [where.context, where.host, builder, binaries(), _stat(buildx_state() / "instances" / builder)]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _socket_identity(where: Endpoint) -> tuple[int, ...]:
    path = where.socket
    if path is None:
        return ()
    try:
        st = path.stat()
    except OSError:
        return ()
    return (st.st_ino, st.st_ctime_ns)


def _accepts(path: Path) -> bool:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def _usable(found: Probe, where: Endpoint) -> bool:
    if where.socket is None:
        return time.time() - found.probed_at < REMOTE_TTL
    return bool(found.socket) and found.socket == _socket_identity(where) and _accepts(where.socket)


def _path(where: Endpoint, builder: str) -> Path:
    return cache_dir() / "probes" / f"{key(where, builder)}.json"


def cached(builder: str) -> Probe | None:
    import json

    where = endpoint()
    try:
        data = json.loads(_path(where, builder).read_text())
        found = Probe(**{**data, "bake_flags": tuple(data["bake_flags"]), "socket": tuple(data["socket"])})
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return found if _usable(found, where) else None


def forget(builder: str) -> None:
    """Drop the entry (the bake said the daemon or builder went away)."""
    _path(endpoint(), builder).unlink(missing_ok=True)


def daemon_error() -> EnvironmentNotReady:
    where = os.environ.get("DOCKER_HOST", "the default socket")
    return EnvironmentNotReady(f"Docker daemon not reachable at {where}; start it: sudo ci/provision-docker.sh")


# One `docker info` gives the daemon's ID, version, root dir and image store.
_INFO = "{{json .ID}} {{json .ServerVersion}} {{json .DockerRootDir}} {{json .DriverStatus}}"


def probe(builder: str) -> Probe:
    """The cached probe for this endpoint and builder, else all probes at once
    (concurrently) and the result cached."""
    return cached(builder) or fresh(builder)


def fresh(builder: str) -> Probe:
    import json

    from bakery.engine import process
    from bakery.engine.process import PROVISION_HINT

    where = endpoint()
    socket_before = _socket_identity(where)
    info, version, help_text, inspect = process.run_all(
        [
            ("docker", "info", "--format", _INFO),
            ("docker", "buildx", "version"),
            ("docker", "buildx", "bake", "--help"),
            ("docker", "buildx", "inspect", builder),
        ]
    )  # fmt: skip
    fields = info.stdout.split(" ", 3)
    if info.returncode != 0 or len(fields) < 4 or not json.loads(fields[0] or '""'):
        raise daemon_error()
    if version.returncode != 0:
        raise EnvironmentNotReady(f"docker buildx plugin not found; {PROVISION_HINT}")
    if inspect.returncode != 0:
        raise EnvironmentNotReady(f"buildx builder {builder!r} not found; create it: invoke builder")
    driver = next((ln.partition(":")[2].strip() for ln in inspect.stdout.splitlines() if ln.startswith("Driver:")), "")
    flags = sorted({w.rstrip(",") for w in help_text.stdout.split() if w.startswith("--")})
    found = Probe(
        daemon_id=json.loads(fields[0]),
        server_version=json.loads(fields[1]),
        root_dir=json.loads(fields[2]),
        containerd_store="io.containerd.snapshotter" in fields[3],
        buildx_version=version.stdout.strip(),
        bake_flags=tuple(flags),
        builder=builder,
        driver=driver,
        socket=socket_before,
        probed_at=time.time(),
    )
    store_json(_path(where, builder), asdict(found))
    return found


def store_json(path: Path, data: object) -> None:
    """Write a cache entry atomically: concurrent bakes may probe at once."""
    import json
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
            json.dump(data, tmp)
        os.replace(tmp.name, path)
    except OSError:
        # An unwritable cache only costs the probes next time.
        return
