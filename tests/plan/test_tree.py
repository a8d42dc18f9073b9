"""The tree's shape from real `docker buildx bake --print`.

The family-to-axes table is written here by hand (it is also in docs/tree.md);
it is not read from bakery's code.
"""

from __future__ import annotations

import itertools
import re
import subprocess

import pytest

from tests.conftest import DEFAULT_VECTOR
from tests.support.bake_print import bake_print, vector_lists

SYS = ("sys_name", "sys_version", "sys_target")
FEAT_SYS = ("feat_set", *SYS)
RUST_FEAT_SYS = ("rust_toolchain", "rust_target", *FEAT_SYS)
ALL = ("cargo_profile", *RUST_FEAT_SYS)

FAMILY_AXES: dict[str, tuple[str, ...]] = {
    "system": SYS,
    "build-system": SYS,
    "source": SYS,
    **dict.fromkeys(
        [
            "diner", "valgrind", "perf", "kitchen", "packager", "complement-config", "complement-base",
            "complement-tester",
        ],
        FEAT_SYS,
    ),
    **dict.fromkeys(
        ["cookware", "chef", "ingredients", "preparing", "recipe", "fmt", "audit", "typos", "lychee", "book"],
        RUST_FEAT_SYS,
    ),
    **dict.fromkeys(
        [
            "deps-base", "deps-check", "deps-clippy", "deps-build", "deps-build-tests", "deps-build-bins",
            "deps-static", "cargo", "check", "clippy", "build", "build-bins", "build-static", "build-tests", "docs",
            "tests-unit", "install", "standalone", "image", "static", "oci-image", "oci-static",
            "smoketest-version", "smoketest-startup", "smoketest-valgrind", "smoketest-perf", "smoketest-static",
            "smoketest-static-startup", "deb", "pkg-deb", "pkg-deb-install", "apt-repo", "apt-repo-install", "rpm",
            "pkg-rpm", "pkg-rpm-install", "complement-testee", "github", "dockerhub",
        ],
        ALL,
    ),
}  # fmt: skip

GROUPS = {
    "default": ["check", "clippy", "fmt", "tests-unit", "tests-smoke", "complement-testee"],
    "lints": ["audit", "check", "clippy", "fmt", "lychee"],
    "tests": ["tests-unit", "tests-smoke", "complement"],
    "tests-smoke": ["smoketest-version", "smoketest-startup", "smoketest-valgrind"],
    "tests-static": ["smoketest-static", "smoketest-static-startup"],
    "complement": ["complement-tester", "complement-testee"],
    "installs": ["install", "standalone", "image", "static"],
    "pkg": ["pkg-deb", "pkg-deb-install", "apt-repo-install", "pkg-rpm", "pkg-rpm-install"],
    "oci": ["oci-image", "oci-static"],
    "deps": ["deps-base", "deps-check", "deps-clippy", "deps-build", "deps-build-tests", "deps-build-bins"],
    "sources": ["source", "ingredients", "preparing", "recipe"],
    "buildsys": ["kitchen", "cookware", "chef"],
    "systems": ["system", "diner", "valgrind", "perf"],
    "publish": ["github", "dockerhub"],
}

DEFAULT = DEFAULT_VECTOR  # tests/conftest.py: written out once

# Matrices as per-axis lists (bare bake takes them as plural JSON variables).
DEFAULT_MATRIX = {"feat_set": ["none", "default", "all"]}
CI_MATRIX = {
    "cargo_profile": ["test", "release"],
    "feat_set": ["none", "default", "all"],
    "rust_toolchain": ["nightly", "stable"],
}

pytestmark = pytest.mark.usefixtures("buildx_cli")


@pytest.fixture(scope="module", params=["default", "ci"])
def matrix_print(request: pytest.FixtureRequest) -> tuple[dict[str, list[str]], dict]:
    lists = {axis: [v] for axis, v in DEFAULT.items()}
    lists.update(DEFAULT_MATRIX if request.param == "default" else CI_MATRIX)
    return lists, bake_print(lists, list(FAMILY_AXES))


