"""A new axis reaches the tree from matrix.toml alone (the HCL side).

In a temporary copy of docker/: add a value to an axis and a new axis that one
family (kitchen) uses as a build arg, run the generator, and read real
`docker buildx bake --print`. No other edit is made to the copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from bakery import ROOT
from bakery.config.matrix import load
from bakery.tree import hclgen

pytestmark = pytest.mark.usefixtures("buildx_cli")

NEW_AXIS = """
[axes.libc]
description = "C library of the build environment"
values = ["glibc", "musl"]
default = "glibc"
used_by = "kitchen"
"""
SYS = "debian--testing-slim--x86_64-v1-linux-gnu"
RUST = "distro--x86_64-unknown-linux-gnu"


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(ROOT / "docker", root / "docker")
    toml = root / "docker" / "matrix.toml"
    text = toml.read_text()
    old = 'values = ["none", "default", "all"]\ndefault = "default"'
    assert old in text
    toml.write_text(text.replace(old, 'values = ["none", "default", "all", "extra"]\ndefault = "default"') + NEW_AXIS)

    definition = load(toml)
    assert definition.names[-1] == "libc"
    assert definition.vector({"feat_set": "extra", "libc": "musl"})["libc"] == "musl"
    assert hclgen.write(root / "docker" / "bake.hcl", definition) is True

    env = {k: v for k, v in os.environ.items() if not k.startswith("BUILDX_BAKE_")}
    env.update(feat_sets=json.dumps(["extra"]), libcs=json.dumps(["glibc", "musl"]))
    argv = ["docker", "buildx", "bake", "-f", "docker/bake.hcl", "--print", "diner", "kitchen", "cookware", "install"]
    result = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)["target"]


def _family(targets: dict, family: str) -> list[str]:
    return sorted(n for n in targets if n.split("--")[0] == family)


def test_families_below_the_user_do_not_vary(printed: dict):
    assert _family(printed, "diner") == [f"diner--extra--{SYS}"]
    assert "libc" not in printed[f"diner--extra--{SYS}"]["args"]


def test_the_family_that_uses_it_varies_takes_the_build_arg_and_names_it_last(printed: dict):
    assert _family(printed, "kitchen") == [f"kitchen--extra--{SYS}--glibc", f"kitchen--extra--{SYS}--musl"]
    kitchen = printed[f"kitchen--extra--{SYS}--musl"]
    assert kitchen["args"]["libc"] == "musl"
    # kitchen sits on the build side's root (docs/decisions/cross-builds.md).
    assert kitchen["contexts"] == {"input": f"target:build-system--{SYS}"}


def test_families_above_vary_and_link_to_the_right_cell(printed: dict):
    cookware = printed[f"cookware--{RUST}--extra--{SYS}--musl"]
    assert cookware["contexts"] == {"input": f"target:kitchen--extra--{SYS}--musl"}
    assert "libc" not in cookware["args"]
    assert _family(printed, "install") == [
        f"install--release--{RUST}--extra--{SYS}--glibc",
        f"install--release--{RUST}--extra--{SYS}--musl",
    ]
    install = printed[f"install--release--{RUST}--extra--{SYS}--musl"]
    assert install["contexts"]["input"] == f"target:diner--extra--{SYS}"
    assert install["contexts"]["bins"] == f"target:build-bins--release--{RUST}--extra--{SYS}--musl"
    assert install["args"]["vector_id"] == f"release--{RUST}--extra--{SYS}--musl"
    assert install["tags"] == [f"mxd/install--release--{RUST}--extra--{SYS}--musl:latest"]
