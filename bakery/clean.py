"""`invoke clean`: remove the per-vector `:latest` images and the run
directories bakery created, and nothing else."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from bakery import bake, docker
from bakery.settings import Settings


def tagged_families(settings: Settings) -> set[str]:
    """Families whose instances the tree tags `<instance>:latest`."""
    vector = settings.definition.default_vector()
    definition = bake.print_definition(
        settings, ("default", "installs", "complement"), bake.bake_env(settings, {k: (v,) for k, v in vector.items})
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
    if run_dir.is_dir():
        shutil.rmtree(run_dir)
        done.append(f"removed {run_dir}")
    return done or ["nothing to clean"]