def test_every_target_link_resolves(matrix_print: tuple[dict, dict]) -> None:
    _, printed = matrix_print
    targets = printed["target"]
    links = [c for t in targets.values() for c in (t.get("contexts") or {}).values() if c.startswith("target:")]
    assert links, "the tree has no target: links"
    missing = sorted({link for link in links if link.removeprefix("target:") not in targets})
    assert missing == []


def test_family_instance_counts_are_the_distinct_axis_combinations(matrix_print: tuple[dict, dict]) -> None:
    lists, printed = matrix_print
    families: dict[str, int] = {}
    for name in printed["target"]:
        families[name.split("--", 1)[0]] = families.get(name.split("--", 1)[0], 0) + 1
    expected = {}
    for family, axes in FAMILY_AXES.items():
        expected[family] = len(list(itertools.product(*(lists[a] for a in axes))))
    assert families == expected


def test_ci_matrix_counts_match_the_issue() -> None:
    lists = {axis: [v] for axis, v in DEFAULT.items()} | CI_MATRIX
    printed = bake_print(lists, ["system", "diner", "kitchen", "cookware", "install"])
    counts: dict[str, int] = {}
    for name in printed["target"]:
        counts[name.split("--", 1)[0]] = counts.get(name.split("--", 1)[0], 0) + 1
    # The print also holds the families these link to (build-bins, chef, ...).
    asked = {f: counts[f] for f in ("system", "diner", "kitchen", "cookware", "install")}
    assert asked == {"system": 1, "diner": 3, "kitchen": 3, "cookware": 6, "install": 12}


def test_names_follow_the_scheme(matrix_print: tuple[dict, dict]) -> None:
    lists, printed = matrix_print
    for name, target in printed["target"].items():
        family, *values = name.split("--")
        axes = FAMILY_AXES[family]
        assert len(values) == len(axes), name
        for axis, value in zip(axes, values, strict=True):
            assert value in [v.replace(".", "_") for v in lists[axis]], (name, axis)
        assert re.fullmatch(r"[a-zA-Z0-9_-]+", name)
        for tag in target.get("tags") or ():
            if not tag.startswith(("ghcr.io/", "docker.io/")):
                assert tag == f"mxd/{name}:latest"


@pytest.mark.parametrize("group", list(GROUPS))
def test_groups_have_the_documented_members(group: str) -> None:
    # One group per print: bake rewrites its printed `default` group to the
    # command line's targets when several are given.
    printed = bake_print(vector_lists(), [group])
    assert sorted(printed["group"][group]["targets"]) == sorted(GROUPS[group])


def test_dotted_toolchain_values_are_made_safe_in_names() -> None:
    printed = bake_print(vector_lists(rust_toolchain="1.97"), ["cookware"])
    name = "cookware--1_97--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
    assert [n for n in printed["target"] if n.startswith("cookware--")] == [name]
    assert printed["target"][name]["args"]["rust_toolchain"] == "1.97"


V1 = "debian--testing-slim--x86_64-v1-linux-gnu"
RUST = "distro--x86_64-unknown-linux-gnu"


@pytest.mark.parametrize(
    ("axis", "other", "shared"),
    [
        # Only the sys families are shared across feature sets.
        ("feat_set", "all", [f"system--{V1}", f"build-system--{V1}", f"source--{V1}"]),
        # Across toolchains: everything below cookware.
        (
            "rust_toolchain",
            "stable",
            [
                f"system--{V1}", f"build-system--{V1}", f"source--{V1}", f"diner--default--{V1}",
                f"valgrind--default--{V1}",
                f"perf--default--{V1}", f"packager--default--{V1}", f"kitchen--default--{V1}",
                f"complement-config--default--{V1}", f"complement-base--default--{V1}",
                f"complement-tester--default--{V1}",
            ],
        ),
        # Across profiles: everything below the deps layers.
        (
            "cargo_profile",
            "test",
            [
                f"system--{V1}", f"build-system--{V1}", f"source--{V1}", f"diner--default--{V1}",
                f"valgrind--default--{V1}",
                f"perf--default--{V1}", f"packager--default--{V1}", f"kitchen--default--{V1}",
                f"complement-config--default--{V1}", f"complement-base--default--{V1}",
                f"complement-tester--default--{V1}",
                f"cookware--{RUST}--default--{V1}", f"chef--{RUST}--default--{V1}",
                f"ingredients--{RUST}--default--{V1}", f"preparing--{RUST}--default--{V1}",
                f"recipe--{RUST}--default--{V1}", f"fmt--{RUST}--default--{V1}", f"audit--{RUST}--default--{V1}",
                f"typos--{RUST}--default--{V1}", f"lychee--{RUST}--default--{V1}", f"book--{RUST}--default--{V1}",
            ],
        ),
        # Across system targets: nothing at all (the root differs).
        ("sys_target", "x86_64-v3-linux-gnu", []),
    ],
)  # fmt: skip
def test_single_axis_difference_shares_exactly(axis: str, other: str, shared: list[str]) -> None:
    families = list(FAMILY_AXES)
    first = set(bake_print(vector_lists(), families)["target"])
    second = set(bake_print(vector_lists(**{axis: other}), families)["target"])
    assert sorted(first & second) == sorted(shared)


