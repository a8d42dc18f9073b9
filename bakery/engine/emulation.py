"""Running other architectures' binaries on this machine: qemu through the
kernel's binfmt_misc (docs/decisions/cross-builds.md).

A vector whose sys_target is of another architecture builds its root and its
runtime stages (diner, install, the smoke tests) for that architecture, and
BuildKit runs their steps through whatever binfmt_misc says runs such
binaries. The handler must be registered with the F flag: the kernel then
opens the interpreter once, at registration, so it works inside containers
and build steps whose root has no qemu (the kernel's admin guide,
binfmt-misc.rst). ci/setup.sh registers qemu-aarch64 that way.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

from bakery.errors import EnvironmentNotReady

BINFMT = Path("/proc/sys/fs/binfmt_misc")
# sys_target arch -> the name qemu-user-static registers its handler under
# (/usr/lib/binfmt.d/qemu-<name>.conf).
QEMU = {
    "x86_64": "x86_64",
    "aarch64": "aarch64",
    "riscv64": "riscv64",
    "armv7": "arm",
    "i686": "i386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
}
# Architectures a machine runs without emulation: its own, and i686 on x86_64.
NATIVE = {"x86_64": frozenset({"x86_64", "i686"}), "aarch64": frozenset({"aarch64"})}
FIX = "set it up: bash ci/setup.sh (qemu-user-static, binfmt_misc mounted, the handler registered with the F flag)"


@dataclass(frozen=True)
class Handler:
    name: str
    registered: bool
    enabled: bool = False
    flags: str = ""

    @property
    def usable(self) -> bool:
        return self.registered and self.enabled and "F" in self.flags


def host() -> str:
    """The machine's architecture in sys_target's spelling (x86_64, aarch64)."""
    return platform.machine()


def needed(arch: str, machine: str | None = None) -> bool:
    """Whether binaries of `arch` need emulation on this machine."""
    machine = machine or host()
    return arch not in NATIVE.get(machine, frozenset({machine}))


def handler(arch: str, root: Path | None = None) -> Handler:
    """The binfmt_misc handler for `arch`, as the kernel shows it (under `root`, BINFMT when None)."""
    root = root or BINFMT
    name = f"qemu-{QEMU.get(arch, arch)}"
    try:
        text = (root / name).read_text()
    except OSError:
        return Handler(name, False)
    lines = text.splitlines()
    flags = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("flags:")), "")
    return Handler(name, True, "enabled" in lines, flags)


def describe(arch: str, root: Path | None = None) -> str:
    """One line on the handler for `arch`; EnvironmentNotReady when it cannot run a build's steps."""
    root = root or BINFMT
    found = handler(arch, root)
    if not found.registered:
        mounted = (root / "register").exists()
        where = f"{found.name} is not registered in {root}" if mounted else f"binfmt_misc is not mounted at {root}"
        raise EnvironmentNotReady(f"{arch} binaries need emulation, but {where}; {FIX}")
    if not found.usable:
        state = "enabled" if found.enabled else "disabled"
        raise EnvironmentNotReady(
            f"{found.name} is registered but {state} with flags {found.flags or 'none'!r} (needs enabled and F); {FIX}"
        )
    return f"{found.name} registered, flags {found.flags}"


def require(arches: set[str], root: Path | None = None) -> None:
    """Every architecture in `arches` runs on this machine, natively or emulated."""
    for arch in sorted(arches):
        if needed(arch):
            describe(arch, root)
