"""The test lab: registries and a second runner on this machine
(docs/fleet.md).

What a CI fleet has, here on one host:
- two OCI distribution registries (Debian's docker-registry 2.8, unpacked by
  ci/provision-lab.sh) on 127.0.0.1, each with its own storage: `shared`,
  which trusted runs write, and `scopes`, for untrusted runs (registry 2.8
  has no per-repository rights, so trust needs two registries);
- runner B: a second dockerd with the containerd image store, its own
  containerd (a shared one would share content and flatter the figures), its
  own data-root, exec-root, pidfile, socket and config, and its own bridge
  created here with `--iptables=false`; the lab adds the NAT and FORWARD
  rules B's RUN steps need to reach the Debian mirror, and removes them.

B starts holding only the root image, which B makes itself with the code of
`invoke system-image` (mmdebstrap on this host, loaded into B's engine): the
root is reproducible, so B's is the same image as every other runner's made
from the same mirror content (docs/decisions/reproducible-root.md). That costs
mmdebstrap's time (15 to 60 s) per runner. `add_runner` starts another such
runner. `down` leaves nothing behind: `snapshot` before `up` and after
`down` and compare with `leftovers`.

Use: `with lab.running() as lab: ...`, or `lab.up()` / `lab.down(lab)`.
Needs root (it creates a bridge and iptables rules).

The daemons are long-running processes, not docker CLI calls, so they are
started here with Popen; `ip` and `iptables` go through the process seam
(`_host`); every docker CLI call goes through bakery.engine.docker.run with B's
environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bakery.config import settings
from bakery.engine import claims, docker, process
from bakery.errors import BakeryError, EnvironmentNotReady
from lab.front import PullFront


def registry_bin() -> Path:
    """Debian's docker-registry, unpacked under BAKERY_LAB_PREFIX by ci/provision-lab.sh."""
    return Path(settings.load({}).lab_prefix) / "usr/bin/docker-registry"


PROVISION_HINT = "provision it: sudo ci/provision-lab.sh"
MARK = "bakery-lab"  # names, comments and temp directories carry it
SOCKET_MAX = 107  # sun_path is 108 bytes with its NUL
_MANIFESTS = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def _host(argv: Sequence[str], *, check: bool = True) -> process.Completed:
    """Run a host tool (ip, iptables) through the process seam. Never a shell string."""
    result = process.run(argv, check=False, quiet=True)
    if check and result.returncode != 0:
        raise BakeryError(f"lab: {shlex.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


def htpasswd_line(user: str, password: str) -> str:
    """One htpasswd line; registry 2.8 accepts bcrypt only (bcrypt is a dev dependency)."""
    import bcrypt

    return f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=8)).decode()}\n"


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, ready: object, timeout: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
            raise EnvironmentNotReady(f"lab: {what} exited with {proc.returncode}: {' | '.join(tail)}")
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise EnvironmentNotReady(f"lab: {what} not ready after {timeout:.0f}s (log: {log})")