@pytest.mark.parametrize(
    ("sys_target", "platform", "cpu"),
    [
        ("x86_64-linux-gnu", "linux/amd64", "x86-64"),
        ("x86_64-v3-linux-gnu", "linux/amd64", "x86-64-v3"),
        ("aarch64-linux-gnu", "linux/arm64", "generic"),
        ("x86_64-linux-musl", "linux/amd64", "x86-64"),
        ("riscv64-linux-gnu", "linux/riscv64", "generic-rv64"),
    ],
)
def test_sys_target_maps_to_its_platform_and_cpu_level(sys_target: str, platform: str, cpu: str) -> None:
    """The sys_target mapping comes from matrix.toml through invoke generate."""
    printed = bake_print(vector_lists(sys_target=sys_target), ["system", "install", "build-bins"])["target"]
    assert len(printed) > 10
    for name, target in printed.items():
        assert name.endswith(f"--{sys_target}"), name
        assert target["platforms"] == [platform], name
    install = printed[f"install--release--{RUST}--default--debian--testing-slim--{sys_target}"]
    assert install["args"]["rustflags"] == f"-C target-cpu={cpu}"
    assert install["args"]["sys_target"] == sys_target


def test_other_distributions_name_the_root() -> None:
    printed = bake_print(vector_lists(sys_name="ubuntu", sys_version="24.04"), ["system"])["target"]
    assert list(printed) == ["system--ubuntu--24_04--x86_64-v1-linux-gnu"]
    # The target platform's root, as the Docker Official Images name each architecture's images.
    assert printed["system--ubuntu--24_04--x86_64-v1-linux-gnu"]["args"]["sys_image"] == "amd64/ubuntu:24.04"


def test_a_cross_vector_is_one_platform_with_its_cross_pieces() -> None:
    """Every target of an aarch64 vector is linux/arm64 (one solve); the build
    side's root is build-system, and cookware gets the target's Debian names."""
    lists = vector_lists(rust_target="aarch64-unknown-linux-gnu", sys_target="aarch64-v8-linux-gnu")
    printed = bake_print(lists, ["install"])["target"]
    sys = "debian--testing-slim--aarch64-v8-linux-gnu"
    assert {p for t in printed.values() for p in t["platforms"]} == {"linux/arm64"}
    assert printed[f"system--{sys}"]["args"]["sys_image"] == "arm64v8/debian:testing-slim"
    assert printed[f"kitchen--default--{sys}"]["contexts"] == {"input": f"target:build-system--{sys}"}
    cookware = printed[f"cookware--distro--aarch64-unknown-linux-gnu--default--{sys}"]["args"]
    assert (cookware["target_arch"], cookware["target_gnu"]) == ("arm64", "aarch64-linux-gnu")


