"""The generator of the one way to bake (bakery/baking/flatten.py) against real `docker buildx
bake --print`: the unit fixture is what buildx prints, and the generated
Dockerfile for the real tree's default group holds every family it needs.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from bakery import ROOT
from bakery.baking import flatten
from tests.support.bake_print import bake_print, vector_lists

pytestmark = pytest.mark.usefixtures("buildx_cli")

FIXTURE = ROOT / "tests" / "unit" / "fixtures" / "flat"

# The families the default group builds on the default vector, by hand: its
# six targets (tests-smoke is three) and every family they link to.
DEFAULT_GROUP_FAMILIES = {
    "system", "source", "diner", "valgrind", "kitchen", "cookware", "chef", "ingredients", "preparing", "recipe",
    "deps-base", "deps-check", "deps-clippy", "deps-build-tests", "deps-build-bins", "check", "clippy",
    "build-tests", "build-bins", "tests-unit", "fmt", "install", "smoketest-version", "smoketest-startup",
    "smoketest-valgrind", "complement-config", "complement-testee",
}  # fmt: skip


def test_the_unit_fixture_is_what_buildx_prints() -> None:
    result = subprocess.run(
        ["docker", "buildx", "bake", "-f", "bake.hcl", "--print", "all"],
        cwd=FIXTURE, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(result.stdout) == json.loads((FIXTURE / "print.json").read_text())


def _read(context: str, dockerfile: str) -> str:
    return (ROOT / context / dockerfile).read_text()


def test_the_default_group_is_one_dockerfile_over_every_family_it_needs() -> None:
    printed = bake_print(vector_lists(), ["default"])
    flat = flatten.flatten(printed, ["default"], _read)
    stages = re.findall(r"^FROM \S+ AS (\S+)$", flat.dockerfile, re.M)
    mains = set(flat.stages.values()) | {flatten.stage_name(i) for i in flat.instances}
    # An instance's target stage is `<instance>.<its stage>`; its helpers too, in other names.
    families = {s.split("--", 1)[0] for s in stages if s.split(".", 1)[0] in mains and s != flatten.AGGREGATE}
    assert families == DEFAULT_GROUP_FAMILIES
    # One stage per instance, each once; the aggregate last, over the eight requested leaves.
    assert len(stages) == len(set(stages))
    assert stages[-1] == "bakery-all"
    assert len(flat.requested) == 8
    assert flat.outputs == tuple(i for i in flat.requested if i.startswith("complement-testee--"))
    assert flat.left_out == ()
    assert flat.contexts == {"src": "example"}


def test_smoketest_perf_is_left_out_and_baked_the_usual_way() -> None:
    printed = bake_print(vector_lists(), ["install", "smoketest-perf"])
    flat = flatten.flatten(printed, ["install", "smoketest-perf"], _read)
    assert [i.split("--", 1)[0] for i in flat.left_out] == ["smoketest-perf"]
    assert [i.split("--", 1)[0] for i in flat.requested] == ["install"]
    assert "--security=insecure" not in flat.dockerfile


def test_a_generated_dockerfile_has_no_reference_left_to_a_linked_context() -> None:
    printed = bake_print(vector_lists(feat_set="all"), ["default"])
    flat = flatten.flatten(printed, ["default"], _read)
    for name in ("input", "bins", "checkout", "prepared", "config", "pkg"):
        assert not re.search(rf"(FROM|--from=|from=){name}\b", flat.dockerfile), name
    assert Path(flat.context) == Path("docker")


def test_the_package_static_and_oci_families_flatten_with_no_edit_to_the_generator() -> None:
    targets = ["pkg", "tests-static", "oci"]
    printed = bake_print(vector_lists(), targets)
    flat = flatten.flatten(printed, targets, _read)
    stages = re.findall(r"^FROM \S+ AS (\S+)$", flat.dockerfile, re.M)
    families = {s.split("--", 1)[0] for s in stages if s != flatten.AGGREGATE}
    assert {"packager", "deb", "rpm", "apt-repo", "deps-static", "build-static", "static"} <= families
    assert flat.left_out == ()
    # The install checks mount the package from their `pkg` context (the
    # pkg-deb or pkg-rpm target), which replaces Dockerfile.package's own
    # `pkg` stage as BuildKit does; that stage is built only as pkg-deb and pkg-rpm.
    assert {s.split("--", 1)[0] for s in stages if s.endswith(".pkg")} == {"pkg-deb", "pkg-rpm"}
    deb_install = next(i for i in flat.instances if i.startswith("pkg-deb-install--"))
    deb = deb_install.replace("pkg-deb-install--", "pkg-deb--", 1)
    body = flat.dockerfile.split(f" AS {deb_install}.pkg-deb-install\n", 1)[1].split("\n\n# ", 1)[0]
    assert f"--mount=from={deb}.pkg,target=/pkg" in body
    # The exports (pkg-deb, pkg-rpm, oci-image, oci-static) each get their own invocation.
    exported = sorted(i.split("--", 1)[0] for i in flat.outputs)
    assert exported == ["oci-image", "oci-static", "pkg-deb", "pkg-rpm"]


# Each construct the generator refuses, in a small real tree printed by buildx: the error names
# the file, the line and the construct (docs/tree.md, "One way to bake"). Targets: `leaf`, built
# on `base` through a linked context, both from one Dockerfile.
TREE = """target "base" {
  dockerfile = "Dockerfile"
  target = "base"
}
target "leaf" {
  dockerfile = "Dockerfile"
  target = "leaf"
  contexts = { input = "target:base" }
  args = { greeting = "hi" }%s
}
"""
GOOD = "FROM debian:testing-slim AS base\nRUN true\n\nFROM input AS leaf\nARG greeting\nRUN echo $greeting\n"
REFUSED = {
    "a parser directive": (
        "# escape=`\n" + GOOD, "", r"^Dockerfile:1: parser directive '# escape=`'",
    ),
    "an unterminated heredoc": (
        GOOD + "RUN <<EOF\necho never ends\n", "", r"^Dockerfile:7: heredoc EOF is not terminated$",
    ),
    "an instruction before FROM": (
        "RUN true\n" + GOOD, "", r"^Dockerfile:1: RUN before the first FROM$",
    ),
    "an unreadable FROM": (
        GOOD.replace("FROM input AS leaf", "FROM input AS leaf extra"), "", r"^Dockerfile:4: cannot read 'FROM input",
    ),
    "ONBUILD": (
        GOOD + "ONBUILD RUN true\n", "", r"^Dockerfile:7: ONBUILD in a stage$",
    ),
    "a substitution form": (
        GOOD.replace("FROM debian:testing-slim", "FROM debian:${tag:-testing}"), "",
        r"^Dockerfile:1: FROM debian:\$\{tag:-testing\}: a form of substitution",
    ),
    "a FROM variable with no value": (
        GOOD.replace("FROM debian:testing-slim", "FROM debian:$tag"), "",
        r"^Dockerfile:1: FROM debian:\$tag uses tag, which has no value for target base$",
    ),
    "a missing stage": (
        GOOD.replace("AS leaf", "AS other"), "", r"^Dockerfile: stage 'leaf' of target leaf not found$",
    ),
    "a line break in a build arg": (
        GOOD, '\n  args = { greeting = "two\\nlines" }',
        r"^bake.hcl: build arg greeting of target leaf holds a line break",
    ),
    "an attribute it does not carry": (
        GOOD, '\n  network = "none"',
        r"^bake.hcl:10: attribute 'network' of target leaf, which the generated Dockerfile does not carry$",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_construct_the_generator_cannot_read_is_an_error_with_file_and_line(case: str, tmp_path: Path) -> None:
    dockerfile, extra, message = REFUSED[case]
    tree = TREE % extra
    if "args = {" in extra:
        tree = tree.replace('  args = { greeting = "hi" }', "", 1)
    (tmp_path / "bake.hcl").write_text(tree)
    (tmp_path / "Dockerfile").write_text(dockerfile)
    printed = subprocess.run(
        ["docker", "buildx", "bake", "-f", "bake.hcl", "--print", "leaf"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    with pytest.raises(flatten.NotFlat, match=message) as info:
        flatten.flatten(
            json.loads(printed.stdout), ["leaf"], lambda c, d: (tmp_path / c / d).read_text(), "bake.hcl", tree
        )
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ('\n  platforms = ["linux/arm64"]', "the targets are built for different platforms"),
        ('\n  context = "sub"', "the targets use several build contexts (., sub)"),
    ],
)
def test_a_selection_the_file_cannot_hold_takes_the_linked_route(extra: str, reason: str, tmp_path: Path) -> None:
    (tmp_path / "bake.hcl").write_text(TREE % extra)
    (tmp_path / "Dockerfile").write_text(GOOD)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Dockerfile").write_text(GOOD)
    printed = subprocess.run(
        ["docker", "buildx", "bake", "-f", "bake.hcl", "--print", "leaf"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    with pytest.raises(flatten.Route) as info:
        flatten.flatten(json.loads(printed.stdout), ["leaf"], lambda c, d: (tmp_path / c / d).read_text())
    assert info.value.reason == reason