def _stop(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@dataclass
class Registry:
    name: str
    root: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    # (user, password): the registry then requires them (htpasswd, bcrypt), as
    # a real image registry does; the lab's own API calls send them.
    credentials: tuple[str, str] | None = None

    @property
    def host(self) -> str:
        """host:port, as image and cache references spell it."""
        return f"127.0.0.1:{self.port}"

    def api(self, path: str, *, method: str = "GET", accept: str = "") -> tuple[int, dict[str, str], bytes]:
        """One request to the registry's HTTP API (distribution v2)."""
        request = urllib.request.Request(f"http://{self.host}/v2/{path.lstrip('/')}", method=method)
        if accept:
            request.add_header("Accept", accept)
        if self.credentials is not None:
            request.add_header("Authorization", _basic(*self.credentials))
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (http to 127.0.0.1)
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def alive(self) -> bool:
        try:
            return self.api("")[0] == 200
        except OSError:
            return False

    def start(self) -> None:
        """Start (or restart, on the same port and storage) this registry."""
        if not registry_bin().is_file():
            raise EnvironmentNotReady(f"lab: {registry_bin()} is missing; {PROVISION_HINT}")
        config = self.root / "config.yml"
        storage = self.root / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        settings: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
            "http": {"addr": self.host},
        }
        if self.credentials is not None:
            htpasswd = self.root / "htpasswd"
            htpasswd.write_text(htpasswd_line(*self.credentials))
            settings["auth"] = {"htpasswd": {"realm": MARK, "path": str(htpasswd)}}
        config.write_text(json.dumps(settings))  # JSON is YAML
        log = self.root / "registry.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(registry_bin()), "serve", str(config)], stdout=out, stderr=out, stdin=subprocess.DEVNULL
            )
        _wait(f"registry {self.name}", self.alive, 30, self.proc, log)

    def stop(self, *, kill: bool = False) -> None:
        if self.proc is not None:
            if kill and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            _stop(self.proc)
            self.proc = None

    def tags(self, repository: str) -> list[str]:
        status, _, body = self.api(f"{repository}/tags/list")
        if status == 404:
            return []
        return sorted(json.loads(body).get("tags") or [])

    def catalog(self) -> list[str]:
        status, _, body = self.api("_catalog")
        return sorted(json.loads(body).get("repositories") or []) if status == 200 else []

    def digest(self, repository: str, tag: str) -> str:
        status, headers, _ = self.api(f"{repository}/manifests/{tag}", method="HEAD", accept=_MANIFESTS)
        if status != 200:
            return ""
        return {k.lower(): v for k, v in headers.items()}.get("docker-content-digest", "")

    def manifest(self, repository: str, tag: str) -> bytes:
        status, _, body = self.api(f"{repository}/manifests/{tag}", accept=_MANIFESTS)
        if status != 200:
            raise BakeryError(f"lab: {self.host}/{repository}:{tag} has no manifest (HTTP {status})")
        return body

    def blob(self, repository: str, digest: str) -> bytes:
        status, _, body = self.api(f"{repository}/blobs/{digest}")
        if status != 200:
            raise BakeryError(f"lab: blob {digest} of {repository} not found (HTTP {status})")
        return body

    def push_blob(self, repository: str, data: bytes) -> str:
        """Monolithic upload (distribution API: POST, then PUT with the digest)."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        status, headers, _ = self.api(f"{repository}/blobs/uploads/", method="POST")
        location = {k.lower(): v for k, v in headers.items()}.get("location", "")
        if status != 202 or not location:
            raise BakeryError(f"lab: cannot start an upload to {repository} (HTTP {status})")
        separator = "&" if "?" in location else "?"
        url = location if location.startswith("http") else f"http://{self.host}{location}"
        request = urllib.request.Request(f"{url}{separator}digest={digest}", data=data, method="PUT")
        request.add_header("Content-Type", "application/octet-stream")
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (http to 127.0.0.1)
            if response.status != 201:
                raise BakeryError(f"lab: upload of {digest} to {repository} answered {response.status}")
        return digest

    def push_manifest(self, repository: str, tag: str, body: bytes, media_type: str) -> None:
        request = urllib.request.Request(f"http://{self.host}/v2/{repository}/manifests/{tag}", data=body, method="PUT")
        request.add_header("Content-Type", media_type)
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (http to 127.0.0.1)
            if response.status != 201:
                raise BakeryError(f"lab: manifest push to {repository}:{tag} answered {response.status}")

    def state(self) -> dict[str, dict[str, str]]:
        """Every repository's tags and their manifest digests."""
        return {repo: {tag: self.digest(repo, tag) for tag in self.tags(repo)} for repo in self.catalog()}


@dataclass
class Runner:
    """Runner B: its own dockerd and containerd under `root`."""

    root: Path
    bridge: str
    subnet: str  # a.b.c.0/24
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    rules: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def socket(self) -> Path:
        return self.root / "d.sock"

    @property
    def env(self) -> dict[str, str]:
        """What a client of runner B needs (no context switch anywhere)."""
        return {
            "DOCKER_HOST": f"unix://{self.socket}",
            "DOCKER_CONFIG": str(self.root / "docker-config"),
            "BUILDX_CONFIG": str(self.root / "buildx"),
        }

    def docker(self, args: Sequence[str], **kwargs: object) -> docker.Completed:
        return docker.run(args, env=docker.environment(self.env), **kwargs)  # type: ignore[arg-type]

    def alive(self) -> bool:
        return self.docker(["version", "--format", "{{.Server.Version}}"], check=False, quiet=True).returncode == 0

    @property
    def dockerd(self) -> subprocess.Popen[bytes] | None:
        return self.procs[-1] if len(self.procs) == 2 else None


