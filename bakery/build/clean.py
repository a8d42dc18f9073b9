"""`invoke clean`: remove the per-vector `:latest` images and the run
directories bakery created, and nothing else."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from bakery import runs
from bakery.config.settings import Settings
from bakery.engine import docker
from bakery.tree import bakefile


def tagged_families(settings: Settings) -> set[str]:
    """Families whose instances the tree tags `<instance>:latest`."""
    vector = settings.definition.default_vector()
    definition = bakefile.print_definition(
        settings, ("default", "installs", "complement"), bakefile.vector_env(settings, vector)
    )
    families = set()
    for target in definition.get("target", {}).values():
        for tag in target.get("tags") or ():
            if tag.endswith(":latest") and "--" in tag:
                families.add(tag.split("--", 1)[0])
    return families


def ours(families: set[str], images: list[str]) -> list[str]:
    pattern = re.compile(
        rf"^(docker\.io/library/)?({'|'.join(map(re.escape, sorted(families)))})--[a-z0-9_.-]+:latest$"
    )
    return [ref for ref in images if pattern.match(ref)]


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
