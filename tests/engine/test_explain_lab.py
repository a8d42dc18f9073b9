"""`invoke explain` on lab runner B (lab/runners.py, docs/why-rebuild.md): a
fresh runner without a shared cache, the same runner after a prune, and a
fresh runner whose shared cache has no entry. The prune is done on runner B,
never on the engine the other tests share.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bakery import ROOT
from lab import runners as lab
from tests.conftest import invoke

pytestmark = pytest.mark.usefixtures("engine")

SOURCE = "source--debian--testing-slim--x86_64-v1-linux-gnu"
SYSTEM = "system--debian--testing-slim--x86_64-v1-linux-gnu"


@pytest.fixture(scope="module")
def runner_b() -> Iterator[lab.Runner]:
    with lab.running() as running:
        assert running.runner is not None
        yield running.runner


def _bake(env: dict[str, str]) -> None:
    result = invoke("bake", "source", env=env, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def _reasons(run_dir: Path) -> dict[str, set[tuple[str, str]]]:
    """instance -> (reason, text) of its steps that ran."""
    result = invoke("explain", "--format", "json", env={"BAKERY_RUN_DIR": str(run_dir)})
    assert result.returncode == 0, result.stdout + result.stderr
    found: dict[str, set[tuple[str, str]]] = {}
    for step in json.loads(result.stdout)["steps"]:
        found.setdefault(step["instance"], set()).add((step["reason"], step["text"]))
    return found


def test_fresh_runner_then_a_prune_then_a_shared_cache_without_the_entry(runner_b: lab.Runner, tmp_path: Path) -> None:
    source = tmp_path / "example"
    shutil.copytree(ROOT / "example", source, ignore=shutil.ignore_patterns("target"))
    main = source / "crates" / "mxd" / "src" / "main.rs"
    main.write_text(main.read_text() + f"// {uuid.uuid4().hex}\n")
    env = {**runner_b.env, "source_location": str(source), "BAKERY_RUN_DIR": str(tmp_path / "runs")}

    lab.make_fresh(runner_b)
    _bake(env)
    fresh = "no cache import on this runner: a fresh builder with no shared cache set"
    first = f"{fresh} (and no earlier run of system here)"
    # source's own step ran because its parent did: the chain's first cause is system's.
    assert _reasons(tmp_path / "runs") == {
        SYSTEM: {("no-import", first)},
        SOURCE: {("parent", f"the parent {SYSTEM} ran; the first cause, in {SYSTEM}: {first}")},
    }

    lab.make_fresh(runner_b)  # the prune: B's build cache emptied, its root images kept
    _bake(env)
    reasons = _reasons(tmp_path / "runs")
    assert set(reasons) == {SYSTEM, SOURCE}
    ((kind, text),) = reasons[SYSTEM]
    assert kind == "pruned"
    assert text.startswith("the inputs are unchanged but the result is gone: the builder `default` was pruned")
    ((kind, text),) = reasons[SOURCE]
    assert (kind, text.split(";")[0]) == ("parent", f"the parent {SYSTEM} ran")

    lab.make_fresh(runner_b)
    empty = tmp_path / "shared"
    empty.mkdir()
    _bake({**env, "BAKERY_CACHE_DIR": str(empty), "BAKERY_RUN_DIR": str(tmp_path / "fresh")})
    entry = "mxd.source--release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
    missing = f"the shared cache had no entry for this instance: {entry} in {empty}"
    assert _reasons(tmp_path / "fresh") == {
        SYSTEM: {("no-entry", missing)},
        SOURCE: {("parent", f"the parent {SYSTEM} ran; the first cause, in {SYSTEM}: {missing}")},
    }
