"""`invoke clean` removes bakery's `:latest` images and run records, and
nothing else (a positive test). The seam answers
`docker image ls` and `buildx bake --print` as the engine would."""

from __future__ import annotations

import json
from pathlib import Path

from bakery.build import clean
from bakery.config import settings
from bakery.engine import docker
from tests.conftest import Recorder

OURS = [
    "install--release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu:latest",
    "docker.io/library/image--test--distro--x86_64-unknown-linux-gnu--all--debian--testing-slim--x86_64-v1-linux-gnu:latest",
]  # fmt: skip
THEIRS = [
    "debian:testing-slim",
    "install:latest",
    "install--mine:v2",
    "postgres--15:latest",
    "example/install--release:latest",
]
# What --print gives for the tagged families (a part of the real output).
PRINTED = {
    "target": {
        "install--x": {"tags": ["install--x:latest"]},
        "image--x": {"tags": ["image--x:latest"]},
        "check--x": {"output": ["type=cacheonly"]},
    }
}


def engine(call: docker.Call) -> docker.Completed:
    if call.argv[1:3] == ("image", "ls"):
        return docker.Completed(call.argv, 0, "\n".join(OURS + THEIRS) + "\n", "")
    if call.argv[1:3] == ("buildx", "bake"):
        return docker.Completed(call.argv, 0, json.dumps(PRINTED), "")
    return docker.Completed(call.argv, 0, "", "")


def test_clean_removes_our_images_and_records_only(seam: Recorder, tmp_path: Path):
    seam.respond = engine
    runs = tmp_path / "runs"
    for name in ("20261129T190000-0123abcd", "plan", "builders", "notes", "20261129-nothex"):
        (runs / name).mkdir(parents=True)
    (runs / "keep.txt").write_text("not ours")

    lines = clean.run(settings.load({}), runs)

    removals = [c.argv for c in seam.calls if c.argv[1:3] == ("image", "rm")]
    assert removals == [("docker", "image", "rm", *OURS)]
    assert sorted(p.name for p in runs.iterdir()) == ["20261129-nothex", "keep.txt", "notes"]
    assert lines == [
        *(f"removed image {ref}" for ref in OURS),
        f"removed {runs / '20261129T190000-0123abcd'}",
        f"removed {runs / 'builders'}",
        f"removed {runs / 'plan'}",
    ]


def test_clean_with_nothing_of_ours_says_so(seam: Recorder, tmp_path: Path):
    seam.respond = lambda call: (
        docker.Completed(call.argv, 0, "\n".join(THEIRS), "") if call.argv[1:3] == ("image", "ls") else engine(call)
    )
    assert clean.run(settings.load({}), tmp_path / "none") == ["nothing to clean"]
    assert not [c for c in seam.calls if c.argv[1:3] == ("image", "rm")]
