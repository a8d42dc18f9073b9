"""`invoke system-image`: the root images without a registry
(docs/decisions/root-without-registry.md, docs/decisions/reproducible-root.md,
docs/decisions/cross-builds.md).

A vector needs two roots: its target platform's, named as the Docker Official
Images name an architecture's images (`arm64v8/debian:testing-slim`), and the
build platform's, the plain `debian:testing-slim`, which is this machine's
architecture. On an amd64 machine an amd64 vector's two roots are one image
under both names.

mmdebstrap builds the root filesystem of `<sys_name>:<sys_version>` from a
Debian mirror as a tarball that depends only on the mirror's content
(SOURCE_DATE_EPOCH fixed, the host's resolv.conf and hostname left out). That
tarball is the image's one layer as it is; its config, manifest and index are
written here with no run-time data, packed as an OCI image layout and loaded
with `docker load`. The same mirror content gives the same image digest on
every runner, so the fleet's cache keys above the root agree. This is how
air-gapped runners, our CI among them, get a root.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import shutil
import tarfile
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bakery.config.matrix import Vector, arch_and_level
from bakery.config.settings import Settings
from bakery.config.toolchains import suite_for
from bakery.engine import docker, emulation, process
from bakery.errors import BakeryError, EnvironmentNotReady, UsageError

# The root's SOURCE_DATE_EPOCH, the same on every runner and for every mirror
# state: 2024-01-01T00:00:00Z. mmdebstrap's output is "reproducible across
# multiple runs with the same options and mirror content" when it is set
# (mmdebstrap(1), ENVIRONMENT VARIABLES); it clamps the tarball's mtimes to it
# and maintainer scripts use it (e.g. the last-change day in /etc/shadow). It
# is also the image's `created`. Not the time of the run (every root would
# differ), not a commit's time (the root would change with every commit while
# the archive did not), and not 0 (a last-change day of 0 in /etc/shadow means
# "change the password at the next login", shadow(5)).
EPOCH = 1704067200

# The Debian architecture mmdebstrap installs and the OCI platform of the
# image, by the host's machine name: mmdebstrap is told the architecture so
# the two always agree.
ARCHITECTURES = {"x86_64": ("amd64", "amd64"), "aarch64": ("arm64", "arm64")}

LAYER = "application/vnd.oci.image.layer.v1.tar"
CONFIG = "application/vnd.oci.image.config.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"


def architectures(machine: str | None = None) -> tuple[str, str]:
    """(Debian architecture, OCI architecture) of this host."""
    machine = machine or platform.machine()
    if machine not in ARCHITECTURES:
        known = ", ".join(sorted(ARCHITECTURES))
        raise UsageError(f"system-image knows the machines {known}; this one is {machine!r}")
    return ARCHITECTURES[machine]


@dataclass(frozen=True)
class Root:
    """One root image: its reference, what it is made from, and the
    `invoke system-image` options that make it."""

    ref: str
    sys_name: str
    sys_version: str
    # sys_target's arch (x86_64, aarch64), Debian's name for it, its OCI platform.
    arch: str
    debian: str
    platform: str
    sys_target: str

    @property
    def command(self) -> str:
        return f"invoke system-image --sys-version {self.sys_version} --sys-target {self.sys_target}"


def roots(settings: Settings, vectors: Iterable[Vector]) -> list[Root]:
    """The roots of the Debian vectors, each once: the target platform's
    (`<namespace>/<sys_name>:<sys_version>`) and the build platform's
    (`<sys_name>:<sys_version>`, this machine's architecture). A vector
    without sys_target (the lab's) takes this machine's."""
    machine = emulation.host()
    found: dict[str, Root] = {}
    for vector in vectors:
        values = vector.as_dict()
        name, version = values["sys_name"], values["sys_version"]
        if name != "debian":
            continue
        host_target = f"{machine}-linux-gnu"
        for sys_target, plain in ((host_target, True), (values.get("sys_target", host_target), False)):
            arch = arch_and_level(sys_target)[0]
            entry = settings.definition.arch(sys_target)
            if entry is None or not entry.namespace:
                raise UsageError(f"system-image knows no Debian architecture for sys_target {sys_target!r}")
            ref = f"{name}:{version}" if plain else f"{entry.namespace}/{name}:{version}"
            found.setdefault(ref, Root(ref, name, version, arch, entry.debian, entry.platform, sys_target))
    return list(found.values())


def mmdebstrap_argv(suite: str, mirror: str, out: Path, arch: str = "amd64") -> list[str]:
    # Some mirrors serve Release files past Valid-Until;
    # mmdebstrap records the option in the image, so apt inside works too.
    # mmdebstrap copies the host's /etc/resolv.conf and /etc/hostname into the
    # root; its manual says to remove them for output that is the same on other
    # hosts (mmdebstrap(1), SOURCE_DATE_EPOCH). The engine provides both files
    # to every container at run time.
    argv = [
        "mmdebstrap",
        "--variant=minbase",
        "--quiet",
        f"--architectures={arch}",
        '--aptopt=Acquire::Check-Valid-Until "false"',
        '--customize-hook=rm "$1"/etc/resolv.conf',
        '--customize-hook=rm "$1"/etc/hostname',
        suite,
        str(out),
    ]
    if mirror:
        argv.append(mirror)
    return argv


def _json(data: object) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _descriptor(media_type: str, data: bytes | None = None, *, digest: str = "", size: int = 0) -> dict[str, object]:
    if data is not None:
        digest, size = "sha256:" + hashlib.sha256(data).hexdigest(), len(data)
    return {"mediaType": media_type, "digest": digest, "size": size}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def _platform(oci_platform: str) -> dict[str, str]:
    """linux/arm/v7 -> {os: linux, architecture: arm, variant: v7}."""
    parts = oci_platform.split("/")
    return {"os": parts[0], "architecture": parts[1], **({"variant": parts[2]} if len(parts) > 2 else {})}


def image_parts(layer_digest: str, layer_size: int, suite: str, oci_arch: str) -> tuple[bytes, bytes]:
    """The config and manifest of the root (JSON with sorted keys, no
    whitespace): nothing in them depends on when or where they were made.
    `oci_arch` is an architecture (amd64) or a whole platform (linux/arm64)."""
    created = datetime.fromtimestamp(EPOCH, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = _json(
        {
            **_platform(oci_arch if "/" in oci_arch else f"linux/{oci_arch}"),
            "created": created,
            # What `docker import --change 'CMD ["bash"]'` gave the root before.
            "config": {"Cmd": ["bash"]},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
            "history": [{"created": created, "created_by": f"mmdebstrap --variant=minbase {suite}"}],
        }
    )
    manifest = _json(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": _descriptor(CONFIG, config),
            "layers": [_descriptor(LAYER, digest=layer_digest, size=layer_size)],
        }
    )
    return config, manifest


def oci_archive(rootfs: Path, out: Path, suite: str, oci_arch: str) -> str:
    """Write the OCI image layout (tar) of the root whose one layer is
    `rootfs`, uncompressed (a compressor's output may differ between its
    versions; the bytes here are mmdebstrap's). Returns the manifest digest."""
    layer_digest, layer_size = _sha256(rootfs), rootfs.stat().st_size
    config, manifest = image_parts(layer_digest, layer_size, suite, oci_arch)
    manifest_desc = _descriptor(MANIFEST, manifest)
    # The index names the manifest's platform, so `docker load --platform` selects it.
    listed = {**manifest_desc, "platform": _platform(oci_arch if "/" in oci_arch else f"linux/{oci_arch}")}
    index = _json({"schemaVersion": 2, "mediaType": INDEX, "manifests": [listed]})
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as archive:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), EPOCH, 0o644
            archive.addfile(info, io.BytesIO(data))

        add("oci-layout", _json({"imageLayoutVersion": "1.0.0"}))
        add("index.json", index)
        add(f"blobs/sha256/{str(manifest_desc['digest']).removeprefix('sha256:')}", manifest)
        add(f"blobs/sha256/{hashlib.sha256(config).hexdigest()}", config)
        info = archive.gettarinfo(str(rootfs), arcname=f"blobs/sha256/{layer_digest.removeprefix('sha256:')}")
        info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = EPOCH, 0o644, 0, 0, "", ""
        with rootfs.open("rb") as stream:
            archive.addfile(info, stream)
    return str(manifest_desc["digest"])


def _loaded_id(stdout: str) -> str:
    """The image `docker load` names: 'Loaded image ID: sha256:…' (an
    archive without names) or 'Loaded image: sha256:…' (containerd store)."""
    for line in stdout.splitlines():
        value = line.rpartition(": ")[2].strip()
        if line.startswith("Loaded image") and value.startswith("sha256:"):
            return value
    raise BakeryError(f"docker load named no image: {stdout.strip() or 'no output'}")


def make(
    settings: Settings,
    suite: str,
    ref: str,
    *,
    env: Mapping[str, str] | None = None,
    debian: str | None = None,
    oci_platform: str | None = None,
) -> str:
    """Build the root of `suite` for the Debian architecture `debian` (this
    machine's when None) and load it into the engine `env` points at (the
    process environment when None) as `ref`. Returns the manifest digest."""
    if shutil.which("mmdebstrap") is None:
        raise EnvironmentNotReady("mmdebstrap not found; install it: apt-get install mmdebstrap")
    if debian is None or oci_platform is None:
        debian, oci_arch = architectures()
        oci_platform = f"linux/{oci_arch}"
    with tempfile.TemporaryDirectory(prefix="bakery-root-") as tmp:
        rootfs = Path(tmp) / "root.tar"
        argv = mmdebstrap_argv(suite, settings.mirror, rootfs, debian)
        # Not docker: mmdebstrap is its own tool, on the same process seam.
        strap_env = process.environment({"SOURCE_DATE_EPOCH": str(EPOCH)})
        result = process.run(argv, check=False, env=strap_env)
        if result.returncode != 0:
            tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise BakeryError(f"mmdebstrap {suite} ({debian}) failed with exit code {result.returncode}: {tail}")
        archive = Path(tmp) / "root.oci.tar"
        digest = oci_archive(rootfs, archive, suite, oci_platform)
        rootfs.unlink()
        # The layout carries no name (a name in it would have to be spelled
        # with the registry's host): tag what the load reports. --platform
        # loads the one platform the layout holds, and says so if it does not.
        load = ["image", "load", "--platform", oci_platform, "--input", str(archive)]
        loaded = _loaded_id(docker.run(load, env=env).stdout)
        docker.run(["image", "tag", loaded, ref], env=env)
    return digest


def ensure_root(
    settings: Settings,
    root: Root,
    *,
    refresh: bool = False,
    env: Mapping[str, str] | None = None,
    made: Collection[str] = (),
) -> str:
    """Make `root` unless it is there (or with `refresh`); one line on what
    was done. `made`: refs made in this run, which `refresh` does not make again."""
    if docker.image_exists(root.ref, env=env) and not refresh:
        return f"{root.ref}: present; skipped (--refresh rebuilds it)"
    if root.arch == emulation.host():
        # This machine's root under its other name: the same image, tagged.
        entry = settings.definition.arch(root.sys_target)
        plain = f"{root.sys_name}:{root.sys_version}"
        twin = plain if root.ref != plain else f"{entry.namespace if entry else ''}/{plain}"
        if (not refresh or twin in made) and docker.image_exists(twin, env=env):
            docker.run(["image", "tag", twin, root.ref], env=env)
            return f"{root.ref}: tagged from {twin} (the same root)"
    suite = suite_for(settings, root.sys_version)
    digest = make(settings, suite, root.ref, env=env, debian=root.debian, oci_platform=root.platform)
    return f"{root.ref}: built from Debian {suite} ({root.debian}) with mmdebstrap and loaded ({digest})"


def ensure_roots(
    settings: Settings, roots: Iterable[Root], *, refresh: bool = False, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """ensure_root for each root, in order; one line each."""
    made: list[str] = []
    for root in roots:
        yield ensure_root(settings, root, refresh=refresh, env=env, made=made)
        made.append(root.ref)


def ensure(settings: Settings, vector: Vector, *, refresh: bool = False, env: Mapping[str, str] | None = None) -> str:
    """Make the roots of `vector` unless they are there (or with `refresh`);
    `env` selects another engine (the lab's runner B), as for docker.run.
    One line per root."""
    if vector["sys_name"] != "debian":
        raise UsageError(f"system-image builds Debian roots only; sys_name={vector['sys_name']!r} needs a registry")
    docker.require_daemon(env=env)
    return "\n".join(ensure_roots(settings, roots(settings, [vector]), refresh=refresh, env=env))


def require(settings: Settings, vectors: Iterable[Vector]) -> None:
    """Before a bake: every root the Debian vectors need is in the engine and
    every foreign architecture among them runs here (emulation.require); else
    one line naming the first missing root and the command that makes it."""
    if not any(a.arches and a.vocabulary for a in settings.definition.axes):
        return  # another bake file (--file): its roots are not this tree's
    vectors = list(vectors)
    needed = roots(settings, vectors)
    inspect = ["image", "inspect", "--format", "{{.Id}}", *(r.ref for r in needed)]
    # One call for all of them; one per root only when one is missing.
    if needed and docker.run(inspect, check=False, quiet=True).returncode != 0:
        for root in needed:
            if not docker.image_exists(root.ref):
                raise EnvironmentNotReady(
                    f"root image {root.ref} ({root.platform}) is not in the engine; make it: {root.command}"
                )
    emulation.require({arch_and_level(v["sys_target"])[0] for v in vectors if "sys_target" in v.as_dict()})
