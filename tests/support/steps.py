"""What a bake's run record says its steps did, for the engine tests: which
steps ran or were CACHED, by family, and which crates each cargo step compiled
(cargo prints one `Compiling <crate> v<version>` line per crate)."""

from __future__ import annotations

import re
from pathlib import Path

from bakery import ROOT
from bakery.baking import progress

COMPILING = re.compile(r"Compiling (\S+) v\d")
_RECORD = re.compile(r"\(record: ([^)]+)\)")


def record(stdout: str) -> Path:
    """The run record a bake's ACCEPT or ERROR line names."""
    found = _RECORD.findall(stdout)
    assert found, stdout[-3000:]
    return ROOT / found[-1]


def of(stdout: str) -> list[progress.Vertex]:
    """The steps of the bake whose output this is."""
    return progress.parse((record(stdout) / "progress.jsonl").read_text().splitlines()).steps()


def family(vertex: progress.Vertex) -> str:
    """The step's family: its stage with linked targets (`[deps-build-bins--... deps 2/3]`:
    `deps`), or the family part of its instance stage with one solve, where a
    single target's steps carry only the stage (`[deps-build-bins--... 2/3]`)."""
    return (vertex.stage or vertex.target or "").split("--")[0]


def compiled(steps: list[progress.Vertex]) -> dict[str, list[str]]:
    """Each step that compiled crates: its name and the crates it compiled."""
    found = {}
    for vertex in steps:
        crates = [m.group(1) for line in vertex.logs if (m := COMPILING.search(line))]
        if crates:
            found[vertex.name] = crates
    return found