@dataclass
class Lab:
    root: Path
    shared: Registry
    scopes: Registry
    runner: Runner | None
    # Where images are published, behind a password (up(publish=...)).
    publish: Registry | None = None
    # More runners like B (add_runner), each with its own root.
    more: list[Runner] = field(default_factory=list)
    # The shared registry's pull-only door (up(pull_only=...), lab/front.py).
    front: PullFront | None = None
    # Runner T (up(trusted_runner=True)): a second lab engine that serves
    # trusted runs only, as a fleet with one engine per trust level has; the
    # machine's own dockerd serves every scope the other tests bring
    # (docs/decisions/one-key-per-step.md).
    runner_t: Runner | None = None

    def registries(self) -> list[Registry]:
        return [self.shared, self.scopes, *([self.publish] if self.publish else [])]

    def describe(self) -> list[str]:
        """Shell lines a user pastes to use the lab (what `invoke lab` prints)."""
        lines = [
            f"# lab in {self.root}",
            f"export BAKERY_CACHE_DIR={self.shared.host}/bakery/cache",
            f"export BAKERY_CACHE_SCOPES_REF={self.scopes.host}/bakery/scopes",
        ]
        if self.front is not None:
            lines.append(f"# pull-only door of the shared cache: {self.front.host}/bakery/cache")
        if self.runner is not None:
            lines.append("# runner B:")
            lines += [f"export {key}={value}" for key, value in sorted(self.runner.env.items())]
        return lines


def _pick_subnet() -> str:
    routes = _host(["ip", "-4", "route", "show"]).stdout
    for _ in range(50):
        third = secrets.randbelow(200) + 20
        candidate = f"10.213.{third}."
        if candidate not in routes:
            return candidate + "0/24"
    raise EnvironmentNotReady("lab: no free 10.213.x.0/24 subnet for runner B's bridge")


def _add_rule(runner: Runner, table: str, rule: list[str]) -> None:
    tagged = [*rule, "-m", "comment", "--comment", f"{MARK}:{runner.bridge}"]
    chain = tagged[0]
    if table == "filter":
        _host(["iptables", "-t", table, "-I", chain, "1", *tagged[1:]])
    else:
        _host(["iptables", "-t", table, "-A", *tagged])
    runner.rules.append((table, tagged))


