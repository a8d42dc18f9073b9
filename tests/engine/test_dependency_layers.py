"""Dependency layers without cargo-chef, on a real dependency tree (docs/tree.md,
"Dependency layers"; docs/decisions/dependency-layers.md).

tests/fixtures/lookout is an async HTTP server on 47 crates from Debian's
librust-*-dev packages (vendor/ assembled by tests/support/debian_vendor.py).
The deps-build-bins layer compiles those crates on the workspace skeleton; the
cargo step compiles the workspace alone on top of it:

- on this engine, after a one-line edit of a workspace .rs file, every deps
  step is CACHED, the cargo step runs and compiles lookout only, and the
  installed binary reports the edit;
- on a fresh engine (the lab's runner B, which this test starts and removes)
  importing a directory cache exported from a bake of the unedited source,
  the edited source compiles lookout only: the deps layer came from the cache
  and the empty cargo target mount was seeded from it.

Crates compiled are read from the cargo steps' logs in the run record
(progress.jsonl): cargo prints one `Compiling <crate> v<version>` per crate.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from lab import runners as lab
from tests.conftest import DEFAULT_NAME, invoke
from tests.support import attestations, debian_vendor, events, lookout, steps

pytestmark = pytest.mark.usefixtures("engine")

SETTINGS = lookout.SETTINGS
IMAGE = f"lookout/install--{DEFAULT_NAME}:latest"
TRUSTED = events.TRUSTED
# The fixture's default feature set locks at least this many crates besides its own.
MOST_CRATES = 30


@pytest.fixture(scope="module")
def assembled() -> Path:
    return debian_vendor.assemble("lookout")


@pytest.fixture
def source(assembled: Path, tmp_path: Path) -> Path:
    """A copy to edit (copy2 keeps the mtimes, as a checkout would keep its own)."""
    copy = tmp_path / "lookout"
    shutil.copytree(assembled, copy, ignore=shutil.ignore_patterns("target"))
    return copy


def _edit(source: Path) -> str:
    # A fresh string each run: BuildKit's cache is content-addressed.
    version = f"0.1.1-edit{uuid.uuid4().hex[:8]}"
    lib = source / "src" / "lib.rs"
    old, new = 'VERSION: &str = "0.1.0";', f'VERSION: &str = "{version}";'
    lib.write_text(lib.read_text().replace(old, new))
    assert version in lib.read_text()
    return version


def _bake(env: dict[str, str], target: str = "install") -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = invoke("bake", target, env=env, timeout=3600)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result, elapsed


def test_the_fixture_has_a_real_dependency_tree(assembled: Path) -> None:
    crates = debian_vendor.crates(assembled)
    assert len(crates) >= MOST_CRATES, crates
    assert {"tokio", "hyper", "serde", "serde_json", "regex"} <= set(crates)
    # vendor/ holds exactly the locked crates, each with Debian's checksum file.
    vendored = sorted(p.name for p in (assembled / "vendor").iterdir())
    assert vendored == sorted(f"{n}-{v}" for n, v in debian_vendor.locked(assembled) if n in crates)
    assert all((assembled / "vendor" / name / ".cargo-checksum.json").is_file() for name in vendored)


# feat_set -> the packages `cargo tree` lists for it, kept by the test that bakes them.
TREES: dict[str, set[str]] = {}


def _tree(source: Path, feat_set: str) -> set[str]:
    """The packages `cargo tree` lists in the tree's `cargo` family for a feature set."""
    result, _ = _bake({**SETTINGS, "source_location": str(source), "feat_set": feat_set}, target="cargo")
    tree = [v for v in steps.of(result.stdout) if v.stage == "cargo" and v.text.startswith("RUN")]
    assert [v.state for v in tree] == ["ran"], [(v.name, v.state) for v in tree]
    return {m.group(1) for line in tree[0].logs if (m := re.search(r"(?:^|[ │├└─]+)([A-Za-z0-9_-]+) v\d", line))}


def test_the_optional_dependency_makes_the_feature_sets_differ(source: Path) -> None:
    # A comment no run has built before: the cargo step runs and prints its tree.
    main = source / "src" / "main.rs"
    main.write_text(main.read_text() + f"// {uuid.uuid4().hex}\n")
    none, default = _tree(source, "none"), _tree(source, "default")
    TREES.update(none=none, default=default)
    assert {"regex", "regex-automata", "regex-syntax", "aho-corasick"} <= default - none, default - none
    assert none < default
    assert len(default - {"lookout"}) >= MOST_CRATES, sorted(default)
    print(f"\nlookout cargo tree: {len(none)} packages with feat_set=none, {len(default)} with default")


