"""`invoke clean`: remove this project's per-vector `:latest` images and the
run directories bakery created, and nothing else: another project's images on
the same engine carry its own name (docs/packages.md)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from bakery import runs
from bakery.config.settings import Settings
from bakery.engine import docker
from bakery.tree import bakefile


def tagged_families(settings: Settings) -> dict[str, set[str]]:
    """project -> the families whose instances the tree tags
    `<project>/<instance>:latest` (the project as the tree names it)."""
    vector = settings.definition.default_vector()
    definition = bakefile.print_definition(
        settings, ("default", "installs", "complement"), bakefile.vector_env(settings, vector)
    )
    families: dict[str, set[str]] = {}
    for target in definition.get("target", {}).values():
        for tag in target.get("tags") or ():
            repository, _, version = tag.rpartition(":")
            owner, _, name = repository.rpartition("/")
            if version == "latest" and "--" in name:
                families.setdefault(owner, set()).add(name.split("--", 1)[0])
    return families


def ours(families: dict[str, set[str]], images: list[str]) -> list[str]:
    """The images of these projects' families, and no other project's: the
    project is the first path component of the tag (docker.io/ when the CLI
    shows the registry)."""
    doomed = []
    for owner, names in sorted(families.items()):
        prefix = rf"(docker\.io/)?{re.escape(owner)}/" if owner else r"(docker\.io/library/)?"
        pattern = re.compile(rf"^{prefix}({'|'.join(map(re.escape, sorted(names)))})--[a-z0-9_.-]+:latest$")
        doomed += [ref for ref in images if pattern.match(ref)]
    return doomed


def run(settings: Settings, run_dir: Path) -> list[str]:
    listing = docker.run(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"], quiet=True).stdout.split()
    doomed = ours(tagged_families(settings), listing)
    done = []
    if doomed:
        docker.run(["image", "rm", *doomed])
        done += [f"removed image {ref}" for ref in doomed]
    for path in records(run_dir):
        shutil.rmtree(path)
        done.append(f"removed {path}")
    return done or ["nothing to clean"]


# Run records are named by bakery.runs; plan/ and builders/ are ours too.


def records(run_dir: Path) -> list[Path]:
    """What bakery created under the run directory, and nothing else: never the
    directory itself, so BAKERY_RUN_DIR=. or / cannot take the checkout with it."""
    if not run_dir.is_dir():
        return []
    return sorted(
        p for p in run_dir.iterdir() if p.is_dir() and (runs.RECORD.match(p.name) or p.name in ("plan", "builders"))
    )