def _network_up(runner: Runner) -> None:
    gateway = runner.subnet.replace(".0/24", ".1/24")
    _host(["ip", "link", "add", "name", runner.bridge, "type", "bridge"])
    _host(["ip", "addr", "add", gateway, "dev", runner.bridge])
    _host(["ip", "link", "set", runner.bridge, "up"])
    # The host's FORWARD policy is DROP (A's dockerd); B's dockerd writes no rules.
    _add_rule(runner, "nat", ["POSTROUTING", "-s", runner.subnet, "!", "-o", runner.bridge, "-j", "MASQUERADE"])
    _add_rule(runner, "filter", ["FORWARD", "-i", runner.bridge, "-j", "ACCEPT"])
    _add_rule(
        runner,
        "filter",
        ["FORWARD", "-o", runner.bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"],
    )


def _network_down(runner: Runner) -> None:
    for table, rule in reversed(runner.rules):
        _host(["iptables", "-t", table, "-D", *rule], check=False)
    runner.rules.clear()
    if _host(["ip", "link", "show", runner.bridge], check=False).returncode == 0:
        _host(["ip", "link", "del", runner.bridge], check=False)


def _start_runner(root: Path, name: str = "b") -> Runner:
    if shutil.which("dockerd") is None or shutil.which("containerd") is None:
        raise EnvironmentNotReady("lab: dockerd or containerd not on PATH; run: sudo ci/provision-docker.sh")
    runner = Runner(root / name, f"bkl{secrets.token_hex(3)}", _pick_subnet())
    b = runner.root
    for sub in ("containerd", "data", "exec", "docker-config", "buildx"):
        (b / sub).mkdir(parents=True, exist_ok=True)
    if len(str(runner.socket)) > SOCKET_MAX or len(str(b / "c.sock")) > SOCKET_MAX:
        raise EnvironmentNotReady(f"lab: socket paths under {b} are too long; use a shorter TMPDIR")
    try:
        _network_up(runner)
        (b / "containerd.toml").write_text(
            "\n".join(
                [
                    "version = 2",
                    f'root = "{b}/containerd/root"',
                    f'state = "{b}/containerd/state"',
                    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
                    "[grpc]",
                    f'  address = "{b}/c.sock"',
                    "[ttrpc]",
                    f'  address = "{b}/c.sock.ttrpc"',
                    "",
                ]
            )
        )
        (b / "daemon.json").write_text(json.dumps({"features": {"containerd-snapshotter": True}}) + "\n")
        log = b / "containerd.log"
        with log.open("ab") as out:
            containerd = subprocess.Popen(
                ["containerd", "--config", str(b / "containerd.toml")], stdout=out, stderr=out, stdin=subprocess.DEVNULL
            )
        runner.procs.append(containerd)
        _wait("runner B's containerd", (b / "c.sock").exists, 30, containerd, log)
        log = b / "dockerd.log"
        argv = [
            "dockerd",
            "--config-file",
            str(b / "daemon.json"),
            "--data-root",
            str(b / "data"),
            "--exec-root",
            str(b / "exec"),
            "--pidfile",
            str(b / "dockerd.pid"),
            "--host",
            f"unix://{runner.socket}",
            "--containerd",
            str(b / "c.sock"),
            "--bridge",
            runner.bridge,
            "--iptables=false",
            "--ip6tables=false",
            "--ip-masq=false",
        ]
        with log.open("ab") as out:
            dockerd = subprocess.Popen(argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        runner.procs.append(dockerd)
        _wait("runner B's dockerd", runner.alive, 60, dockerd, log)
    except BaseException:
        # Not yet in the Lab: nothing else would stop its daemons or remove
        # its bridge and rules.
        _stop_runner(runner)
        raise
    return runner


def _stop_runner(runner: Runner) -> None:
    for proc in reversed(runner.procs):
        _stop(proc, timeout=60)
    runner.procs.clear()
    # A killed dockerd (the fault test) orphans its build containers' runc
    # processes; they name B's directories in their command lines.
    for pid in _pids_mentioning(str(runner.root)):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    _network_down(runner)
    for mount in reversed(_mounts_under(runner.root)):
        _host(["umount", "-l", mount], check=False)


def _pids_mentioning(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if text in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root) + "/"
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(prefix):
            points.append(point)
    return points


def make_root_image(runner: Runner, image: str) -> str:
    """The runner makes its own root `image` (name:tag), as `invoke
    system-image` does on a CI runner; what `ensure` reports."""
    from bakery.config.matrix import Vector
    from bakery.engine import system_image

    name, _, tag = image.partition(":")
    vector = Vector((("sys_name", name), ("sys_version", tag)))
    return system_image.ensure(settings.load({}), vector, env=docker.environment(runner.env))


def add_runner(lab: Lab, image: str = "debian:testing-slim") -> Runner:
    """Another runner like B (its own dockerd, containerd, state and bridge)
    that makes its own root `image`; `down` stops it."""
    runner = _start_runner(lab.root, f"r{len(lab.more) + 2}")
    lab.more.append(runner)
    make_root_image(runner, image)
    return runner


def make_fresh(runner: Runner) -> None:
    """The runner as a new machine: only its root images (`debian:*`, and per
    architecture `amd64/debian:*`, `arm64v8/debian:*`), an empty build cache, and
    none of bakery's shared-key claims (bakery.engine.claims), which go with the
    engine, as they do on an ephemeral runner."""
    images = runner.docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]).stdout.split()
    doomed = [i for i in images if not i.rsplit("/", 1)[-1].startswith("debian:")]
    if doomed:
        runner.docker(["image", "rm", *doomed])
    runner.docker(["buildx", "prune", "--all", "--force"])
    marks = runner.docker(["volume", "ls", "--quiet", "--filter", f"label={claims.LABEL}"]).stdout.split()
    if marks:
        runner.docker(["volume", "rm", "--force", *marks])


def login(runner: Runner, host: str, user: str, password: str) -> None:
    """What `docker login` leaves in runner's client config, written directly:
    the CLI and BuildKit's session read it; no daemon round trip."""
    import base64

    config = Path(runner.env["DOCKER_CONFIG"]) / "config.json"
    data = json.loads(config.read_text()) if config.is_file() else {}
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    data.setdefault("auths", {})[host] = {"auth": auth}
    config.write_text(json.dumps(data, indent=2) + "\n")
    config.chmod(0o600)


