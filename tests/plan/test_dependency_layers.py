"""The dependency layers' wiring, from real `docker buildx bake --print` (docs/tree.md,
"Dependency layers").

Without cargo-chef each deps-* family runs its consumer's cargo command on the
workspace skeleton. Its artifacts are reused only when everything cargo hashes
into a unit agrees, so the deps family and every cargo family built on it must
take the same profile, target, RUSTFLAGS and feature arguments, and the same
command with the arguments before `--` (clippy's lint flags reach workspace
crates only). The table of consumers is written here by hand.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import DEFAULT_VECTOR as DEFAULT
from tests.support.bake_print import bake_print

# cargo family -> the deps family it builds on, and the deps command it needs:
# docs builds on deps-check (cargo doc checks its dependencies as cargo check does).
CONSUMERS = {
    "check": ("deps-check", None),
    "clippy": ("deps-clippy", None),
    "build": ("deps-build", None),
    "build-bins": ("deps-build-bins", None),
    "build-static": ("deps-static", None),
    "build-tests": ("deps-build-tests", None),
    "docs": ("deps-check", ("check", "--workspace --all-targets")),
}
# The args cargo hashes into a dependency's unit, or that choose which units are built.
SAME = ("cargo_profile", "rust_target", "rustflags", "feat_cargo_args")
VECTORS = [
    dict(DEFAULT),
    {**DEFAULT, "cargo_profile": "test", "feat_set": "all"},
    {**DEFAULT, "cargo_profile": "dev", "feat_set": "none", "sys_target": "x86_64-v3-linux-gnu"},
]

pytestmark = pytest.mark.usefixtures("buildx_cli")


@pytest.fixture(scope="module")
def printed() -> dict:
    """The targets of the three vectors (the `vectors` variable: no cross product)."""
    families = [*CONSUMERS, "tests-unit", "cargo", "preparing", "recipe"]
    return bake_print({}, families, vectors=json.dumps(VECTORS))["target"]


def _parent(target: dict) -> str:
    return target["contexts"]["input"].removeprefix("target:")


def _before_dashes(args: str) -> str:
    return args.split(" -- ", 1)[0].strip()


def test_every_cargo_family_builds_on_deps_made_with_its_own_command_and_flags(printed: dict) -> None:
    seen = 0
    for name, target in printed.items():
        family = name.split("--", 1)[0]
        if family not in CONSUMERS:
            continue
        deps_family, command = CONSUMERS[family]
        deps = printed[_parent(target)]
        assert _parent(target).split("--", 1)[0] == deps_family, name
        assert deps["target"] == "deps", name
        args, deps_args = target["args"], deps["args"]
        assert {k: deps_args[k] for k in SAME} == {k: args[k] for k in SAME}, name
        expected = command or (args["cargo_cmd"], _before_dashes(args["cargo_cmd_args"]))
        assert (deps_args["deps_cmd"], deps_args["deps_cmd_args"]) == expected, name
        seen += 1
    assert seen == len(CONSUMERS) * len(VECTORS)


def test_the_static_chain_adds_crt_static_to_its_deps_as_to_its_build(printed: dict) -> None:
    statics = [t for n, t in printed.items() if n.startswith("build-static--")]
    assert len(statics) == len(VECTORS)
    for target in statics:
        assert "+crt-static" in printed[_parent(target)]["args"]["rustflags"]
        assert printed[_parent(target)]["args"]["rustflags"] == target["args"]["rustflags"]


def test_deps_base_builds_nothing_and_cargo_tree_needs_nothing(printed: dict) -> None:
    bases = {_parent(t) for n, t in printed.items() if n.startswith("cargo--")}
    assert len(bases) == len(VECTORS)
    for base in bases:
        assert base.startswith("deps-base--")
        assert (printed[base]["args"]["deps_cmd"], printed[base]["args"]["deps_cmd_args"]) == ("", "")
        # deps-base sits on the recipe, which holds the skeleton (or the chef recipe).
        assert _parent(printed[base]).startswith("recipe--")


def test_tests_unit_shares_the_test_binaries_deps(printed: dict) -> None:
    # tests-unit runs on build-tests' layer, so its cache mount (cargo_cmd test)
    # sees the same deps stamp as build-tests and is not seeded again.
    for name, target in printed.items():
        if name.startswith("tests-unit--"):
            assert _parent(target).startswith("build-tests--")
            assert target["args"]["cargo_cmd"] == printed[_parent(target)]["args"]["cargo_cmd"] == "test"


def test_the_skeleton_is_made_from_the_checkout(printed: dict) -> None:
    # preparing selects the skeleton from the source (Dockerfile.source
    # manifests), beside the fetched ingredients; recipe takes it from there.
    for name, target in printed.items():
        if name.startswith("preparing--"):
            assert target["contexts"]["checkout"].startswith("target:source--")
            assert target["contexts"]["input"].startswith("target:ingredients--")
        if name.startswith("recipe--"):
            assert target["contexts"]["prepared"].startswith("target:preparing--")


def test_build_and_build_bins_share_a_cache_mount_and_the_same_dependency_units(printed: dict) -> None:
    # Their cargo target mount id is the same (cargo_cmd build, one vector_id):
    # the deps stamp is the dependency units' names, so their two deps layers
    # agree on it and neither reseeds the other's mount (Dockerfile.cargo).
    for name, target in printed.items():
        if name.startswith("build--"):
            bins = printed[name.replace("build--", "build-bins--", 1)]
            assert (target["args"]["vector_id"], target["args"]["cargo_cmd"]) == (
                bins["args"]["vector_id"],
                bins["args"]["cargo_cmd"],
            )
            deps, deps_bins = printed[_parent(target)]["args"], printed[_parent(bins)]["args"]
            assert {k: deps[k] for k in SAME} == {k: deps_bins[k] for k in SAME}
