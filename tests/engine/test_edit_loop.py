"""A one-line source edit reruns only the compile (docs/tree.md, "Inputs of the fetch").

fetch (ingredients' `cargo fetch`), recipe and the deps layers see only the
manifests (Dockerfile.source `manifests`): every Cargo.toml and Cargo.lock,
.cargo/, vendor/ and empty stubs of the .rs files. A .rs edit leaves them
unchanged, so the run record shows them CACHED while the compile step runs.
Positive control: the installed binary reports the edited version.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.baking import progress
from tests.conftest import invoke

DEFAULT = "release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"

pytestmark = pytest.mark.usefixtures("engine")


def _steps(stdout: str) -> list[progress.Vertex]:
    marker = "(record: "
    line = next(ln for ln in reversed(stdout.splitlines()) if ln.startswith("ACCEPT") and marker in ln)
    record = Path(line.split(marker, 1)[1].rstrip(")"))
    return progress.parse((record / "progress.jsonl").read_text().splitlines()).steps()


def _version() -> str:
    out = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "mxd", f"mxd/install--{DEFAULT}:latest", "-V"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_a_source_edit_keeps_fetch_recipe_and_deps_cached(tmp_path: Path) -> None:
    source = tmp_path / "example"
    shutil.copytree(ROOT / "example", source, ignore=shutil.ignore_patterns("target"))
    env = {"source_location": str(source)}
    first = invoke("bake", "install", env=env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]

    version = source / "crates" / "mxd" / "src" / "version.rs"
    # A fresh string each run: BuildKit's cache is content-addressed.
    new_version = f"0.1.1-edit{uuid.uuid4().hex[:8]}"
    version.write_text(version.read_text().replace('"0.1.0"', f'"{new_version}"'))
    try:
        result = invoke("bake", "install", env=env)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        steps = _steps(result.stdout)

        fetch = [v for v in steps if "cargo fetch --locked" in v.text]
        recipe = [v for v in steps if v.stage == "recipe"]
        deps = [v for v in steps if v.stage == "deps"]
        assert fetch and recipe and deps, sorted({v.stage or "" for v in steps})
        assert {v.state for v in fetch + recipe + deps} == {"cached"}, [
            (v.stage, v.text, v.state) for v in fetch + recipe + deps if v.state != "cached"
        ]
        # The edit itself went through: the checkout and the compile ran.
        ran = {v.stage for v in steps if v.state == "ran"}
        assert {"source", "manifests", "cargo"} <= ran
        assert any(v.stage == "cargo" and v.state == "ran" and "cargo" in v.text for v in steps)
        assert _version().startswith(f"mxd {new_version} ")
    finally:
        # Put the default vector's install image back to the committed source (cached).
        restore = invoke("bake", "install")
        assert restore.returncode == 0, restore.stderr[-2000:]
    assert _version().startswith("mxd 0.1.0 ")