def test_a_cross_vectors_packages_are_made_on_the_build_side_for_the_target() -> None:
    """The packager is on kitchen (the build side) and gets the target's Debian names, as do
    deb and rpm; the deb's install check is on the target's root (docs/packages.md)."""
    lists = vector_lists(rust_target="aarch64-unknown-linux-gnu", sys_target="aarch64-v8-linux-gnu")
    printed = bake_print(lists, ["pkg-deb-install", "pkg-rpm"])["target"]
    sys = "debian--testing-slim--aarch64-v8-linux-gnu"
    vector = f"release--distro--aarch64-unknown-linux-gnu--default--{sys}"
    packager = printed[f"packager--default--{sys}"]
    assert packager["contexts"] == {"input": f"target:kitchen--default--{sys}"}
    assert (packager["args"]["target_arch"], packager["args"]["target_gnu"]) == ("arm64", "aarch64-linux-gnu")
    assert packager["args"]["runtime_packages"] == ""
    for family in ("deb", "rpm"):
        target = printed[f"{family}--{vector}"]
        assert target["contexts"] == {
            "input": f"target:packager--default--{sys}",
            "bins": f"target:build-bins--{vector}",
        }
        assert (target["args"]["target_arch"], target["args"]["target_gnu"]) == ("arm64", "aarch64-linux-gnu")
    install = printed[f"pkg-deb-install--{vector}"]
    assert install["contexts"] == {"input": f"target:system--{sys}", "pkg": f"target:pkg-deb--{vector}"}
    assert printed[f"system--{sys}"]["args"]["sys_image"] == "arm64v8/debian:testing-slim"
    assert {p for t in printed.values() for p in t["platforms"]} == {"linux/arm64"}


def test_a_native_vectors_packager_names_its_own_architecture() -> None:
    printed = bake_print(vector_lists(), ["deb"])["target"]
    args = printed[f"packager--default--{V1}"]["args"]
    assert (args["target_arch"], args["target_gnu"]) == ("amd64", "x86_64-linux-gnu")
    assert printed[f"deb--release--{RUST}--default--{V1}"]["args"]["target_arch"] == "amd64"


def test_an_unmapped_arch_fails_in_bake_rather_than_defaulting_to_amd64() -> None:
    with pytest.raises(subprocess.CalledProcessError) as failed:
        bake_print(vector_lists(sys_target="mips64-linux-gnu"), ["system"])
    assert "sys_platform" in failed.value.stderr


SMOKE_DEFAULTS = {
    "smoke_version_args": "-V",
    "smoke_startup_args": "--selftest --port 0 --federation-port 0",
    "smoke_ready": "",
    "smoke_timeout": "30",
}
SMOKE_FAMILIES = [
    "smoketest-version", "smoketest-startup", "smoketest-valgrind", "smoketest-perf", "smoketest-static",
    "smoketest-static-startup", "pkg-deb-install", "apt-repo-install", "pkg-rpm-install",
]  # fmt: skip


def test_smoke_settings_reach_every_smoke_run_as_build_args() -> None:
    """The contract with the smoke side, by these exact names."""
    printed = bake_print(vector_lists(), list(FAMILY_AXES))["target"]
    for name, target in printed.items():
        family = name.split("--")[0]
        smoke = {k: v for k, v in target.get("args", {}).items() if k in SMOKE_DEFAULTS}
        assert smoke == (SMOKE_DEFAULTS if family in SMOKE_FAMILIES else {}), name


def test_smoke_settings_and_ports_are_settable() -> None:
    settable = {"smoke_ready": "tcp:8080", "smoke_timeout": "5", "expose_ports": "8080/tcp"}

    def printed(*targets: str) -> dict:
        return bake_print(vector_lists(), list(targets), **settable, default_targets='["install"]')

    vector = "release--distro--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
    images = printed("image", "complement-testee", "smoketest-version")["target"]
    assert images[f"image--{vector}"]["args"]["expose_ports"] == "8080/tcp"
    assert images[f"complement-testee--{vector}"]["args"]["expose_ports"] == "8080/tcp"
    assert images[f"smoketest-version--{vector}"]["args"]["smoke_ready"] == "tcp:8080"
    assert images[f"smoketest-version--{vector}"]["args"]["smoke_timeout"] == "5"
    # One group per print: bake rewrites `default` to the command line's targets.
    assert printed("default")["group"]["default"]["targets"] == ["install"]


def test_only_the_images_that_expose_ports_take_expose_ports() -> None:
    printed = bake_print(vector_lists(), list(FAMILY_AXES))["target"]
    takers = sorted({n.split("--")[0] for n, t in printed.items() if "expose_ports" in t.get("args", {})})
    assert takers == ["complement-testee", "image", "static"]