def test_a_source_edit_keeps_every_deps_step_cached_and_compiles_only_the_workspace(source: Path) -> None:
    env = {**SETTINGS, "source_location": str(source)}
    first, first_seconds = _bake(env)
    version = _edit(source)
    result, edit_seconds = _bake(env)
    baked = steps.of(result.stdout)

    deps = [v for v in baked if v.stage == "deps"]
    assert deps, sorted({v.stage or "" for v in baked})
    assert {v.state for v in deps} == {"cached"}, [(v.name, v.state) for v in deps if v.state != "cached"]
    skeleton = [v for v in baked if v.stage in ("preparing", "recipe") and "skeleton" in v.text]
    assert skeleton and {v.state for v in skeleton} == {"cached"}, [(v.name, v.state) for v in skeleton]
    cargo = [v for v in baked if v.stage == "cargo" and v.text.startswith("RUN")]
    assert [v.state for v in cargo] == ["ran"], [(v.name, v.state) for v in cargo]
    # The deps layer's crates are not compiled again: the workspace crate alone is.
    assert list(steps.compiled(baked).values()) == [["lookout"]], steps.compiled(baked)

    out = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "lookoutd", IMAGE, "-V"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == f"lookoutd {version}"
    print(f"\nlookout install: first bake {first_seconds:.1f} s, after a one-line edit {edit_seconds:.1f} s")
    assert first.stdout  # kept for the figures above


def test_a_fresh_engine_with_the_shared_cache_compiles_only_the_workspace(
    source: Path, assembled: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    env = {**SETTINGS, **TRUSTED, "BAKERY_CACHE_DIR": str(shared)}
    # Runner A (this engine): a trusted bake of the unedited source exports the shared cache.
    _bake({**env, "source_location": str(assembled)})
    assert any(shared.iterdir())
    version = _edit(source)
    with lab.running() as the_lab:
        assert the_lab.runner is not None
        # Runner B: a new engine holding only the root image, importing the directory cache.
        fresh, fresh_seconds = _bake({**the_lab.runner.env, **env, "source_location": str(source)})
        compiled = steps.compiled(steps.of(fresh.stdout))
        assert list(compiled.values()) == [["lookout"]], compiled
        out = the_lab.runner.docker(["run", "--rm", "--entrypoint", "lookoutd", IMAGE, "-V"])
        assert out.stdout.strip() == f"lookoutd {version}"
    print(f"\nlookout install on a fresh engine with the shared cache: {fresh_seconds:.1f} s")


def test_each_feature_sets_pushed_sbom_lists_what_cargo_compiles_for_it(source: Path, assembled: Path) -> None:
    """The SBOM a push attaches (docs/attestations.md) is the vector's: with
    feat_set=none it lists fewer crates than with default (regex and its
    crates are the optional dependency), and every crate it lists is in
    `cargo tree` for that feature set. Read back from a registry with
    buildx alone and validated with spdx-tools."""
    trees = TREES or {"none": _tree(source, "none"), "default": _tree(source, "default")}
    sboms = {}
    with lab.running(runner=False) as the_lab:
        repository = f"{the_lab.shared.host}/lookout/lookoutd"
        for feat_set in ("none", "default"):
            env = {**SETTINGS, "source_location": str(assembled), "feat_set": feat_set}
            env |= {"registry_github": repository, "publish_tag": feat_set, "BAKERY_REVISION": "lookout-fixture"}
            _bake(env, target="github")
            sboms[feat_set] = attestations.inspect(f"{repository}:{feat_set}", "SBOM")["SPDX"]
    listed = {}
    for feat_set, sbom in sboms.items():
        assert attestations.spdx_problems(sbom) == []
        listed[feat_set] = {name for name, _ in attestations.crates(sbom)}
        assert listed[feat_set] <= trees[feat_set], listed[feat_set] - trees[feat_set]
    assert {"regex", "regex-automata", "regex-syntax", "aho-corasick"} <= listed["default"] - listed["none"]
    assert listed["none"] < listed["default"]
    assert {"tokio", "hyper", "serde_json"} <= listed["none"]
    print(f"\nlookout SBOM: {len(listed['none'])} crates with feat_set=none, {len(listed['default'])} with default")
