"""`invoke system-image`: the root image without a registry
(docs/decisions/root-without-registry.md).

mmdebstrap builds `<sys_name>:<sys_version>` from a Debian mirror and
`docker import` loads it under exactly that tag. This is how air-gapped
runners, our CI among them, get a root.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from bakery.config.matrix import Vector
from bakery.config.settings import Settings
from bakery.engine import docker, process
from bakery.errors import BakeryError, EnvironmentNotReady, UsageError


def suite_for(settings: Settings, sys_version: str) -> str:
    """The Debian suite: the BAKERY_SUITE setting, else the tag without the
    image variant (testing-slim -> testing, bookworm-slim -> bookworm)."""
    return settings.suite or sys_version.removesuffix("-slim")


def mmdebstrap_argv(suite: str, mirror: str, out: Path) -> list[str]:
    # Some mirrors serve Release files past Valid-Until;
    # mmdebstrap records the option in the image, so apt inside works too.
    argv = [
        "mmdebstrap",
        "--variant=minbase",
        "--quiet",
        '--aptopt=Acquire::Check-Valid-Until "false"',
        suite,
        str(out),
    ]
    if mirror:
        argv.append(mirror)
    return argv


def ensure(settings: Settings, vector: Vector, *, refresh: bool = False) -> str:
    if vector["sys_name"] != "debian":
        raise UsageError(f"system-image builds Debian roots only; sys_name={vector['sys_name']!r} needs a registry")
    ref = f"{vector['sys_name']}:{vector['sys_version']}"
    docker.require_daemon()
    if docker.image_exists(ref) and not refresh:
        return f"{ref}: present; skipped (--refresh rebuilds it)"
    if shutil.which("mmdebstrap") is None:
        raise EnvironmentNotReady("mmdebstrap not found; install it: apt-get install mmdebstrap")
    suite = suite_for(settings, vector["sys_version"])
    with tempfile.TemporaryDirectory(prefix="bakery-root-") as tmp:
        tarball = Path(tmp) / "root.tar"
        argv = mmdebstrap_argv(suite, settings.mirror, tarball)
        # Not docker: mmdebstrap is its own tool, on the same process seam.
        result = process.run(argv, check=False)
        if result.returncode != 0:
            tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise BakeryError(f"mmdebstrap {suite} failed with exit code {result.returncode}: {tail}")
        docker.run(["import", "--change", 'CMD ["bash"]', str(tarball), ref])
    return f"{ref}: built from Debian {suite} with mmdebstrap and imported"
