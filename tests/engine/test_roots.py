"""A root every runner makes alike (docs/decisions/reproducible-root.md).

`invoke system-image` makes the root with mmdebstrap and loads it as an OCI
layout with no run-time data, so two engines that make it from the same mirror
content hold the same image: the same layer diffID and the same image
(manifest) digest. BuildKit's cache keys above the root then agree, and a
runner that made its own root gets CACHED steps from another runner's
entry in the shared cache.

Runner A, the machine's dockerd, keeps its `debian:testing-slim` (others'
builds use it): here it makes the root under a test tag, removed afterwards.
The runners of the lab (lab/runners.py) make their roots under the tree's tag.
The two makes of a test run seconds apart; Debian's testing changes a few
times a day, so a mirror update between them would make the roots differ,
and the failure then lists the packages that differ.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator, Mapping

import pytest

from bakery import ROOT
from bakery.config import settings
from bakery.engine import docker, system_image
from lab import runners as lab
from tests.conftest import invoke
from tests.support import events

pytestmark = pytest.mark.usefixtures("engine")

ROOT_IMAGE = "debian:testing-slim"
TEST_TAG = f"bakery-test-root:{os.getpid()}"
# system_image.EPOCH as the engine shows it: the root's `created` is no run's time.
CREATED = "2024-01-01T00:00:00Z"
TRUSTED = events.TRUSTED
FIGURES = ROOT / "runs" / "lab" / "roots.json"
_TOTAL = re.compile(r"^\s*(\d+) cached\s+(\d+) ran\s+total", re.M)


def _record(name: str, **figures: object) -> None:
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    data[name] = figures
    FIGURES.write_text(json.dumps(data, indent=2) + "\n")


def _inspect(ref: str, env: Mapping[str, str] | None = None) -> tuple[str, list[str], str]:
    """(image ID, layer diffIDs, created) as the engine reports them."""
    out = docker.run(["image", "inspect", "--format", "{{json .}}", ref], env=env).stdout
    image = json.loads(out)
    return image["Id"], image["RootFS"]["Layers"], image["Created"]


def _packages(ref: str, env: Mapping[str, str] | None = None) -> set[str]:
    argv = ["run", "--rm", "--network=none", ref, "dpkg-query", "-W", "-f", "${Package}=${Version}\\n"]
    return set(docker.run(argv, env=env).stdout.split())


@pytest.fixture(scope="module")
def the_lab() -> Iterator[lab.Lab]:
    with lab.running() as running:
        yield running


@pytest.fixture
def root_on_a() -> Iterator[str]:
    """Runner A makes the root under TEST_TAG; only that tag is removed after."""
    try:
        yield TEST_TAG
    finally:
        docker.run(["image", "rm", TEST_TAG], check=False, quiet=True)


def test_runner_a_and_runner_b_make_the_same_root(the_lab: lab.Lab, root_on_a: str) -> None:
    assert the_lab.runner is not None
    b_env = docker.environment(the_lab.runner.env)
    # B made its root when the lab started; A makes its own now.
    start = time.monotonic()
    system_image.make(settings.load({}), "testing", root_on_a)
    seconds = time.monotonic() - start
    a_id, a_layers, a_created = _inspect(root_on_a)
    b_id, b_layers, b_created = _inspect(ROOT_IMAGE, b_env)
    _record("a and b", a_id=a_id, b_id=b_id, diff_ids=a_layers, make_seconds=round(seconds, 1))
    if a_layers != b_layers:
        differ = sorted(_packages(root_on_a) ^ _packages(ROOT_IMAGE, b_env))
        pytest.fail(f"the roots' layers differ: A {a_layers}, B {b_layers}; packages only in one: {differ}")
    assert len(a_layers) == 1
    assert a_id == b_id
    assert a_created == b_created == CREATED


def _counts(stdout: str) -> tuple[int, int]:
    match = _TOTAL.search(stdout)
    assert match, f"no cached/ran summary in:\n{stdout[-2000:]}"
    return int(match[1]), int(match[2])


def _bake(env: Mapping[str, str], target: str) -> tuple[int, int]:
    result = invoke("bake", target, env=dict(env), timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return _counts(result.stdout)


def test_a_runner_with_its_own_root_gets_cached_steps_from_the_shared_cache(the_lab: lab.Lab) -> None:
    """B fills the shared cache (trusted, cold: B's build cache is empty);
    a third runner, which made its own root after B, builds the same job from
    that entry with every step CACHED."""
    assert the_lab.runner is not None
    cache = {"BAKERY_CACHE_DIR": f"{the_lab.shared.host}/bakery/roots", **TRUSTED}
    b = the_lab.runner
    the_lab.runner.docker(["buildx", "prune", "--all", "--force"])
    cold_cached, cold_ran = _bake({**b.env, **cache}, "diner")
    start = time.monotonic()
    c = lab.add_runner(the_lab, ROOT_IMAGE)
    make_seconds = time.monotonic() - start
    c_id = _inspect(ROOT_IMAGE, docker.environment(c.env))[0]
    b_id = _inspect(ROOT_IMAGE, docker.environment(b.env))[0]
    assert "Total:\t\t0B" in c.docker(["buildx", "du"]).stdout
    warm_cached, warm_ran = _bake({**c.env, **cache}, "diner")
    _record(
        "b fills, c reuses",
        root=c_id,
        cold={"cached": cold_cached, "ran": cold_ran},
        warm={"cached": warm_cached, "ran": warm_ran},
        make_seconds=round(make_seconds, 1),
    )
    assert c_id == b_id
    assert cold_ran > 0
    assert warm_ran == 0 and warm_cached >= cold_ran
