"""`invoke system-image`: the root image without a registry
(docs/decisions/root-without-registry.md, docs/decisions/reproducible-root.md).

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
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from bakery.config.matrix import Vector
from bakery.config.settings import Settings
from bakery.engine import docker, process
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


def suite_for(settings: Settings, sys_version: str) -> str:
    """The Debian suite: the BAKERY_SUITE setting, else the tag without the
    image variant (testing-slim -> testing, bookworm-slim -> bookworm)."""
    return settings.suite or sys_version.removesuffix("-slim")


def architectures(machine: str | None = None) -> tuple[str, str]:
    """(Debian architecture, OCI architecture) of this host."""
    machine = machine or platform.machine()
    if machine not in ARCHITECTURES:
        known = ", ".join(sorted(ARCHITECTURES))
        raise UsageError(f"system-image knows the machines {known}; this one is {machine!r}")
    return ARCHITECTURES[machine]


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


def image_parts(layer_digest: str, layer_size: int, suite: str, oci_arch: str) -> tuple[bytes, bytes]:
    """The config and manifest of the root (JSON with sorted keys, no
    whitespace): nothing in them depends on when or where they were made."""
    created = datetime.fromtimestamp(EPOCH, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = _json(
        {
            "architecture": oci_arch,
            "os": "linux",
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
    index = _json({"schemaVersion": 2, "mediaType": INDEX, "manifests": [manifest_desc]})
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


def make(settings: Settings, suite: str, ref: str, *, env: Mapping[str, str] | None = None) -> str:
    """Build the root of `suite` and load it into the engine `env` points at
    (the process environment when None) as `ref`. Returns the manifest digest."""
    if shutil.which("mmdebstrap") is None:
        raise EnvironmentNotReady("mmdebstrap not found; install it: apt-get install mmdebstrap")
    deb_arch, oci_arch = architectures()
    with tempfile.TemporaryDirectory(prefix="bakery-root-") as tmp:
        rootfs = Path(tmp) / "root.tar"
        argv = mmdebstrap_argv(suite, settings.mirror, rootfs, deb_arch)
        # Not docker: mmdebstrap is its own tool, on the same process seam.
        strap_env = process.environment({"SOURCE_DATE_EPOCH": str(EPOCH)})
        result = process.run(argv, check=False, env=strap_env)
        if result.returncode != 0:
            tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise BakeryError(f"mmdebstrap {suite} failed with exit code {result.returncode}: {tail}")
        archive = Path(tmp) / "root.oci.tar"
        digest = oci_archive(rootfs, archive, suite, oci_arch)
        rootfs.unlink()
        # The layout carries no name (a name in it would have to be spelled
        # with the registry's host): tag what the load reports.
        loaded = _loaded_id(docker.run(["image", "load", "--input", str(archive)], env=env).stdout)
        docker.run(["image", "tag", loaded, ref], env=env)
    return digest


def ensure(settings: Settings, vector: Vector, *, refresh: bool = False, env: Mapping[str, str] | None = None) -> str:
    """Make `<sys_name>:<sys_version>` unless it is there (or with `refresh`);
    `env` selects another engine (the lab's runner B), as for docker.run."""
    if vector["sys_name"] != "debian":
        raise UsageError(f"system-image builds Debian roots only; sys_name={vector['sys_name']!r} needs a registry")
    ref = f"{vector['sys_name']}:{vector['sys_version']}"
    docker.require_daemon(env=env)
    if docker.image_exists(ref, env=env) and not refresh:
        return f"{ref}: present; skipped (--refresh rebuilds it)"
    suite = suite_for(settings, vector["sys_version"])
    digest = make(settings, suite, ref, env=env)
    return f"{ref}: built from Debian {suite} with mmdebstrap and loaded ({digest})"
