"""Golden `--print` of the whole tree.

`tests/plan/golden/<matrix>.json` was made from the tree as it stood before
bake.hcl moved to object-valued matrices, with raw `docker buildx bake --print`
of every group and every family, under the default, `ci` and `bench` matrices.
This test renders the same selection from today's tree and compares every key
except `description` (the refactor added descriptions). A change that alters
the golden must say so and list its diff.
Regenerated once for the smoke settings of docs/adopt.md: smoketest-version,
-startup, -valgrind, -perf, pkg-deb-install and pkg-rpm-install gained the
build args smoke_version_args, smoke_startup_args, smoke_ready and
smoke_timeout; image and complement-testee gained expose_ports. Nothing else
changed (and the regenerated files now carry the descriptions).
Regenerated for the packages (docs/packages.md): engine tags and out/ paths
carry the project name; deb and rpm take their tools from the new packager
family (contexts and the pkg_* args); the added families and groups.
Regenerated when the runner's core count left the tree: the `nprocs` build arg
is gone from every target, and nothing else changed.
Regenerated for the dependency layers (docs/tree.md, "Dependency layers"):
every deps-* family gained the build args deps_cmd and deps_cmd_args (its
consumer's cargo command for the route without cargo-chef; empty for
deps-base), and preparing gained the `checkout` context (the skeleton is
selected from the source). Nothing else changed but three descriptions.
Regenerated for cross builds (docs/decisions/cross-builds.md): the new root
family build-system (sys axes, FROM --platform=$BUILDPLATFORM); kitchen links to
it instead of diner and gained runtime_packages; system's args are sys_image
(<namespace>/<sys_name>:<sys_version>) instead of sys_name and sys_version;
cookware gained target_arch and target_gnu; three descriptions changed.
Nothing else changed.
Regenerated for packages of another architecture (docs/packages.md,
"Packages for another architecture"): packager links to kitchen instead of
diner and gained runtime_packages, target_arch and target_gnu; deb and rpm
gained target_arch and target_gnu; packager's description changed. Nothing
else changed.

The matrices are written here by hand as the original's plural JSON-array
variables, one dict per cross-product block (the `ci` exclude splits it); they
are not read from bakery's code. Regenerate after an allowed change with:
    .venv/bin/python -m tests.plan.test_golden --write
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bakery import ROOT

GOLDEN = Path(__file__).parent / "golden"

GROUPS = [
    "default", "lints", "tests", "tests-smoke", "tests-static", "complement", "installs", "pkg", "oci", "deps",
    "sources", "buildsys", "systems", "publish",
]  # fmt: skip
FAMILIES = [
    "system", "source", "diner", "valgrind", "perf", "packager", "kitchen", "cookware", "chef", "ingredients",
    "preparing", "recipe", "fmt", "audit", "typos", "lychee", "book", "deps-base", "deps-check", "deps-clippy",
    "deps-build", "deps-build-tests", "deps-build-bins", "deps-static", "cargo", "check", "clippy", "build",
    "build-bins", "build-static", "build-tests", "docs", "tests-unit", "install", "standalone", "image", "static",
    "oci-image", "oci-static", "smoketest-version", "smoketest-startup", "smoketest-valgrind", "smoketest-perf",
    "smoketest-static", "smoketest-static-startup", "deb", "pkg-deb", "pkg-deb-install", "apt-repo",
    "apt-repo-install", "rpm", "pkg-rpm", "pkg-rpm-install", "complement-config", "complement-base",
    "complement-tester", "complement-testee", "github", "dockerhub",
]  # fmt: skip

FEATS = ["none", "default", "all"]
MATRICES: dict[str, list[dict[str, list[str]]]] = {
    # docker/matrix.toml [matrices.default]: the three feature sets, distro toolchain.
    "default": [{"feat_sets": FEATS}],
    # [matrices.ci]: test and release x three feature sets x nightly and stable,
    # less {test, stable, none}: three cross-product blocks.
    "ci": [
        {"cargo_profiles": ["release"], "rust_toolchains": ["nightly", "stable"], "feat_sets": FEATS},
        {"cargo_profiles": ["test"], "rust_toolchains": ["nightly"], "feat_sets": FEATS},
        {"cargo_profiles": ["test"], "rust_toolchains": ["stable"], "feat_sets": ["default", "all"]},
    ],
    # [matrices.bench]: release and test x the three feature sets.
    "bench": [{"cargo_profiles": ["release", "test"], "feat_sets": FEATS}],
}

_AXES = ("cargo_profile", "rust_toolchain", "rust_target", "feat_set", "sys_name", "sys_version", "sys_target")
# Tree variables a developer's shell could set; the golden is of the defaults.
_DROP = {*_AXES, *(a + "s" for a in _AXES), "vectors"}


def _print(block: dict[str, list[str]]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _DROP and not k.startswith("BUILDX_BAKE_")}
    env.update({name: json.dumps(values) for name, values in block.items()})
    argv = ["docker", "buildx", "bake", "-f", "docker/bake.hcl", "--print", *GROUPS, *FAMILIES]
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def render(matrix: str) -> dict:
    """The union of every block's --print: targets by name, groups by name
    with their members as a sorted set."""
    targets: dict[str, dict] = {}
    groups: dict[str, set[str]] = {}
    for block in MATRICES[matrix]:
        printed = _print(block)
        for name, target in printed.get("target", {}).items():
            assert targets.setdefault(name, target) == target, f"{name} differs between blocks"
        for name, group in printed.get("group", {}).items():
            groups.setdefault(name, set()).update(group.get("targets", []))
    return {"group": {k: sorted(v) for k, v in sorted(groups.items())}, "target": dict(sorted(targets.items()))}


def without_descriptions(definition: dict) -> dict:
    return {
        "group": definition["group"],
        "target": {n: {k: v for k, v in t.items() if k != "description"} for n, t in definition["target"].items()},
    }


@pytest.mark.parametrize("matrix", sorted(MATRICES))
def test_print_matches_the_golden(buildx_cli: None, matrix: str):
    golden = json.loads((GOLDEN / f"{matrix}.json").read_text())
    now = render(matrix)
    assert sorted(now["target"]) == sorted(golden["target"])
    assert now["group"] == golden["group"]
    expected, actual = without_descriptions(golden)["target"], without_descriptions(now)["target"]
    for name in sorted(expected):
        assert actual[name] == expected[name], name


def test_golden_counts():
    # Written by hand: instances per matrix (143, 413, 233 before the packages
    # added ten families: 30, 102 and 57 instances; then build-system added one each).
    counts = {m: len(json.loads((GOLDEN / f"{m}.json").read_text())["target"]) for m in MATRICES}
    assert counts == {"default": 174, "ci": 516, "bench": 291}


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    GOLDEN.mkdir(exist_ok=True)
    for name in MATRICES:
        (GOLDEN / f"{name}.json").write_text(json.dumps(render(name), indent=1, sort_keys=True) + "\n")


# The `ci` selection as 11 vector objects, written out by hand: the 12 of
# {test, release} x {nightly, stable} x {none, default, all} less {test, stable, none}.
CI_VECTORS = [
    {"cargo_profile": profile, "rust_toolchain": toolchain, "feat_set": feat}
    for profile in ("test", "release")
    for toolchain in ("nightly", "stable")
    for feat in FEATS
    if (profile, toolchain, feat) != ("test", "stable", "none")
]
DEFAULT_AXES = {
    "rust_target": "x86_64-unknown-linux-gnu",
    "sys_name": "debian",
    "sys_version": "testing-slim",
    "sys_target": "x86_64-v1-linux-gnu",
}


def test_vectors_variable_gives_the_ci_golden_in_one_print(buildx_cli: None):
    """`vectors`: any selection, excludes included, in one --print.
    The contract the speed helper passes from Python: raw values, all seven keys."""
    vectors = [DEFAULT_AXES | v for v in CI_VECTORS]
    assert len(vectors) == 11 and all(len(v) == 7 for v in vectors)
    env = {k: v for k, v in os.environ.items() if k not in _DROP and not k.startswith("BUILDX_BAKE_")}
    env["vectors"] = json.dumps(vectors)
    argv = ["docker", "buildx", "bake", "-f", "docker/bake.hcl", "--print", *GROUPS, *FAMILIES]
    printed = json.loads(subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout)
    golden = without_descriptions(json.loads((GOLDEN / "ci.json").read_text()))
    assert sorted(printed["target"]) == sorted(golden["target"])
    for name, target in printed["target"].items():
        assert {k: v for k, v in target.items() if k != "description"} == golden["target"][name], name
    for name, members in golden["group"].items():
        assert sorted(printed["group"][name]["targets"]) == members, name


def test_every_target_has_a_one_line_description(buildx_cli: None):
    printed = _print({"feat_sets": ["default"]})
    assert len(printed["target"]) == 60
    for name, target in printed["target"].items():
        description = target.get("description", "")
        assert 10 < len(description) < 120 and "\n" not in description, name
