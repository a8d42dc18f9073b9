"""`invoke clean` removes bakery's `:latest` images of this project and run
records, and nothing else (a positive test); another project's images on the
same engine stay. The seam answers
`docker image ls` and `buildx bake --print` as the engine would."""

from __future__ import annotations

import json
from pathlib import Path

from bakery.baking import clean
from bakery.config import settings
from bakery.engine import docker
from tests.conftest import Recorder

OURS = [
    "mxd/install--release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu:latest",
    "docker.io/mxd/image--test--distro--x86_64-unknown-linux-gnu--all--debian--testing-slim--x86_64-v1-linux-gnu:latest",
]  # fmt: skip
THEIRS = [
    "debian:testing-slim",
    "install:latest",
    "install--mine:v2",
    "postgres--15:latest",
    "example/install--release:latest",
    # Another project on the same engine: its own name, never ours to remove.
    "hitcount/install--release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu:latest",
    # Tags from before the project name: not matched either.
    "install--release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu:latest",
]  # fmt: skip
# What --print gives for the tagged families (a part of the real output).
PRINTED = {
    "target": {
        "install--x": {"tags": ["mxd/install--x:latest"]},
        "image--x": {"tags": ["mxd/image--x:latest"]},
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


def test_the_project_is_read_from_the_tags_the_tree_prints():
    assert clean.ours({"hitcount": {"install"}}, OURS + THEIRS) == [THEIRS[5]]
    assert clean.ours({"mxd": {"install", "image"}, "hitcount": {"install"}}, OURS + THEIRS) == [THEIRS[5], *OURS]
