"""`invoke doctor`: check what a bake needs, each failure with its fix."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bakery.config.matrix import arch_and_level
from bakery.config.settings import Settings
from bakery.engine import builder, disk, docker, emulation, system_image
from bakery.errors import BakeryError

# The oldest buildx the tree parses with (trixie's 0.13.1, checked on its
# --print; docs/decisions/buildx-minimum.md): bake.hcl uses no variable `description` or `validation`
# for that reason. Older bakes fail on object-valued matrices.
MIN_BUILDX = (0, 13, 1)
_VERSION = re.compile(r"\bv?(\d+)\.(\d+)\.(\d+)")


def buildx_too_old(version: str) -> str | None:
    """Why this buildx version line is below the minimum, or None."""
    match = _VERSION.search(version)
    if match is None:
        return f"cannot read a version from {version!r}"
    found = tuple(int(part) for part in match.groups())
    if found < MIN_BUILDX:
        return f"buildx {'.'.join(map(str, found))} is older than {'.'.join(map(str, MIN_BUILDX))}"
    return None


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _try(name: str, probe: Callable[[], str]) -> Check:
    try:
        return Check(name, True, probe())
    except BakeryError as exc:
        return Check(name, False, str(exc))


def run(settings: Settings) -> list[Check]:
    vectors = settings.vectors()

    def cli() -> str:
        docker.require_cli()
        return docker.run(["--version"], quiet=True).stdout.strip()

    def buildx() -> str:
        info = docker.buildx()
        old = buildx_too_old(info.version)
        if old:
            raise BakeryError(f"{old}, the oldest the tree supports; upgrade it: sudo ci/provision-docker.sh")
        features = ", ".join(
            f"{flag} {'yes' if ok else 'no'}"
            for flag, ok in (("--allow", info.allow), ("--call", info.call), ("--list", info.list))
        )
        return f"{info.version} (bake {features})"

    def builder_check() -> str:
        name = builder.name(settings)
        status = builder.require(name)
        store = (
            "containerd image store"
            if builder.containerd_store()
            else "classic image store (no cache export on the docker driver)"
        )
        return f"{name}: driver {status.driver}; {store}"

    def root_image() -> str:
        roots = system_image.roots(settings, vectors)
        for root in roots:
            if not docker.image_exists(root.ref):
                raise BakeryError(f"{root.ref} ({root.platform}) not in the engine; make it: {root.command}")
        return ", ".join(f"{root.ref} ({root.platform})" for root in roots) + " present"

    def emulated() -> str:
        arches = {arch_and_level(v["sys_target"])[0] for v in vectors}
        foreign = sorted(a for a in arches if emulation.needed(a))
        if foreign:
            return "; ".join(emulation.describe(arch) for arch in foreign)
        # Not needed here; what a cross vector would find (ci/setup.sh registers aarch64).
        probe = "aarch64" if emulation.needed("aarch64") else "x86_64"
        try:
            return f"not needed by the selection; {emulation.describe(probe)}"
        except BakeryError as exc:
            return f"not needed by the selection; {exc}"

    def free_disk() -> str:
        root_dir = docker.run(["info", "--format", "{{.DockerRootDir}}"], check=False, quiet=True).stdout.strip()
        return disk.gate(settings, root_dir)

    checks = [_try("docker CLI", cli), _try("daemon", lambda: "dockerd " + docker.require_daemon())]
    checks.append(_try("buildx", buildx))
    if checks[1].ok:
        checks += [_try("builder", builder_check), _try("root image", root_image)]
    checks.append(_try("emulation", emulated))
    checks.append(_try("free disk", free_disk))
    return checks
