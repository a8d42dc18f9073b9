"""The repository as git tracks it: what a clone of it holds."""

from __future__ import annotations

import shutil
import subprocess

from bakery import ROOT


def tracked() -> list[str]:
    """Every tracked path, relative to the repository's root."""
    # Fails, never skips, without git: the checks that read this must run everywhere.
    git = shutil.which("git")
    assert git, "git is not on PATH; install it (apt-get install git) to run this check"
    out = subprocess.run([git, "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True)
    return [name for name in out.stdout.decode().split("\0") if name]