def up(
    *,
    root: Path | None = None,
    runner: bool = True,
    root_image: str = "debian:testing-slim",
    publish: tuple[str, str] | None = None,
    pull_only: tuple[str, str] | None = None,
    trusted_runner: bool = False,
) -> Lab:
    """Start the registries and (with `runner`) runner B with its own `root_image`;
    with `publish` (user, password), a third registry that requires them; with
    `pull_only` (user, password), the shared registry's pull-only front for
    that account; with `trusted_runner`, runner T too, also with its own root.

    On any failure everything already started is stopped again."""
    if os.geteuid() != 0:
        raise EnvironmentNotReady("lab: must run as root (it creates a bridge and iptables rules)")
    # Short paths: runner B's sockets must fit in 108 bytes.
    base = Path(tempfile.mkdtemp(prefix=f"{MARK}-", dir=str(root) if root else "/tmp"))
    lab = Lab(base, Registry("shared", base / "shared", free_port()), Registry("scopes", base / "scopes", 0), None)
    try:
        lab.shared.start()
        lab.scopes.port = free_port()
        lab.scopes.start()
        if publish is not None:
            lab.publish = Registry("publish", base / "publish", free_port(), credentials=publish)
            lab.publish.start()
        if pull_only is not None:
            lab.front = PullFront(lab.shared.host, *pull_only)
            lab.front.start()
        if runner:
            lab.runner = _start_runner(base)
            make_root_image(lab.runner, root_image)
        if trusted_runner:
            lab.runner_t = _start_runner(base, "t")
            make_root_image(lab.runner_t, root_image)
    except BaseException:
        down(lab)
        raise
    return lab


def down(lab: Lab) -> None:
    """Stop everything `up` started and remove its files."""
    if lab.front is not None:
        lab.front.stop()
    for registry in lab.registries():
        registry.stop()
    for started in [*lab.more, lab.runner, lab.runner_t]:
        if started is not None:
            _stop_runner(started)
    lab.more.clear()
    shutil.rmtree(lab.root, ignore_errors=True)


@contextmanager
def running(
    *,
    root: Path | None = None,
    runner: bool = True,
    root_image: str = "debian:testing-slim",
    publish: tuple[str, str] | None = None,
    pull_only: tuple[str, str] | None = None,
    trusted_runner: bool = False,
) -> Iterator[Lab]:
    lab = up(
        root=root,
        runner=runner,
        root_image=root_image,
        publish=publish,
        pull_only=pull_only,
        trusted_runner=trusted_runner,
    )
    try:
        yield lab
    finally:
        down(lab)


# Teardown checks: what the machine looks like, and what a lab left behind.


@dataclass(frozen=True)
class Snapshot:
    processes: frozenset[str]  # command lines that mention the lab or a registry
    mounts: frozenset[str]
    links: frozenset[str]  # not veths: A's own builds create and remove those
    iptables: frozenset[str]
    builders: frozenset[str]


def snapshot(env: Mapping[str, str] | None = None) -> Snapshot:
    processes = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if MARK in cmdline or str(registry_bin()) in cmdline:
            processes.add(cmdline)
    mounts = {line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()}
    links = {
        line.split(":")[1].strip().split("@")[0]
        for line in _host(["ip", "-o", "link", "show"]).stdout.splitlines()
        if ":" in line
    }
    # A's dockerd adds and removes its own bridges and rules (docker0, br-<id>
    # for user networks, DOCKER* chains) as other work starts containers;
    # everything else must come back unchanged.
    rules = {
        line
        for line in _host(["iptables-save"]).stdout.splitlines()
        if line and not line.startswith(("#", ":")) and not any(a in line for a in ("docker0", "DOCKER", "br-"))
    }
    listing = docker.run(["buildx", "ls", "--format", "{{.Name}}"], env=env, check=False, quiet=True)
    builders = {line.strip() for line in listing.stdout.splitlines() if line.strip()}
    return Snapshot(
        frozenset(processes),
        frozenset(m for m in mounts if MARK in m),
        frozenset(n for n in links if not n.startswith(("veth", "br-"))),
        frozenset(rules),
        frozenset(builders),
    )


def leftovers(before: Snapshot, after: Snapshot) -> dict[str, list[str]]:
    """What `after` has that `before` did not, per kind (empty: clean)."""
    found = {}
    for kind in ("processes", "mounts", "links", "iptables", "builders"):
        extra = sorted(getattr(after, kind) - getattr(before, kind))
        if extra:
            found[kind] = extra
    return found
