"""lookout (tests/fixtures/lookout) as the tests and the bench bake it: its settings,
and two commits of it that differ by one line of its workspace crate."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support import debian_vendor

# Everything a project sets to be built from settings alone (docs/adopt.md).
SETTINGS = {
    "project_name": "lookout",
    "bin_name": "lookoutd",
    "smoke_version_args": "-V",
    "smoke_startup_args": "",
    "smoke_ready": "tcp:8080",
    "expose_ports": "8080",
}


def commits(work: Path) -> tuple[Path, Path]:
    """Commit A (lookout as assembled, vendor/ included) and commit B under `work`,
    with one line of its workspace crate changed (a word added to /words)."""
    commit_a = debian_vendor.assemble("lookout")
    commit_b = work / "lookout"
    shutil.copytree(commit_a, commit_b, ignore=shutil.ignore_patterns("target"))
    lib = commit_b / "src" / "lib.rs"
    lib.write_text(lib.read_text().replace('"tide"]', '"tide", "quay"]'))
    assert '"quay"' in lib.read_text()
    return commit_a, commit_b
